// The Android app's plain-Kotlin layer (android/logic) against the real library on the JVM: the
// screens it renders are the core's view models, driven by events.

import java.nio.file.Files
import org.allervers.logic.*
import uniffi.allervers_ffi.*

fun testRepository(check: (String, () -> Unit) -> Unit) {
    val dir = Files.createTempDirectory("allervers-repository").toFile()
    val store = Store.create("${dir.path}/phone.db", generateKey(), "Téléphone maraude 1", "Amina")
    val repo = FieldRepository(store)

    check("the repository creates a person, logs an encounter in three taps and lists the person first") {
        repo.send(FieldEvent.Search("Karim"))
        val created = repo.send(FieldEvent.Create(false)) as FieldView.Search
        val karim = created.view.duplicates.single().id
        repo.send(FieldEvent.Search("Fatou"))
        repo.send(FieldEvent.Create(false))
        repo.send(FieldEvent.NewEncounter(karim))
        repo.send(FieldEvent.ToggleService("drink"))
        repo.send(FieldEvent.ToggleService("food"))
        val saved = repo.send(FieldEvent.Save) as FieldView.Search
        expect(saved.view.notice == "Rencontre enregistrée.", "saved: ${saved.view.notice}")
        val list = repo.send(FieldEvent.Search("")) as FieldView.Search
        expect(list.view.rows.first().id == karim, "most recently met first: ${list.view.rows}")
        expect(list.view.rows.first().lastSeen == "vu·e aujourd'hui", list.view.rows.first().lastSeen)
        val person = repo.send(FieldEvent.OpenPerson(karim)) as FieldView.Person
        expect(person.view.timeline.first().what == "Rencontre", "timeline: ${person.view.timeline}")
        expect(person.view.timeline.first().detail == "boisson, repas", person.view.timeline.first().detail)
    }

    check("the repository's screens say a refusal in one sentence") {
        repo.send(FieldEvent.NewEncounter(null))
        val refused = repo.send(FieldEvent.Save) as FieldView.Encounter
        expect(refused.view.problem == "Ajoutez une personne ou comptez les personnes anonymes avant d'enregistrer.", "${refused.view.problem}")
        expect(!repo.isEnrolled(), "a new phone belongs to no team")
        val join = repo.join("ALV1-mistyped", null)
        expect((join.exceptionOrNull() as? FfiException.InvalidInput)?.field == "invite code", "$join")
        val sync = repo.sync(null, null)
        expect((sync.exceptionOrNull() as? FfiException)?.toProblem()?.message == "This phone has not joined a team yet.", "$sync")
    }
    dir.deleteRecursively()
}
