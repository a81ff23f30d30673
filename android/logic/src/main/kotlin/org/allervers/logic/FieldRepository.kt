// The phone's logic that does not touch Android: the field app's view models from the Rust core
// (FieldApp: events in, view models out, every label, order and rule decided there) and the calls
// the screens not yet moved into the core still make. Plain Kotlin, so that the JVM test compiles
// and runs it on a machine without the Android SDK; the Compose screens only render.
package org.allervers.logic

import uniffi.allervers_ffi.DueAction
import uniffi.allervers_ffi.FfiException
import uniffi.allervers_ffi.FieldApp
import uniffi.allervers_ffi.FieldEvent
import uniffi.allervers_ffi.FieldView
import uniffi.allervers_ffi.HttpExchange
import uniffi.allervers_ffi.Store
import uniffi.allervers_ffi.SyncListener

/** What a screen shows when something went wrong: one sentence, nothing personal. */
data class Problem(val message: String)

fun FfiException.toProblem(): Problem = when (this) {
    is FfiException.InvalidInput -> Problem("${this.field}: ${this.reason}")
    is FfiException.RelayUnreachable -> Problem("No network: the changes wait on the phone.")
    is FfiException.RelayRefused -> Problem("The relay refused (${this.status}): ${this.reason}")
    is FfiException.WrongKey -> Problem("This phone's key does not open its store.")
    is FfiException.NotEnrolled -> Problem("This phone has not joined a team yet.")
    is FfiException.Wiped -> Problem("A coordinator removed this phone from the team: its records were erased.")
    else -> Problem(this.message ?: "Unexpected error")
}

class FieldRepository(private val store: Store, lang: String = "fr") {
    private val app = FieldApp(store, lang, null)

    /** Sends what the worker did to the core and returns the screen to render. */
    fun send(event: FieldEvent): FieldView = app.send(event)

    /** The screen to render now, after a sync for instance. */
    fun view(): FieldView = app.view()

    fun dueActions(): List<DueAction> = try { store.dueActions() } catch (e: FfiException) { emptyList() }

    fun isEnrolled(): Boolean = try { store.isEnrolled() } catch (e: FfiException) { false }

    /** Joins the team's space with the invite code a coordinator handed over (typed or scanned). */
    fun join(code: String, exchange: HttpExchange?): Result<Unit> = runCatching { store.join(code.trim(), exchange) }

    /** One sync round; `exchange` is the app's HTTP stack (OkHttp), null for the built-in one. */
    fun sync(exchange: HttpExchange?, listener: SyncListener?): Result<String> = runCatching {
        store.setListener(listener)
        val s = store.sync(exchange)
        "Sent ${s.pushed}, received ${s.pulled}" + if (s.newConflicts > 0uL) ", ${s.newConflicts} to settle at the office" else ""
    }
}
