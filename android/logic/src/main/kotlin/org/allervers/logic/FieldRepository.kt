// The phone's logic that does not touch Android: a repository over the generated bindings and
// the screen states built from it. Plain Kotlin, so that the JVM test compiles and runs it on a
// machine without the Android SDK; the Compose screens only render these states.
package org.allervers.logic

import uniffi.allervers_ffi.DueAction
import uniffi.allervers_ffi.FfiException
import uniffi.allervers_ffi.HttpExchange
import uniffi.allervers_ffi.NewEncounter
import uniffi.allervers_ffi.NewPerson
import uniffi.allervers_ffi.PersonSort
import uniffi.allervers_ffi.PersonSummary
import uniffi.allervers_ffi.Store
import uniffi.allervers_ffi.SyncListener
import uniffi.allervers_ffi.TimelineEntry

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

/** The person list screen: search box, rows, pending-sync badge. */
data class PersonListState(
    val search: String = "",
    val persons: List<PersonSummary> = emptyList(),
    val pendingChanges: ULong = 0u,
    val problem: Problem? = null,
)

/** One person's screen: name, situation and merged timeline. */
data class PersonDetailState(
    val id: String,
    val displayName: String,
    val situation: String?,
    val timeline: List<TimelineEntry>,
    val conflicts: List<String>,
)

/** The encounter form: three taps for a known person (person, services, save). */
data class EncounterForm(
    val persons: List<String> = emptyList(),
    val anonymousCount: Long = 0,
    val place: String = "",
    val services: Set<String> = emptySet(),
    val notes: String = "",
) {
    fun toggle(service: String) = copy(services = if (service in services) services - service else services + service)
    fun canSave() = persons.isNotEmpty() || anonymousCount > 0
}

/** The services offered as one-tap buttons on the encounter form, most used first. */
val QUICK_SERVICES = listOf("drink", "food", "hygiene_kit", "blanket", "clothing", "information", "care", "referral")

class FieldRepository(private val store: Store, private val team: String?) {
    fun personList(search: String = ""): PersonListState = try {
        PersonListState(
            search = search,
            persons = store.listPersons(search.ifBlank { null }, PersonSort.RECENTLY_SEEN, 200u),
            pendingChanges = store.pendingChanges(),
        )
    } catch (e: FfiException) {
        PersonListState(search = search, problem = e.toProblem())
    }

    fun personDetail(id: String): Result<PersonDetailState> = runCatching {
        val p = store.person(id)
        PersonDetailState(p.id, p.displayName, p.situation, store.timeline(id).sortedByDescending { it.atMs }, p.conflicts)
    }

    fun addPerson(name: String?, nickname: String?): Result<String> = runCatching {
        store.addPerson(NewPerson(name?.ifBlank { null }, nickname?.ifBlank { null }, null, null, listOf(), null, null, null, null))
    }

    fun saveEncounter(form: EncounterForm): Result<String> = runCatching {
        require(form.canSave()) { "Choose a person or count the people met" }
        store.logEncounter(
            NewEncounter(
                form.persons, form.anonymousCount, null, form.place.ifBlank { null }, team, "follow_up",
                QUICK_SERVICES.filter { it in form.services }, form.notes.ifBlank { null }, false,
            ),
        )
    }

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
