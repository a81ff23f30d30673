"""The generated Python bindings, driven like a shell would: a field session on fresh stores in a
temporary folder, a conflict between two stores, and errors raised as typed exceptions.

Run by scripts/test.sh after scripts/bindings.sh generated build/bindings/python."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "build", "bindings", "python"))

import allervers_ffi as av  # noqa: E402


def new_store(folder, device, worker):
    key = av.generate_key()
    path = os.path.join(folder, f"{worker}.db")
    return av.Store.create(path, key, device, worker), path, key


def person(name=None, nickname=None, situation=None, needs=()):
    return av.NewPerson(name=name, nickname=nickname, birth_year=None, situation=situation, needs=list(needs),
                        description=None, alert_level=None, consent_record=True, consent_share=None)


def encounter(persons, place, services=(), anonymous=0, notes=None):
    return av.NewEncounter(persons=list(persons), anonymous_count=anonymous, occurred_at_ms=None, place=place,
                           team="maraude-nord", kind="follow_up", services=list(services), notes=notes, follow_up=False)


class FieldSession(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.store, self.path, self.key = new_store(self.dir.name, "Téléphone maraude 1", "Amina")

    def tearDown(self):
        self.dir.cleanup()

    def test_every_field_of_a_person_crosses_and_set_field_takes_any_field(self):
        # The organisation's text field custom.chien (a store outside any space defines it).
        self.store.define_custom_field(av.CustomFieldDefinition(
            kind="person", name="chien", field_type="text", label_fr="Chien", label_en="Dog", min=None, max=None,
            choices=[], sensitive=True, retired=False))
        p = av.NewPerson(name="Mireille", nickname=None, birth_year=None, situation="squat", needs=["papers"],
                         description=None, alert_level="watch", consent_record=True, consent_share=None,
                         other_names=["Mimi"], birth_date="1971-04-02", languages=["fr", "ar"],
                         phone="06 12 34 56 78", on_street_since="2025-11-01", teams=["maraude-nord"],
                         custom=[av.CustomField(name="chien", value="Rex")])
        mireille = self.store.add_person(p)
        back = self.store.person(mireille)
        self.assertEqual(back.other_names, ["Mimi"])
        self.assertEqual((back.birth_date, back.on_street_since), ("1971-04-02", "2025-11-01"))
        self.assertEqual(back.languages, ["fr", "ar"])
        self.assertEqual(back.teams, ["maraude-nord"])
        self.assertEqual([(c.name, c.value) for c in back.custom], [("chien", "Rex")])
        self.store.set_field(mireille, "needs", "housing")
        self.store.set_field(mireille, "other_names", "la Grande")
        back = self.store.person(mireille)
        self.assertEqual(sorted(back.needs), ["housing", "papers"])
        self.assertEqual(back.other_names, ["Mimi", "la Grande"])
        with self.assertRaises(av.FfiError.InvalidInput) as bad:
            self.store.set_field(mireille, "birth_date", "Mireille-1971")
        self.assertNotIn("Mireille", str(bad.exception))

    def test_the_organisations_fields_are_listed_checked_and_read_with_their_labels(self):
        self.store.define_custom_field(av.CustomFieldDefinition(
            kind="person", name="logement_souhaite", field_type="choice", label_fr="Logement souhaité",
            label_en="Housing wished for", min=None, max=None, sensitive=False, retired=False,
            choices=[av.CustomChoice(code="t1", label_fr="T1", label_en=None),
                     av.CustomChoice(code="foyer", label_fr="Foyer", label_en="Hostel")]))
        self.assertEqual([f.name for f in self.store.custom_fields("person")], ["logement_souhaite"])
        self.assertEqual(self.store.custom_fields("encounter"), [])
        gaston = self.store.add_person(person(name="Gaston"))
        with self.assertRaises(av.FfiError.InvalidInput) as bad:
            self.store.set_custom_value(gaston, "logement_souhaite", "chateau")
        self.assertEqual(bad.exception.field, "custom.logement_souhaite")
        with self.assertRaises(av.FfiError.InvalidInput):
            self.store.set_custom_value(gaston, "inconnu", "t1")
        self.store.set_custom_value(gaston, "logement_souhaite", "foyer")
        values = self.store.custom_values(gaston, "en")
        self.assertEqual([(v.label, v.value, v.raw, v.problem) for v in values],
                         [("Housing wished for", "Hostel", "foyer", None)])

    def test_a_field_session(self):
        self.assertEqual(self.store.identity().worker, "Amina")
        helene = self.store.add_person(person(name="Hélène", nickname="la Fée", situation="street", needs=["health"]))
        self.store.add_person(person(nickname="Papi"))
        self.store.log_encounter(encounter([helene], "parvis de la gare de l'Est", ["drink", "food"], notes="Fatiguée"))
        self.store.set_field(helene, "situation", "emergency_shelter")
        found = self.store.list_persons("HELENE", av.PersonSort.RECENTLY_SEEN, 10)
        self.assertEqual([p.id for p in found], [helene])
        self.assertIsNotNone(found[0].last_seen_at_ms)
        p = self.store.person(helene)
        self.assertEqual((p.situation, p.needs), ("emergency_shelter", ["health"]))
        kinds = [e.kind for e in self.store.timeline(helene)]
        self.assertIn(av.TimelineKind.ENCOUNTER, kinds)
        self.assertIn(av.TimelineKind.CHANGE, kinds)
        action = self.store.add_action(av.NewAction(person=helene, title="Rendez-vous PASS", category="health_appointment", due_at="2020-01-02"))
        due = self.store.due_actions()
        self.assertEqual([(a.id, a.overdue) for a in due], [(action, True)])
        self.store.complete_action(action, "fait")
        self.assertEqual(self.store.due_actions(), [])
        self.assertGreaterEqual(self.store.pending_changes(), 4)

    def test_the_coordinators_phone_counts_the_persons_due_for_the_retention_review(self):
        self.assertEqual(self.store.retention_due_count(), 0)
        three_years_ago_ms = int((time.time() - 3 * 366 * 86400) * 1000)
        for name in ("Armand", "Noémie"):
            p = self.store.add_person(person(name=name))
            self.store.log_encounter(av.NewEncounter(
                persons=[p], anonymous_count=0, occurred_at_ms=three_years_ago_ms, place="square Villemin",
                team=None, kind=None, services=[], notes=None, follow_up=False))
        self.store.add_person(person(name="Célestin"))
        self.assertEqual(self.store.retention_due_count(), 2)

    def test_reopening_and_a_wrong_key(self):
        pid = self.store.add_person(person(name="Karim"))
        again = av.Store.open(self.path, self.key)
        self.assertEqual(again.person(pid).name, "Karim")
        with self.assertRaises(av.FfiError.WrongKey):
            av.Store.open(self.path, av.generate_key())
        with self.assertRaises(av.FfiError.StoreNotFound):
            av.Store.open(os.path.join(self.dir.name, "absent.db"), self.key)

    def test_errors_are_typed_exceptions(self):
        with self.assertRaises(av.FfiError.InvalidInput) as e:
            self.store.add_person(person())
        self.assertEqual(e.exception.field, "name")
        with self.assertRaises(av.FfiError.InvalidInput):
            self.store.log_encounter(encounter([], "nulle part"))
        with self.assertRaises(av.FfiError.InvalidInput):
            self.store.person("not an id")
        with self.assertRaises(av.FfiError.RecordNotFound):
            self.store.person("0190f0c2-0000-7000-8000-000000000000")
        with self.assertRaises(av.FfiError.InvalidInput):
            av.Store.create(os.path.join(self.dir.name, "k.db"), b"short key", "x", "y")
        with self.assertRaises(av.FfiError.InvalidInput):
            self.store.set_field(self.store.add_person(person(name="Jo")), "situation", "castle")
        # A new bundle needs a passphrase of 12 characters or more (11 here, in 13 bytes).
        with self.assertRaises(av.FfiError.InvalidInput) as e:
            self.store.export_bundle("éléphant ok")
        self.assertEqual(e.exception.field, "passphrase")

    def test_referrals_observations_and_history(self):
        karim = self.store.add_person(person(name="Karim"))
        ref = self.store.add_referral(av.NewReferral(person=karim, target="pass_health", target_name=None, date=None))
        self.store.update_referral(ref, "accepted", "Rendez-vous jeudi")
        obs = self.store.add_observation(av.NewObservation(territory="Canal", team=None, counts=[av.Count(name="tentes", value=12)], notes=None))
        self.assertTrue(obs)
        history = self.store.history(ref)
        self.assertIn(("status", ["sent"], "accepted"), [(h.field, h.old, h.new) for h in history if not h.creation])
        kinds = [e.kind for e in self.store.timeline(karim)]
        self.assertIn(av.TimelineKind.REFERRAL, kinds)

    def test_consent_decisions_and_the_consent_now(self):
        lea = self.store.add_person(person(name="Léa"))
        decision = lambda category, given, on: av.NewConsent(person=lea, partner="siao", category=category, given=given, decided_on=on, how="oral")
        ids = self.store.record_consents([decision("identity_contact", True, "2026-01-05"), decision("shared_assessment", True, "2026-01-05")])
        self.assertEqual(len(ids), 2)
        self.store.record_consents([decision("shared_assessment", False, "2026-02-01")])
        now = {(c.category, c.given) for c in self.store.current_consents(lea)}
        self.assertEqual(now, {("identity_contact", True), ("shared_assessment", False)})
        self.assertEqual(len([e for e in self.store.timeline(lea) if e.kind == av.TimelineKind.CONSENT]), 3)
        with self.assertRaises(av.FfiError.InvalidInput) as e:
            self.store.record_consents([decision("identity_contact", True, None), decision("health", True, None)])
        self.assertEqual(e.exception.field, "category")
        self.assertEqual(len(self.store.current_consents(lea)), 2)

    def test_health_notes_live_in_the_health_store_and_the_team_sees_a_contact(self):
        health_path = os.path.join(self.dir.name, "health.db")
        health = av.Store.create_health(health_path, self.key, "Téléphone maraude 1", "Amina")
        self.assertTrue(health.is_health_store())
        self.assertFalse(self.store.is_health_store())
        lea = self.store.add_person(person(name="Léa"))
        note = lambda text: av.NewHealthNote(person=lea, on="2026-01-05", category="care", text=text)
        health.add_health_note(self.store, note("pansement refait au pied"))
        notes = health.health_notes(lea)
        self.assertEqual([(n.text, n.professional, n.on) for n in notes], [("pansement refait au pied", "Amina", "2026-01-05")])
        health.set_health_detail(lea, "allergies", "pénicilline")
        self.assertEqual([p.allergies for p in health.health_profiles(lea)], ["pénicilline"])
        with self.assertRaises(av.FfiError.InvalidInput):
            health.set_health_detail(lea, "person", lea)
        contacts = [e for e in self.store.timeline(lea) if e.kind == av.TimelineKind.HEALTH_CONTACT]
        self.assertEqual([(c.title, c.notes) for c in contacts], [("2026-01-05", None)])
        # A team's store writes no health note; a health note needs its text.
        with self.assertRaises(av.FfiError.InvalidInput):
            self.store.add_health_note(self.store, note("x"))
        with self.assertRaises(av.FfiError.InvalidInput):
            health.add_health_note(self.store, note("  "))
        # The health store opens with the team's key only through open_health.
        del health
        self.assertEqual(len(av.Store.open_health(health_path, self.key).health_notes(lea)), 1)
        with self.assertRaises(av.FfiError.WrongKey):
            av.Store.open(health_path, self.key)

    def test_a_partners_and_a_restricted_devices_projections_cross(self):
        lea = self.store.add_person(person(name="Léa", situation="street", needs=["health"]))
        self.store.add_person(person(name="Marius"))
        self.store.record_consents([av.NewConsent(person=lea, partner="siao", category="identity_contact", given=True, decided_on="2026-01-05", how="oral")])
        siao = av.Store.create_partnership(os.path.join(self.dir.name, "siao.db"), self.key, "siao", "Poste bureau", "Amina")
        self.assertEqual(self.store.publish(siao), 1)
        seen = siao.projections()
        self.assertEqual([(p.name, p.categories, p.situation) for p in seen], [("Léa", ["identity_contact"], None)])
        self.assertEqual(siao.projection(seen[0].id).name, "Léa")
        with self.assertRaises(av.FfiError.InvalidInput):
            siao.edit_projection(seen[0].id, "situation", "hotel")
        siao.edit_projection(seen[0].id, "phone", "06 00 00 00 00")
        restricted = av.Store.create_partnership(os.path.join(self.dir.name, "restricted.db"), self.key, "restricted", "Poste bureau", "Amina")
        self.assertEqual(self.store.publish(restricted), 2)
        self.assertEqual(sorted(p.name for p in restricted.projections()), ["Léa", "Marius"])
        self.assertEqual({p.situation for p in restricted.projections()}, {"street", None})
        # A partnership store records no person; the statistics store of a team holds no report.
        with self.assertRaises(av.FfiError.InvalidInput):
            siao.add_person(person(name="Odile"))
        self.assertEqual(self.store.published_reports(), [])

    def test_every_entry_point_refuses_bad_input_with_a_typed_error(self):
        bad_id = "not-an-id"
        unknown = "0190f0c2-0000-7000-8000-000000000000"
        calls = [
            lambda: self.store.person(bad_id),
            lambda: self.store.person(unknown),
            lambda: self.store.timeline(bad_id),
            lambda: self.store.history(unknown),
            lambda: self.store.set_field(bad_id, "situation", "hotel"),
            lambda: self.store.set_field(self.store.add_person(person(name="A")), "no_such_field", "x"),
            lambda: self.store.log_encounter(encounter([bad_id], "x")),
            lambda: self.store.log_encounter(av.NewEncounter(persons=[], anonymous_count=1, occurred_at_ms=2**62, place=None, team=None, kind=None, services=[], notes=None, follow_up=False)),
            lambda: self.store.add_action(av.NewAction(person=unknown, title="t", category="papers", due_at=None)),
            lambda: self.store.add_action(av.NewAction(person=self.store.add_person(person(name="B")), title="t", category="papers", due_at="demain")),
            lambda: self.store.complete_action(bad_id, None),
            lambda: self.store.add_referral(av.NewReferral(person=unknown, target="chrs", target_name=None, date=None)),
            lambda: self.store.update_referral(unknown, "accepted", None),
            lambda: self.store.add_observation(av.NewObservation(territory="", team=None, counts=[], notes=None)),
            lambda: self.store.resolve(unknown, "situation", "hotel"),
            lambda: self.store.erase_person(bad_id, "demande"),
            lambda: self.store.erase_person(unknown, "demande"),
            lambda: self.store.erase_person(self.store.add_person(person(name="C")), "  "),
            lambda: self.store.import_bundle(b"", "x"),
            lambda: self.store.export_bundle(""),
            lambda: self.store.join("nonsense", None),
            lambda: self.store.invite(None),
            lambda: self.store.sync(None),
            lambda: av.Store.open(os.path.join(self.dir.name, "none.db"), b"x" * 32),
            lambda: av.Store.create(self.path, av.generate_key(), "again", "again"),
            lambda: av.Store.create(os.path.join(self.dir.name, "n.db"), av.generate_key(), "", "w"),
        ]
        for i, call in enumerate(calls):
            with self.subTest(entry=i):
                with self.assertRaises(av.FfiError):
                    call()

    def test_a_person_is_erased_from_a_store_outside_any_space(self):
        gone = self.store.add_person(person(name="Gaëtan"))
        kept = self.store.add_person(person(name="Solène"))
        self.store.log_encounter(encounter([gone], "quai de Valmy", notes="vu seul"))
        self.store.log_encounter(encounter([gone, kept], "quai de Valmy", notes="vus ensemble"))
        done = self.store.erase_person(gone, "demande de la personne")
        self.assertEqual((done.records, done.encounters, done.reissued, done.blinded), (3, 1, 1, 0))
        with self.assertRaises(av.FfiError):
            self.store.person(gone)
        self.assertEqual([p.id for p in self.store.list_persons(None, av.PersonSort.NAME, 10)], [kept])

    def test_a_conflict_between_two_stores_is_listed_and_resolved(self):
        other, _, _ = new_store(self.dir.name, "Téléphone maraude 2", "Julien")
        karim = self.store.add_person(person(name="Karim", situation="street"))
        other.import_bundle(self.store.export_bundle("phrase du test Python"), "phrase du test Python")
        self.store.set_field(karim, "situation", "hotel")
        other.set_field(karim, "situation", "squat")
        self.store.import_bundle(other.export_bundle("phrase du test Python"), "phrase du test Python")
        conflicts = self.store.conflicts()
        self.assertEqual(len(conflicts), 1)
        self.assertEqual(conflicts[0].field, "situation")
        self.assertEqual(sorted((v.value, v.worker) for v in conflicts[0].values), [("hotel", "Amina"), ("squat", "Julien")])
        with self.assertRaises(av.FfiError.Refused):
            self.store.import_bundle(b"not a bundle", "phrase")
        self.store.resolve(karim, "situation", "hotel")
        self.assertEqual(self.store.conflicts(), [])

    def test_the_field_app_finds_creates_and_lists_whom_to_see_again(self):
        karim = self.store.add_person(person(name="Karim", situation="street"))
        app = av.FieldApp(self.store, "fr", None)
        # A phone in no team opens on the join screen; the worker goes on without one.
        self.assertTrue(app.send(av.FieldEvent.START()).is_JOIN())
        view = app.send(av.FieldEvent.JOIN_LATER())
        self.assertTrue(view.is_SEARCH())
        self.assertEqual([r.title for r in view.view.rows], ["Karim"])
        self.assertEqual(view.view.rows[0].detail, "rue")
        self.assertEqual(view.view.rows[0].last_seen, "jamais rencontré·e")
        view = app.send(av.FieldEvent.SEARCH("KARIM")).view
        self.assertEqual([r.id for r in view.duplicates], [karim])
        self.assertEqual(view.create.label, "Créer « KARIM »")
        app.send(av.FieldEvent.SEARCH("Le Rouquin"))
        view = app.send(av.FieldEvent.CREATE(True)).view
        self.assertIsNone(view.problem)
        self.assertEqual([r.title for r in view.duplicates], ["Le Rouquin"])
        self.assertEqual(self.store.person(view.duplicates[0].id).nickname, "Le Rouquin")
        see_again = app.send(av.FieldEvent.SHOW_SEE_AGAIN())
        self.assertTrue(see_again.is_SEE_AGAIN())
        self.assertEqual(see_again.view.title, "À revoir")
        self.assertEqual(see_again.view.empty, "Personne à revoir pour l'instant.")
        with self.assertRaises(av.FfiError.InvalidInput):
            av.FieldApp(self.store, "de", None)
        form = app.send(av.FieldEvent.NEW_ENCOUNTER(karim)).view
        self.assertEqual([p.title for p in form.persons], ["Karim"])
        app.send(av.FieldEvent.ANONYMOUS(1))
        app.send(av.FieldEvent.TOGGLE_SERVICE("drink"))
        form = app.send(av.FieldEvent.PLACE("square Villemin")).view
        self.assertTrue(form.can_save)
        self.assertEqual([s.code for s in form.services if s.selected], ["drink"])
        saved = app.send(av.FieldEvent.SAVE())
        self.assertTrue(saved.is_SEARCH())
        self.assertEqual(saved.view.notice, "Rencontre enregistrée.")
        with self.assertRaises(av.FfiError.InvalidInput):
            app.send(av.FieldEvent.ADD_PERSON("not an id"))
        shown = app.send(av.FieldEvent.OPEN_PERSON(karim))
        self.assertTrue(shown.is_PERSON())
        self.assertEqual(shown.view.title, "Karim")
        self.assertEqual(shown.view.timeline[0].what, "Rencontre")
        self.assertEqual(shown.view.timeline[0].detail, "square Villemin · boisson · 1 personne anonyme")
        edited = app.send(av.FieldEvent.EDIT_PERSON(av.FieldStreetEdit.SITUATION("hotel"))).view
        self.assertEqual([c.code for c in edited.situations if c.selected], ["hotel"])
        self.assertEqual(self.store.person(karim).situation, "hotel")

    def test_the_shells_labels_and_an_overdue_follow_up_cross_in_the_workers_language(self):
        rose = self.store.add_person(person(name="Rose"))
        self.store.add_action(av.NewAction(person=rose, title="Rendez-vous CCAS", category="papers", due_at="2020-01-02"))
        app = av.FieldApp(self.store, "en", None)
        search = app.send(av.FieldEvent.JOIN_LATER()).view
        self.assertEqual((search.see_again_label, search.new_encounter_label), ("To see again", "New encounter"))
        see_again = app.send(av.FieldEvent.SHOW_SEE_AGAIN()).view
        self.assertEqual(see_again.back_label, "Back")
        self.assertEqual(see_again.sections[0].rows[0].detail, "Rendez-vous CCAS (2020-01-02, overdue)")
        form = app.send(av.FieldEvent.NEW_ENCOUNTER(None)).view
        self.assertEqual((form.save_label, form.fewer_label, form.more_label), ("Save", "One anonymous person fewer", "One more anonymous person"))
        shown = app.send(av.FieldEvent.OPEN_PERSON(rose)).view
        self.assertEqual((shown.back_label, shown.overdue_label), ("Back", "overdue"))

    def test_a_journey_period_is_recorded_and_the_person_screen_shows_the_journey(self):
        lea = self.store.add_person(person(name="Léa", situation="street"))
        stay = self.store.add_period(av.NewPeriod(person=lea, situation="chrs", started_on="2026-01-10",
                                                  place="CHRS Les Glycines"))
        steps = self.store.journey(lea)
        self.assertEqual([(s.situation, s.started_on, s.ended_on, s.period_id) for s in steps],
                         [("chrs", "2026-01-10", None, stay)])
        self.assertEqual(self.store.person(lea).situation, "chrs")
        with self.assertRaises(av.FfiError.InvalidInput):
            self.store.add_period(av.NewPeriod(person=lea, situation="hotel", started_on="le 3 mars"))
        app = av.FieldApp(self.store, "fr", None)
        app.send(av.FieldEvent.START())
        view = app.send(av.FieldEvent.OPEN_PERSON(lea)).view
        self.assertEqual(view.journey_title, "Parcours")
        self.assertEqual([(r.situation, r.days, r.place, r.current) for r in view.journey],
                         [("CHRS", "depuis le 2026-01-10", "CHRS Les Glycines", True)])
        # Her own view of the support, and a risk on a home that is not one: a typed error.
        own = self.store.record_own_view(av.NewOwnView(person=lea, step="home_found", satisfaction=4,
                                                       own_words="Enfin une porte qui ferme."))
        self.assertIn(own, [e.record_id for e in self.store.timeline(lea) if e.kind == av.TimelineKind.OWN_VIEW])
        with self.assertRaises(av.FfiError.InvalidInput):
            self.store.record_own_view(av.NewOwnView(person=lea, step="home_found", satisfaction=9))
        self.assertEqual(self.store.homes(lea), [])
        with self.assertRaises(av.FfiError):
            self.store.raise_risk(stay, "rent_arrears", None, None)

    def test_the_person_screen_adds_follow_ups_and_referrals_and_its_form_survives_a_new_app(self):
        lucie = self.store.add_person(person(name="Lucie", situation="street"))
        app = av.FieldApp(self.store, "fr", None)
        app.send(av.FieldEvent.START())
        app.send(av.FieldEvent.OPEN_PERSON(lucie))
        app.send(av.FieldEvent.ACTION_TITLE("Rendez-vous CCAS"))
        form = app.send(av.FieldEvent.ACTION_CATEGORY("papers")).view.action_form
        self.assertTrue(form.can_add)
        self.assertEqual(form.add, "Ajouter le suivi")
        self.assertEqual([c.label for c in form.categories if c.selected], ["papiers"])
        # The app is killed: a new one on the same store comes back to what was typed.
        app = av.FieldApp(self.store, "fr", None)
        back = app.send(av.FieldEvent.START())
        self.assertTrue(back.is_PERSON())
        self.assertEqual(back.view.action_form.title, "Rendez-vous CCAS")
        app.send(av.FieldEvent.ACTION_DUE("12/03/2026"))
        refused = app.send(av.FieldEvent.ADD_ACTION()).view
        self.assertEqual(refused.problem, "L'échéance doit être une date AAAA-MM-JJ entre 1900 et dans dix ans.")
        self.assertEqual(refused.actions, [])
        app.send(av.FieldEvent.ACTION_DUE("2026-03-12"))
        added = app.send(av.FieldEvent.ADD_ACTION()).view
        self.assertIsNone(added.problem)
        self.assertEqual([(a.title, a.due) for a in added.actions], [("Rendez-vous CCAS", "2026-03-12")])
        self.assertEqual(added.action_form.title, "")
        self.assertEqual(len(self.store.due_actions()), 1)
        done = app.send(av.FieldEvent.COMPLETE_ACTION(added.actions[0].id, "rendez-vous pris")).view
        self.assertEqual(done.actions, [])
        self.assertEqual(self.store.due_actions(), [])
        app.send(av.FieldEvent.REFERRAL_TARGET("siao_115"))
        referred = app.send(av.FieldEvent.ADD_REFERRAL()).view
        self.assertEqual([(r.target, r.status) for r in referred.referrals], [("SIAO / 115", "envoyée")])
        self.assertEqual(referred.referrals_title, "Orientations")
        # Nothing typed any more: a new app on this phone, in no team, starts on joining one.
        self.assertTrue(av.FieldApp(self.store, "fr", None).send(av.FieldEvent.START()).is_JOIN())
        with self.assertRaises(av.FfiError.InvalidInput):
            app.send(av.FieldEvent.COMPLETE_ACTION("not an id", ""))

    def test_the_field_app_reads_an_invite_code_says_a_sync_without_a_team_and_names_the_worker(self):
        app = av.FieldApp(self.store, "fr", None)
        join = app.send(av.FieldEvent.START())
        self.assertTrue(join.is_JOIN())
        self.assertEqual(join.view.title, "Rejoindre l'équipe")
        self.assertFalse(join.view.can_join)
        # A mistyped code is said in one sentence, and nothing is asked of a relay.
        exchange = UrllibExchange()
        refused = app.join("ALV2-mistyped", exchange)
        self.assertTrue(refused.is_JOIN())
        self.assertEqual(refused.view.wrong, "Ce n'est pas un code d'invitation : vérifiez qu'il est complet et sans faute.")
        self.assertFalse(refused.view.valid)
        self.assertEqual(exchange.requests, 0)
        # A sync asked for with no team: said in one sentence, and recorded for the sync screen.
        app.send(av.FieldEvent.JOIN_LATER())
        synced = app.sync(None)
        self.assertTrue(synced.is_SEARCH())
        self.assertEqual(synced.view.problem, "Échec de la synchronisation à l'instant : ce téléphone n'a pas encore rejoint "
                                              "d'équipe, rejoignez-en une d'abord.")
        screen = app.send(av.FieldEvent.SHOW_SYNC())
        self.assertTrue(screen.is_SYNC())
        self.assertFalse(screen.view.enrolled)
        self.assertEqual(screen.view.join_label, "Rejoindre")
        self.assertEqual(screen.view.last_success, "Jamais synchronisé avec l'équipe.")
        self.assertTrue(screen.view.last_failure.startswith("Échec de la synchronisation"))
        # Who uses the phone tonight: chosen from the roster, recorded with each change after.
        first = app.send(av.FieldEvent.SHOW_SEARCH()).view
        self.assertEqual((first.worker, first.change_worker), ("Téléphone utilisé par Amina", "Changer"))
        workers = app.send(av.FieldEvent.SHOW_WORKERS())
        self.assertTrue(workers.is_WORKERS())
        self.assertEqual([(w.name, w.current) for w in workers.view.workers], [("Amina", True)])
        chosen = app.send(av.FieldEvent.CHOOSE_WORKER("Sophie")).view
        self.assertEqual(chosen.worker, "Téléphone utilisé par Sophie")
        self.assertEqual(self.store.identity().worker, "Sophie")
        app.send(av.FieldEvent.SEARCH("Ginette"))
        ginette = app.send(av.FieldEvent.CREATE(False)).view.duplicates[0].id
        self.assertEqual({h.worker for h in self.store.history(ginette)}, {"Sophie"})
        again = app.send(av.FieldEvent.SHOW_WORKERS()).view
        self.assertEqual([(w.name, w.current) for w in again.workers], [("Amina", False), ("Sophie", True)])


ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
ADMIN = "python-bindings-admin-token"


class UrllibExchange(av.HttpExchange):
    """A shell's own HTTP stack, as an Android or iOS app would give OkHttp or URLSession."""

    def __init__(self):
        self.requests = 0

    def send(self, request):
        self.requests += 1
        headers = {h.name: h.value for h in request.headers}
        data = bytes(request.body) if request.method == "POST" else None
        req = urllib.request.Request(request.url, data=data, headers=headers, method=request.method)
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                return av.HttpResponse(status=r.status, body=r.read())
        except urllib.error.HTTPError as e:
            return av.HttpResponse(status=e.code, body=e.read())
        except OSError as e:
            raise av.HttpFailure.Unreachable(str(e))


