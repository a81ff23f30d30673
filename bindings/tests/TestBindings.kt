// The generated Kotlin bindings on the JVM, through JNA: the glue and the error mapping on
// fresh stores in a temporary folder (the Rust tests prove the rest). Compiled and run by
// scripts/test-kotlin.sh.

import java.nio.file.Files
import uniffi.allervers_ffi.*

var passed = 0
var failed = 0

fun check(name: String, body: () -> Unit) {
    try {
        body()
        passed++
        println("ok - $name")
    } catch (e: Throwable) {
        failed++
        println("FAILED - $name: $e")
    }
}

fun expect(condition: Boolean, what: String) {
    if (!condition) throw AssertionError(what)
}

inline fun <reified E : Throwable> expectThrows(block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionError("expected ${E::class.simpleName}, got $e")
    }
    throw AssertionError("expected ${E::class.simpleName}, nothing was thrown")
}

fun person(name: String?, nickname: String? = null, situation: String? = null) =
    NewPerson(name, nickname, null, situation, listOf(), null, null, true, null)

fun main() {
    val dir = Files.createTempDirectory("allervers-kotlin").toFile()
    val key = generateKey()
    val path = "${dir.path}/amina.db"
    val store = Store.create(path, key, "Téléphone maraude 1", "Amina")

    check("a field session") {
        val karim = store.addPerson(person("Karim", "le Grand", "street"))
        store.logEncounter(NewEncounter(listOf(karim), 1L, null, "gare de l'Est", "maraude-nord", "follow_up", listOf("drink"), "Fatigué", false))
        store.setField(karim, "situation", "emergency_shelter")
        val found = store.listPersons("KARIM", PersonSort.RECENTLY_SEEN, 10u)
        expect(found.map { it.id } == listOf(karim), "search finds Karim: $found")
        expect(store.person(karim).situation == "emergency_shelter", "situation set")
        val kinds = store.timeline(karim).map { it.kind }
        expect(TimelineKind.ENCOUNTER in kinds && TimelineKind.CHANGE in kinds, "timeline: $kinds")
        expect(store.pendingChanges() >= 3uL, "changes wait to be sent")
    }

    check("reopening with the key, refusing a wrong one") {
        val again = Store.open(path, key)
        expect(again.identity().worker == "Amina", "same identity")
        expectThrows<FfiException.WrongKey> { Store.open(path, generateKey()) }
        expectThrows<FfiException.StoreNotFound> { Store.open("${dir.path}/absent.db", key) }
    }

    check("errors cross as typed exceptions") {
        val e = expectThrows<FfiException.InvalidInput> { store.addPerson(person(null)) }
        expect(e.field == "name", "the field is named: ${e.field}")
        expectThrows<FfiException.InvalidInput> { store.person("not an id") }
        expectThrows<FfiException.RecordNotFound> { store.person("0190f0c2-0000-7000-8000-000000000000") }
        expectThrows<FfiException.InvalidInput> { Store.create("${dir.path}/short.db", byteArrayOf(1, 2, 3), "x", "y") }
        expectThrows<FfiException.Refused> { store.importBundle(byteArrayOf(1, 2, 3), "phrase") }
        // A new bundle needs a passphrase of 12 characters or more (characters, not bytes).
        val short = expectThrows<FfiException.InvalidInput> { store.exportBundle("éléphant ok") }
        expect(short.field == "passphrase", "the field is named: ${short.field}")
    }

    check("a conflict between two stores is listed and resolved") {
        val other = Store.create("${dir.path}/julien.db", generateKey(), "Téléphone maraude 2", "Julien")
        val fatou = store.addPerson(person("Fatou", situation = "car"))
        other.importBundle(store.exportBundle("phrase du test Kotlin"), "phrase du test Kotlin")
        store.setField(fatou, "situation", "hotel")
        other.setField(fatou, "situation", "squat")
        store.importBundle(other.exportBundle("phrase du test Kotlin"), "phrase du test Kotlin")
        val conflicts = store.conflicts()
        expect(conflicts.size == 1 && conflicts[0].field == "situation", "one conflict: $conflicts")
        expect(conflicts[0].values.map { it.worker }.toSet() == setOf("Amina", "Julien"), "both authors")
        store.resolve(fatou, "situation", "hotel")
        expect(store.conflicts().isEmpty(), "resolved")
    }

    check("the field app's screens cross as view models") {
        val app = FieldApp(store, "fr", 14u)
        val search = app.send(FieldEvent.Search("karim")) as FieldView.Search
        expect(search.view.duplicates.map { it.title } == listOf("Karim"), "likely duplicate: ${search.view.duplicates}")
        expect(search.view.create?.label == "Créer « karim »", "create offer: ${search.view.create}")
        val seeAgain = app.send(FieldEvent.ShowSeeAgain) as FieldView.SeeAgain
        expect(seeAgain.view.title == "À revoir", "title: ${seeAgain.view.title}")
        expectThrows<FfiException.InvalidInput> { FieldApp(store, "de", null) }
        val form = app.send(FieldEvent.NewEncounter(null)) as FieldView.Encounter
        expect(!form.view.canSave, "nobody met yet")
        app.send(FieldEvent.Anonymous(1L))
        val saved = app.send(FieldEvent.Save) as FieldView.Search
        expect(saved.view.notice == "Rencontre enregistrée.", "saved: ${saved.view.notice}")
    }

    testRepository(::check)
    testNight(::check)

    dir.deleteRecursively()
    println("$passed passed, $failed failed")
    if (failed > 0) kotlin.system.exitProcess(1)
}
