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

    check("the repository's screens carry every label the Compose screens show or read aloud") {
        val search = repo.send(FieldEvent.ShowSearch) as FieldView.Search
        expect(search.view.seeAgainLabel == "À revoir" && search.view.newEncounterLabel == "Nouvelle rencontre", "${search.view.seeAgainLabel}, ${search.view.newEncounterLabel}")
        val form = repo.send(FieldEvent.NewEncounter(null)) as FieldView.Encounter
        expect(form.view.backLabel == "Retour" && form.view.saveLabel == "Enregistrer", "${form.view.backLabel}, ${form.view.saveLabel}")
        expect(form.view.fewerLabel == "Une personne anonyme de moins" && form.view.moreLabel == "Une personne anonyme de plus", "${form.view.fewerLabel}, ${form.view.moreLabel}")
        val seeAgain = repo.send(FieldEvent.ShowSeeAgain) as FieldView.SeeAgain
        expect(seeAgain.view.backLabel == "Retour", seeAgain.view.backLabel)
        repo.send(FieldEvent.ShowSearch)
    }

    check("the repository's screens say a refusal in one sentence") {
        repo.send(FieldEvent.NewEncounter(null))
        val refused = repo.send(FieldEvent.Save) as FieldView.Encounter
        expect(refused.view.problem == "Ajoutez une personne ou comptez les personnes anonymes avant d'enregistrer.", "${refused.view.problem}")
        val old = repo.join("ALV1-mistyped", null) as FieldView.Join
        expect(old.view.wrong == "Ce code vient d'une ancienne version d'allervers : demandez-en un nouveau.", "${old.view.wrong}")
        expect(!old.view.canJoin, "nothing to join with")
        repo.send(FieldEvent.JoinLater)
        val sync = repo.sync(null) as FieldView.Search
        expect(sync.view.problem == "Échec de la synchronisation à l'instant : ce téléphone n'a pas encore rejoint d'équipe, rejoignez-en une d'abord.", "${sync.view.problem}")
        val screen = repo.send(FieldEvent.ShowSync) as FieldView.Sync
        expect(!screen.view.enrolled && screen.view.joinLabel == "Rejoindre", "join offered: ${screen.view.joinLabel}")
    }

    check("a phone in no team opens on the join screen, and the worker using it is chosen") {
        val shared = FieldRepository(Store.create("${dir.path}/shared.db", generateKey(), "Téléphone de l'équipe", "Amina"))
        val first = shared.send(FieldEvent.Start) as FieldView.Join
        expect(first.view.title == "Rejoindre l'équipe" && first.view.scanLabel == "Scanner le QR code", first.view.title)
        val search = shared.send(FieldEvent.JoinLater) as FieldView.Search
        expect(search.view.worker == "Téléphone utilisé par Amina", search.view.worker)
        val workers = shared.send(FieldEvent.ShowWorkers) as FieldView.Workers
        expect(workers.view.workers.map { it.name to it.current } == listOf("Amina" to true), "${workers.view.workers}")
        val chosen = shared.send(FieldEvent.ChooseWorker("Sophie")) as FieldView.Search
        expect(chosen.view.worker == "Téléphone utilisé par Sophie", chosen.view.worker)
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
