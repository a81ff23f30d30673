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
    check("the repository adds a follow-up from a person's screen, and a new app comes back to a form typed halfway") {
        repo.send(FieldEvent.Search("Lucie"))
        val lucie = (repo.send(FieldEvent.Create(false)) as FieldView.Search).view.duplicates.single().id
        repo.send(FieldEvent.OpenPerson(lucie))
        repo.send(FieldEvent.ActionTitle("Rendez-vous CCAS"))
        val typed = repo.send(FieldEvent.ActionCategory("papers")) as FieldView.Person
        expect(typed.view.actionForm.canAdd, "title and category: ${typed.view.actionForm}")
        // The app is killed: a repository made anew on the same store comes back to the form.
        val again = FieldRepository(store)
        val back = again.send(FieldEvent.Start) as FieldView.Person
        expect(back.view.actionForm.title == "Rendez-vous CCAS", back.view.actionForm.title)
        again.send(FieldEvent.ActionDue("2026-02-30"))
        val refused = again.send(FieldEvent.AddAction) as FieldView.Person
        expect(refused.view.problem == "L'échéance doit être une date AAAA-MM-JJ entre 1900 et dans dix ans.", "${refused.view.problem}")
        again.send(FieldEvent.ActionDue(""))
        val added = again.send(FieldEvent.AddAction) as FieldView.Person
        expect(added.view.actions.map { it.title } == listOf("Rendez-vous CCAS"), "${added.view.actions}")
        val done = again.send(FieldEvent.CompleteAction(added.view.actions.single().id, "fait au CCAS")) as FieldView.Person
        expect(done.view.actions.isEmpty(), "${done.view.actions}")
        again.send(FieldEvent.ReferralTarget("day_centre"))
        val referred = again.send(FieldEvent.AddReferral) as FieldView.Person
        expect(referred.view.referrals.single().target == "accueil de jour", "${referred.view.referrals}")
    }
    dir.deleteRecursively()
}
