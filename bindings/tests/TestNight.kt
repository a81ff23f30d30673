// A night of outreach on two phones through the field app, synced through a real relay process
// (target/debug/allervers-relay on a loopback port), and a duplicate recorded on both phones
// merged at the office: every phone ends with one person.

import java.io.File
import java.net.ServerSocket
import java.nio.file.Files
import uniffi.allervers_ffi.*

fun testNight(check: (String, () -> Unit) -> Unit) {
    val dir = Files.createTempDirectory("allervers-night").toFile()
    val port = ServerSocket(0).use { it.localPort }
    val admin = "kotlin-night-admin-token"
    val relay = ProcessBuilder(
        File("target/debug/allervers-relay").absolutePath,
        "--addr", "127.0.0.1:$port", "--data", "${dir.path}/relay", "--admin-token", admin,
    ).redirectError(ProcessBuilder.Redirect.DISCARD).start()
    try {
        val url = relay.inputStream.bufferedReader().readLine().removePrefix("listening on ").trim()
        check("a night on two phones reaches the office, and a duplicate merged there leaves one person on every phone") {
            val office = Store.create("${dir.path}/office.db", generateKey(), "Poste bureau", "Sophie")
            val one = Store.create("${dir.path}/one.db", generateKey(), "Téléphone maraude 1", "Amina")
            val two = Store.create("${dir.path}/two.db", generateKey(), "Téléphone maraude 2", "Julien")
            office.createSpace("Maraude nord", url, admin, null)
            one.join(office.invite(null), null)
            two.join(office.invite(null), null)
            office.sync(null)
            val settle = { listOf(one, two, office, one, two).forEach { it.sync(null) } }
            settle()

            val app = FieldApp(one, "fr", null)
            app.send(FieldEvent.Start)
            app.send(FieldEvent.Search("Moussa"))
            val moussa = (app.send(FieldEvent.Create(false)) as FieldView.Search).view.duplicates.single().id
            app.send(FieldEvent.NewEncounter(moussa))
            app.send(FieldEvent.Anonymous(1L))
            app.send(FieldEvent.Anonymous(1L))
            app.send(FieldEvent.ToggleService("food"))
            app.send(FieldEvent.Place("quai de Jemmapes"))
            val saved = app.send(FieldEvent.Save) as FieldView.Search
            expect(saved.view.notice == "Rencontre enregistrée.", "${saved.view.notice}")
            app.send(FieldEvent.OpenPerson(moussa))
            app.send(FieldEvent.EditPerson(FieldStreetEdit.Situation("emergency_shelter")))
            app.send(FieldEvent.ActionTitle("Appeler le 115 pour une place"))
            app.send(FieldEvent.ActionCategory("siao_referral"))
            val added = app.send(FieldEvent.AddAction) as FieldView.Person
            expect(added.view.actions.size == 1, "${added.view.actions}")

            // The second phone, offline, records Moussa again.
            val app2 = FieldApp(two, "fr", null)
            app2.send(FieldEvent.Start)
            app2.send(FieldEvent.Search("MOUSSA"))
            val twice = (app2.send(FieldEvent.Create(false)) as FieldView.Search).view.duplicates.single().id
            app2.send(FieldEvent.NewEncounter(twice))
            app2.send(FieldEvent.Place("square Villemin"))
            app2.send(FieldEvent.Save)
            settle()

            val seen = FieldApp(two, "fr", null).send(FieldEvent.OpenPerson(moussa)) as FieldView.Person
            expect(two.person(moussa).situation == "emergency_shelter", "the situation reached the second phone")
            expect(seen.view.actions.map { it.title } == listOf("Appeler le 115 pour une place"), "${seen.view.actions}")
            expect(seen.view.timeline.any { it.detail == "quai de Jemmapes · repas · 2 personnes anonymes" }, "${seen.view.timeline}")

            office.mergePersons(moussa, twice)
            settle()
            for (store in listOf(one, two, office)) {
                val found = FieldApp(store, "fr", null).send(FieldEvent.Search("moussa")) as FieldView.Search
                val ids = (found.view.duplicates + found.view.rows).map { it.id }
                expect(ids == listOf(moussa), "one Moussa on ${store.identity().worker}: $ids")
                val met = store.timeline(moussa).count { it.kind == TimelineKind.ENCOUNTER }
                expect(met == 2, "both encounters on ${store.identity().worker}: $met")
            }
        }
    } finally {
        relay.destroy()
        relay.waitFor()
        dir.deleteRecursively()
    }
}
