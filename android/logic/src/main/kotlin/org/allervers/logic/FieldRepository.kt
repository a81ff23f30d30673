// The phone's logic that does not touch Android: the field app's view models from the Rust core
// (FieldApp: events in, view models out, every label, order and rule decided there, joining a
// team and syncing included): the screens read nothing from the store themselves.
// Plain Kotlin, so that the JVM test compiles and runs it on a machine without the Android SDK;
// the Compose screens only render.
package org.allervers.logic

import uniffi.allervers_ffi.FieldApp
import uniffi.allervers_ffi.FieldEvent
import uniffi.allervers_ffi.FieldView
import uniffi.allervers_ffi.HttpExchange
import uniffi.allervers_ffi.Store
import uniffi.allervers_ffi.SyncListener

class FieldRepository(private val store: Store, lang: String = "fr") {
    private val app = FieldApp(store, lang, null)

    /** Sends what the worker did to the core and returns the screen to render. */
    fun send(event: FieldEvent): FieldView = app.send(event)

    /** The screen to render now, after a background sync for instance. */
    fun view(): FieldView = app.view()

    /**
     * Joins the team of the invite code a coordinator handed over (typed or scanned whole):
     * the first screen once joined, else the join screen saying what is wrong in one sentence.
     */
    fun join(code: String, exchange: HttpExchange?): FieldView = app.join(code, exchange)

    /**
     * One sync round the worker asked for; `exchange` is the app's HTTP stack (OkHttp), null
     * for the built-in one. The screen to render says what it came to. Throws
     * FfiException.Wiped when a coordinator removed the phone (its store is erased).
     */
    fun sync(exchange: HttpExchange?, listener: SyncListener? = null): FieldView {
        store.setListener(listener)
        return app.sync(exchange)
    }
}
