// The Android app's plain-Kotlin layer (android/logic) against the real library on the JVM.

import java.nio.file.Files
import org.allervers.logic.*
import uniffi.allervers_ffi.*

fun testRepository(check: (String, () -> Unit) -> Unit) {
    val dir = Files.createTempDirectory("allervers-repository").toFile()
    val store = Store.create("${dir.path}/phone.db", generateKey(), "Téléphone maraude 1", "Amina")
    val repo = FieldRepository(store, "maraude-nord")

    check("the repository logs an encounter in three taps and lists the person first") {
        val karim = repo.addPerson("Karim", "le Grand").getOrThrow()
        repo.addPerson("Fatou", null).getOrThrow()
        val form = EncounterForm(persons = listOf(karim)).toggle("drink").toggle("food")
        repo.saveEncounter(form).getOrThrow()
        val list = repo.personList()
        expect(list.persons.first().id == karim, "most recently met first: ${list.persons}")
        expect(list.pendingChanges >= 4uL, "pending badge: ${list.pendingChanges}")
        val detail = repo.personDetail(karim).getOrThrow()
        expect(detail.timeline.any { it.kind == TimelineKind.ENCOUNTER && it.services == listOf("drink", "food") }, "timeline")
        expect(repo.personList("karim").persons.size == 1, "search")
    }

    check("the repository turns errors into one sentence") {
        val failed = repo.addPerson("  ", null)
        expect(failed.isFailure, "a person needs a name")
        val problem = (failed.exceptionOrNull() as FfiException).toProblem()
        expect(problem.message.startsWith("name:"), problem.message)
        expect(repo.saveEncounter(EncounterForm()).isFailure, "an empty form is refused")
        expect(!repo.isEnrolled(), "a new phone belongs to no team")
        val join = repo.join("ALV1-mistyped", null)
        expect((join.exceptionOrNull() as? FfiException.InvalidInput)?.field == "invite code", "$join")
        val sync = repo.sync(null, null)
        expect((sync.exceptionOrNull() as? FfiException)?.toProblem()?.message == "This phone has not joined a team yet.", "$sync")
    }
    dir.deleteRecursively()
}