class Listener(av.SyncListener):
    def __init__(self):
        self.progress = []
        self.changed = 0

    def on_progress(self, pushed, to_push, pulled):
        self.progress.append((pushed, to_push, pulled))

    def on_records_changed(self):
        self.changed += 1


class SyncThroughTheRelay(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        relay = os.path.join(ROOT, "target", "debug", "allervers-relay")
        self.relay = subprocess.Popen(
            [relay, "--addr", f"127.0.0.1:{port}", "--data", os.path.join(self.dir.name, "relay"), "--admin-token", ADMIN],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = self.relay.stdout.readline().strip().removeprefix("listening on ")

    def tearDown(self):
        self.relay.kill()
        self.relay.wait()
        self.relay.stdout.close()
        self.dir.cleanup()

    def test_two_phones_sync_with_a_foreign_and_the_built_in_transport(self):
        a, _, _ = new_store(self.dir.name, "Téléphone maraude 1", "Amina")
        b, _, _ = new_store(self.dir.name, "Téléphone maraude 2", "Julien")
        with self.assertRaises(av.FfiError.NotEnrolled):
            b.sync(None)
        exchange = UrllibExchange()
        recovery = a.create_space("Maraude nord", self.url, ADMIN, exchange)
        self.assertTrue(recovery.startswith("ALVR1-"))
        code = a.invite(exchange)
        b.join(code, None)
        with self.assertRaises(av.FfiError.RelayRefused) as e:
            new_store(self.dir.name, "Téléphone 3", "Inès")[0].join(code, None)
        self.assertEqual(e.exception.status, 404)
        with self.assertRaises(av.FfiError.InvalidInput):
            b.join("ALV1-garbage", None)
        # Until the coordinator's device has synced, b holds no key: it pushes nothing.
        early = b.sync(None)
        self.assertFalse(early.has_space_key)
        self.assertEqual(early.pushed, 0)
        karim = a.add_person(person(name="Karim"))
        a.log_encounter(encounter([karim], "gare de l'Est", ["drink"]))
        listener = Listener()
        a.set_listener(listener)
        pushed = a.sync(exchange)
        self.assertEqual(pushed.pushed, 3)
        self.assertGreater(exchange.requests, 3)
        self.assertTrue(any(p[0] == 3 for p in listener.progress), listener.progress)
        b_listener = Listener()
        b.set_listener(b_listener)
        pulled = b.sync(None)
        # The person, the encounter, a's roster entry, the recovery identity's grant and b's.
        self.assertEqual(pulled.new_changes, 5)
        self.assertEqual(b_listener.changed, 1)
        self.assertEqual(b.pending_changes(), 0)
        self.assertEqual(b.person(karim).name, "Karim")
        self.assertEqual(len([e for e in b.timeline(karim) if e.kind == av.TimelineKind.ENCOUNTER]), 1)
        # Both reads are in b's access log of the day, waiting for its next sync.
        self.assertEqual(b.pending_changes(), 2)
        self.assertTrue(pulled.has_space_key)
        self.assertEqual(a.set_aside(), [])

        # Revoked with a wipe order: b's next sync erases its store and says so.
        epoch = a.revoke(b.identity().device, exchange)
        self.assertEqual(epoch, 1)
        with self.assertRaises(av.FfiError.Wiped):
            b.sync(None)
        self.assertFalse(os.path.exists(os.path.join(self.dir.name, "Julien.db")))

        # a's phone lost too: a new phone recovers the space with the recovery code.
        c, _, _ = new_store(self.dir.name, "Téléphone neuf", "Sophie")
        c.recover(recovery, None)
        c.sync(None)
        self.assertEqual(c.person(karim).name, "Karim")
        self.assertTrue(c.invite(None).startswith("ALV2-"))
        with self.assertRaises(av.FfiError.RelayRefused):
            new_store(self.dir.name, "Téléphone trouvé", "Lucien")[0].recover(recovery, None)

    def test_a_scripted_night_on_two_phones_and_a_duplicate_merged_at_the_office(self):
        office, _, _ = new_store(self.dir.name, "Poste bureau", "Sophie")
        one, _, _ = new_store(self.dir.name, "Téléphone maraude 1", "Amina")
        two, _, _ = new_store(self.dir.name, "Téléphone maraude 2", "Julien")
        office.create_space("Maraude nord", self.url, ADMIN, None)
        one.join(office.invite(None), None)
        two.join(office.invite(None), None)
        office.sync(None)

        def settle():
            for store in (one, two, office, one, two):
                store.sync(None)

        settle()
        # Amina's night, through the field app: Moussa is new, met with two people unnamed.
        app = av.FieldApp(one, "fr", None)
        app.send(av.FieldEvent.START())
        app.send(av.FieldEvent.SEARCH("Moussa"))
        created = app.send(av.FieldEvent.CREATE(False)).view
        moussa = created.duplicates[0].id
        app.send(av.FieldEvent.NEW_ENCOUNTER(moussa))
        app.send(av.FieldEvent.ANONYMOUS(1))
        app.send(av.FieldEvent.ANONYMOUS(1))
        app.send(av.FieldEvent.TOGGLE_SERVICE("food"))
        app.send(av.FieldEvent.PLACE("quai de Jemmapes"))
        self.assertEqual(app.send(av.FieldEvent.SAVE()).view.notice, "Rencontre enregistrée.")
        app.send(av.FieldEvent.OPEN_PERSON(moussa))
        app.send(av.FieldEvent.EDIT_PERSON(av.FieldStreetEdit.SITUATION("emergency_shelter")))
        app.send(av.FieldEvent.ACTION_TITLE("Appeler le 115 pour une place"))
        app.send(av.FieldEvent.ACTION_CATEGORY("siao_referral"))
        self.assertEqual(len(app.send(av.FieldEvent.ADD_ACTION()).view.actions), 1)
        # Julien, offline the same night, meets him too and records him again.
        app2 = av.FieldApp(two, "fr", None)
        app2.send(av.FieldEvent.START())
        app2.send(av.FieldEvent.SEARCH("MOUSSA"))
        twice = app2.send(av.FieldEvent.CREATE(False)).view.duplicates[0].id
        app2.send(av.FieldEvent.NEW_ENCOUNTER(twice))
        app2.send(av.FieldEvent.PLACE("square Villemin"))
        app2.send(av.FieldEvent.SAVE())
        settle()

        # The second phone sees all of Amina's night.
        shown = av.FieldApp(two, "fr", None).send(av.FieldEvent.OPEN_PERSON(moussa)).view
        self.assertEqual(two.person(moussa).situation, "emergency_shelter")
        self.assertEqual([a.title for a in shown.actions], ["Appeler le 115 pour une place"])
        self.assertIn("quai de Jemmapes · repas · 2 personnes anonymes", [t.detail for t in shown.timeline])

        # The office merges the duplicate; every phone ends with one Moussa and both encounters.
        office.merge_persons(moussa, twice)
        self.assertEqual(office.person(moussa).merged, [twice])
        settle()
        for store in (one, two, office):
            found = av.FieldApp(store, "fr", None).send(av.FieldEvent.SEARCH("moussa")).view
            self.assertEqual([r.id for r in found.duplicates + found.rows], [moussa])
            encounters = [e for e in store.timeline(moussa) if e.kind == av.TimelineKind.ENCOUNTER]
            self.assertEqual(len(encounters), 2)
            # The merged record opens as the person it was merged into.
            self.assertEqual((store.person(twice).id, store.person(twice).merged), (moussa, [twice]))

    def test_a_phone_joins_its_team_from_the_field_app_and_a_lost_network_is_said_in_one_sentence(self):
        office, _, _ = new_store(self.dir.name, "Téléphone coordination", "Amina")
        office.create_space("Maraude nord", self.url, ADMIN, None)
        phone, _, _ = new_store(self.dir.name, "Téléphone maraude 2", "Julien")
        app = av.FieldApp(phone, "fr", None)
        self.assertTrue(app.send(av.FieldEvent.START()).is_JOIN())
        code = office.invite(None)
        typed = app.send(av.FieldEvent.JOIN_CODE(code)).view
        self.assertEqual((typed.valid, typed.can_join, typed.team), (True, True, "Équipe « Maraude nord »"))
        joined = app.join(code, UrllibExchange())
        self.assertTrue(joined.is_SEARCH(), joined)
        self.assertTrue(joined.view.notice.startswith("Équipe « Maraude nord » rejointe"))
        self.assertTrue(phone.is_enrolled())
        # The same code again, on another phone: the relay refuses it, said in one sentence.
        other = av.FieldApp(new_store(self.dir.name, "Téléphone 3", "Inès")[0], "fr", None)
        used = other.join(code, UrllibExchange())
        self.assertTrue(used.is_JOIN())
        self.assertEqual(used.view.problem, "Ce code a déjà servi, a expiré ou est inconnu du relais : "
                                            "demandez-en un nouveau à la coordination.")
        # A sync the worker asks for, said once; the background one on the next opening.
        office.sync(None)
        done = app.sync(UrllibExchange())
        self.assertEqual(done.view.problem, None)
        self.assertTrue(done.view.notice.startswith("Synchronisé : "), done.view.notice)
        phone.add_person(person(name="Mireille"))
        phone.sync(None)
        reopened = av.FieldApp(phone, "fr", None).send(av.FieldEvent.START()).view
        self.assertEqual(reopened.sync_news, "Synchronisation automatique à l'instant : 1 changement envoyé, 0 reçu.")
        # The relay gone: no network, said in one sentence, and the changes wait on the phone.
        self.relay.kill()
        self.relay.wait()
        phone.add_person(person(name="Hector"))
        lost = app.sync(UrllibExchange())
        self.assertEqual(lost.view.problem, "Échec de la synchronisation à l'instant : pas de réseau, "
                                            "les changements attendent sur le téléphone.")
        screen = app.send(av.FieldEvent.SHOW_SYNC()).view
        self.assertEqual(screen.pending, "1 changement attend d'être envoyé.")
        self.assertEqual(screen.last_success, "Dernière synchronisation réussie : à l'instant.")
        self.assertTrue(screen.last_failure.endswith("pas de réseau, les changements attendent sur le téléphone."))
        # Joining with no network: said in one sentence too (the code reads: the relay is asked).
        nowhere = av.FieldApp(new_store(self.dir.name, "Téléphone 4", "Lucien")[0], "en", None)
        offline = nowhere.join(code, UrllibExchange())
        self.assertEqual(offline.view.problem, "No network: try again when the phone has a signal.")

    def test_a_phone_follows_its_relay_only_to_an_address_that_serves_its_space(self):
        a, _, _ = new_store(self.dir.name, "Téléphone maraude 1", "Amina")
        a.create_space("Maraude sud", self.url, ADMIN, None)
        a.add_person(person(name="Awa"))
        a.sync(None)
        a.sync(None)
        with self.assertRaises(av.FfiError.InvalidInput):
            a.set_relay("relais-sud", None)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            nowhere = f"http://127.0.0.1:{s.getsockname()[1]}"
        with self.assertRaises(av.FfiError.RelayUnreachable):
            a.set_relay(nowhere, UrllibExchange())
        # The same relay under another spelling of its address serves the space: kept.
        a.set_relay(self.url + "/", UrllibExchange())
        self.assertEqual(a.sync(None).pulled, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
