//! The organisation's own fields: defined by a coordinator in the roster, values checked against
//! their definitions when written, kept (and flagged) when they arrive from a device that held
//! another definition, retired without losing values, refused from a worker's device.

use std::collections::BTreeMap;

use allervers_core::store::ROSTER_ID;
use allervers_core::vocab::Lang;
use allervers_core::{
    Choice, CoreError, CustomField, CustomType, Kind, NewEncounter, NewPerson, Store,
};
use automerge::ROOT;

use crate::common::{device, person};
use crate::trust_attacks::{forge, quarantined, Relay};

fn choice(code: &str, fr: &str) -> Choice {
    Choice {
        code: code.into(),
        fr: fr.into(),
        en: None,
    }
}

/// A field of `kind` named `name` of type `ty`, labelled in French, sensitive when text.
pub(crate) fn field(kind: Kind, name: &str, ty: CustomType) -> CustomField {
    CustomField {
        kind,
        name: name.into(),
        ty,
        fr: format!("Libellé {name}"),
        en: None,
        min: None,
        max: None,
        choices: Vec::new(),
        sensitive: ty == CustomType::Text,
        retired: false,
    }
}

/// The housing wished for: one choice of three.
pub(crate) fn housing() -> CustomField {
    CustomField {
        fr: "Logement souhaité".into(),
        en: Some("Housing wished for".into()),
        choices: vec![
            choice("t1", "T1"),
            choice("t2", "T2"),
            choice("foyer", "Foyer"),
        ],
        sensitive: false,
        ..field(Kind::Person, "logement_souhaite", CustomType::Choice)
    }
}

fn define_all(store: &Store) {
    store.define_field(&housing()).unwrap();
    store
        .define_field(&CustomField {
            min: Some(0.0),
            max: Some(20.0),
            ..field(Kind::Person, "enfants", CustomType::Number)
        })
        .unwrap();
    store
        .define_field(&field(Kind::Person, "animal", CustomType::YesNo))
        .unwrap();
    store
        .define_field(&field(Kind::Person, "rdv_caf", CustomType::Date))
        .unwrap();
    store
        .define_field(&CustomField {
            choices: vec![choice("cafe", "Café"), choice("soupe", "Soupe")],
            ..field(Kind::Encounter, "boissons", CustomType::Choices)
        })
        .unwrap();
}

fn invalid_field(err: &CoreError) -> String {
    match err {
        CoreError::InvalidInput { field, .. } => field.clone(),
        other => panic!("not an invalid input: {other:?}"),
    }
}

#[test]
fn values_are_checked_against_their_definitions_and_written_in_one_form() {
    let d = device("Poste bureau", "Sophie");
    define_all(&d.store);
    let p = d
        .store
        .add_person(&NewPerson {
            name: Some("Gaston".into()),
            custom: BTreeMap::from([
                ("logement_souhaite".into(), "t2".into()),
                ("animal".into(), "oui".into()),
            ]),
            ..Default::default()
        })
        .unwrap();
    d.store.set_custom_value(p, "enfants", "2,0").unwrap();
    d.store
        .set_custom_value(p, "rdv_caf", "2026-03-10")
        .unwrap();
    let person = d.store.person(p).unwrap();
    assert_eq!(
        person.custom,
        BTreeMap::from([
            ("animal".to_string(), "yes".to_string()),
            ("enfants".into(), "2".into()),
            ("logement_souhaite".into(), "t2".into()),
            ("rdv_caf".into(), "2026-03-10".into()),
        ])
    );

    // Refused, each naming the field and never the value; nothing written.
    let refusals = [
        ("inconnu", "x"),
        ("logement_souhaite", "chateau"),
        ("enfants", "beaucoup"),
        ("enfants", "21"),
        ("animal", "peut-être"),
        ("rdv_caf", "10/03/2026"),
    ];
    for (name, value) in refusals {
        let err = d.store.set_custom_value(p, name, value).unwrap_err();
        assert_eq!(invalid_field(&err), format!("custom.{name}"));
        assert!(!err.to_string().contains(value), "{err}");
    }
    let unknown = d
        .store
        .set_custom_value(p, "inconnu", "x")
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("logement_souhaite"), "{unknown}");
    assert_eq!(d.store.person(p).unwrap().custom, person.custom);

    // An encounter's fields, through the edit path the command line uses.
    let e = d
        .store
        .log_encounter(&NewEncounter {
            persons: vec![p],
            custom: BTreeMap::from([("boissons".into(), "soupe, cafe".into())]),
            ..Default::default()
        })
        .unwrap();
    let encounter = d.store.encounter(e).unwrap();
    assert_eq!(encounter.custom["boissons"], "cafe,soupe");
    let edit = d
        .store
        .edit_from_text(Kind::Encounter, "custom.boissons", "the")
        .unwrap();
    let err = d.store.edit(e, &[edit]).unwrap_err();
    assert_eq!(invalid_field(&err), "custom.boissons");

    // A screen's view: labels, choices by their labels.
    let view = d
        .store
        .custom_values(Kind::Person, &person.custom, Lang::En)
        .unwrap();
    let housing = view.iter().find(|v| v.name == "logement_souhaite").unwrap();
    assert_eq!(
        (housing.label.as_str(), housing.value.as_str()),
        ("Housing wished for", "T2")
    );
    assert!(view.iter().all(|v| v.problem.is_none()), "{view:?}");
}

#[test]
fn bad_definitions_are_refused_with_the_field_they_concern() {
    let d = device("Poste bureau", "Sophie");
    let cases = [
        (field(Kind::Action, "x", CustomType::Text), "kind"),
        (field(Kind::Person, "Logement", CustomType::Text), "name"),
        (
            CustomField {
                fr: "".into(),
                ..field(Kind::Person, "x", CustomType::Text)
            },
            "label",
        ),
        (field(Kind::Person, "x", CustomType::Choice), "choice"),
        // Longer than every device takes in the roster.
        (
            CustomField {
                choices: (0..200)
                    .map(|i| choice(&format!("c{i}"), &"libellé long ".repeat(15)))
                    .collect(),
                ..field(Kind::Person, "x", CustomType::Choices)
            },
            "choice",
        ),
        (
            CustomField {
                min: Some(3.0),
                max: Some(1.0),
                ..field(Kind::Person, "x", CustomType::Number)
            },
            "min",
        ),
    ];
    for (def, expected) in cases {
        let err = d.store.define_field(&def).unwrap_err();
        assert_eq!(invalid_field(&err), expected, "{def:?}");
    }
    assert!(d.store.custom_fields(None).unwrap().is_empty());
}

#[test]
fn a_retired_field_takes_no_value_and_keeps_those_written() {
    let d = device("Poste bureau", "Sophie");
    define_all(&d.store);
    let p = person(&d.store, "Léonie");
    d.store.set_custom_value(p, "animal", "non").unwrap();
    d.store.retire_field(Kind::Person, "animal").unwrap();
    let err = d.store.set_custom_value(p, "animal", "oui").unwrap_err();
    assert_eq!(invalid_field(&err), "custom.animal");
    assert!(err.to_string().contains("retired"), "{err}");
    let custom = d.store.person(p).unwrap().custom;
    assert_eq!(custom["animal"], "no");
    let view = d
        .store
        .custom_values(Kind::Person, &custom, Lang::Fr)
        .unwrap();
    let animal = view.iter().find(|v| v.name == "animal").unwrap();
    assert!(animal.retired);
    assert_eq!(animal.value, "non");
    let defs = d.store.custom_fields(Some(Kind::Person)).unwrap();
    assert!(defs.iter().any(|f| f.name == "animal" && f.retired));
    // The person's dossier (their right of access) names it by its label, raw value beside.
    let dossier = d.store.dossier(p, allervers_core::Via::Cli).unwrap();
    let custom = dossier
        .identity
        .iter()
        .find(|f| f.field == "custom")
        .unwrap();
    assert_eq!(custom.values.len(), 1);
    assert_eq!(custom.values[0].value, "animal = no");
    assert_eq!(
        custom.values[0].label.as_deref(),
        Some("Libellé animal : non")
    );
}

#[test]
fn a_value_that_no_longer_fits_or_whose_definition_has_not_arrived_is_kept_and_flagged() {
    let office = device("Poste bureau", "Sophie");
    let phone = device("Téléphone maraude", "Yanis");
    define_all(&office.store);
    let p = person(&office.store, "Marius");
    office.store.set_custom_value(p, "enfants", "12").unwrap();
    // The bounds narrow afterwards: the value stays, flagged.
    office
        .store
        .define_field(&CustomField {
            min: Some(0.0),
            max: Some(10.0),
            ..field(Kind::Person, "enfants", CustomType::Number)
        })
        .unwrap();
    let custom = office.store.person(p).unwrap().custom;
    assert_eq!(custom["enfants"], "12");
    let view = office
        .store
        .custom_values(Kind::Person, &custom, Lang::Fr)
        .unwrap();
    let children = view.iter().find(|v| v.name == "enfants").unwrap();
    let problem = children.problem.clone().expect("flagged");
    assert!(
        problem.contains("custom.enfants") && !problem.contains("12"),
        "{problem}"
    );

    // The phone receives the person before the roster that defines the field.
    let changes = office.store.export_changes().unwrap();
    let (mut roster, records): (Vec<_>, Vec<_>) =
        changes.into_iter().partition(|c| c.record == ROSTER_ID);
    // The roster's first change is the office device's own entry (its keys); the definitions
    // come after it.
    let definitions = roster.split_off(1);
    phone.store.import_changes(&roster).unwrap();
    phone.store.import_changes(&records).unwrap();
    assert!(phone.store.custom_fields(None).unwrap().is_empty());
    let custom = phone.store.person(p).unwrap().custom;
    assert_eq!(custom["enfants"], "12");
    let view = phone
        .store
        .custom_values(Kind::Person, &custom, Lang::Fr)
        .unwrap();
    assert_eq!(view.len(), 1, "{view:?}");
    assert!(view[0].ty.is_none() && view[0].problem.is_some());
    // Writing a field this phone does not know yet is refused; once the definitions arrive,
    // it is taken.
    assert!(phone.store.set_custom_value(p, "animal", "oui").is_err());
    phone.store.import_changes(&definitions).unwrap();
    phone.store.set_custom_value(p, "animal", "oui").unwrap();
    assert_eq!(phone.store.custom_fields(None).unwrap().len(), 5);
}

#[test]
fn concurrent_values_of_one_field_are_a_conflict_not_a_silent_overwrite() {
    let a = device("Poste bureau", "Sophie");
    let b = device("Téléphone maraude", "Yanis");
    define_all(&a.store);
    let p = person(&a.store, "Firmin");
    b.store
        .import_changes(&a.store.export_changes().unwrap())
        .unwrap();
    a.store
        .set_custom_value(p, "logement_souhaite", "t1")
        .unwrap();
    b.store
        .set_custom_value(p, "logement_souhaite", "foyer")
        .unwrap();
    a.store
        .import_changes(&b.store.export_changes().unwrap())
        .unwrap();
    b.store
        .import_changes(&a.store.export_changes().unwrap())
        .unwrap();
    for d in [&a, &b] {
        let person = d.store.person(p).unwrap();
        assert!(
            person
                .conflicts
                .contains(&"custom.logement_souhaite".to_string()),
            "{:?}",
            person.conflicts
        );
    }
    assert_eq!(
        a.store.person(p).unwrap().custom,
        b.store.person(p).unwrap().custom
    );
    // Settled with a value its definition takes, and the same on both after an exchange.
    let err = a
        .store
        .resolve(p, "custom.logement_souhaite", "chateau")
        .unwrap_err();
    assert_eq!(invalid_field(&err), "custom.logement_souhaite");
    a.store
        .resolve(p, "custom.logement_souhaite", "foyer")
        .unwrap();
    b.store
        .import_changes(&a.store.export_changes().unwrap())
        .unwrap();
    assert!(b.store.person(p).unwrap().conflicts.is_empty());
    assert_eq!(
        b.store.person(p).unwrap().custom["logement_souhaite"],
        "foyer"
    );
    assert_eq!(a.store.index_rows().unwrap(), b.store.index_rows().unwrap());
}

#[test]
fn an_encounter_without_the_map_refuses_a_value_in_one_sentence() {
    let a = device("Poste bureau", "Sophie");
    let b = device("Poste bureau 2", "Yanis");
    define_all(&a.store);
    define_all(&b.store);
    let p = person(&a.store, "Honorine");
    let e = a
        .store
        .log_encounter(&NewEncounter {
            persons: vec![p],
            ..Default::default()
        })
        .unwrap();
    // The encounter as an earlier build made it: its document holds no `custom` map (a change
    // of its creator's device takes it out, signed as its device signs).
    let mut doc = automerge::AutoCommit::load(&a.store.record_document(e).unwrap()).unwrap();
    doc.set_actor(a.store.identity().device.actor().clone());
    {
        use automerge::transaction::Transactable;
        doc.delete(ROOT, "custom").unwrap();
    }
    doc.commit();
    let bytes = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    let signature = allervers_core::fuzzing::sign_change(&a.store, e, &bytes).unwrap();
    let mut changes = a.store.export_changes().unwrap();
    changes.push(allervers_core::SignedChange {
        record: e,
        bytes,
        signature,
    });
    b.store.import_changes(&changes).unwrap();
    assert!(b.store.encounter(e).unwrap().custom.is_empty());
    let err = b.store.set_custom_value(e, "boissons", "cafe").unwrap_err();
    assert_eq!(invalid_field(&err), "custom");
    assert!(err.to_string().contains("earlier version"), "{err}");
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn a_workers_forged_definition_defines_no_field_on_any_device() {
    let a = device("Téléphone coordination", "Sophie");
    let w = device("Téléphone maraude", "Yanis");
    let relay = Relay::create(&a, "Maraude des champs");
    relay.invite(&a, &w);
    relay.settle(&[&a, &w]);
    // The worker's device refuses to define one itself.
    let err = w.store.define_field(&housing()).unwrap_err();
    assert_eq!(invalid_field(&err), "field");
    // A roster change it forges anyway is set aside by every device.
    let w_id = w.store.identity().device.clone();
    let def = housing();
    let change = forge::roster_change(&w.store, &w_id, |doc| {
        use automerge::transaction::Transactable;
        doc.put(
            ROOT,
            "field:person:logement_souhaite",
            r#"{"type":"choice","fr":"Logement souhaité","choices":[{"code":"t1","fr":"T1"}],"sensitive":false}"#,
        )
        .unwrap();
    });
    let seq = relay
        .push(vec![forge::sealed_roster_change(&w, &change, None)])
        .seqs[0];
    relay.settle(&[&a, &w]);
    for d in [&a, &w] {
        let reason = quarantined(d, &relay.space)
            .into_iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, r)| r)
            .expect("the worker's definition was applied");
        assert!(reason.contains("only a coordinator"), "{reason}");
        assert!(d.store.custom_fields(None).unwrap().is_empty());
    }
    // The coordinator's definition reaches the worker, whose device then checks values.
    a.store.define_field(&def).unwrap();
    relay.settle(&[&a, &w]);
    assert_eq!(w.store.custom_fields(None).unwrap(), vec![def]);
    let p = person(&w.store, "Agathe");
    assert!(w
        .store
        .set_custom_value(p, "logement_souhaite", "t4")
        .is_err());
    w.store
        .set_custom_value(p, "logement_souhaite", "t2")
        .unwrap();
    relay.settle(&[&a, &w]);
    assert_eq!(a.store.person(p).unwrap().custom["logement_souhaite"], "t2");
}

fn day(d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

/// An office store (2026-03-02) with the fields defined, three persons met with values, and an
/// encounter with drinks.
fn office_with_values() -> (crate::common::Device, Vec<allervers_core::RecordId>) {
    let d = device("Poste bureau", "Sophie");
    define_all(&d.store);
    d.store
        .define_field(&field(Kind::Person, "remarques", CustomType::Text))
        .unwrap();
    let values = [
        ("Gaston", "t2", "yes", "2"),
        ("Léonie", "t2", "no", "1.6"),
        ("Marius", "foyer", "yes", ""),
    ];
    let mut ids = Vec::new();
    for (name, housing, animal, children) in values {
        ids.push(
            d.store
                .add_person(&NewPerson {
                    name: Some(name.into()),
                    custom: BTreeMap::from([
                        ("logement_souhaite".into(), housing.into()),
                        ("animal".into(), animal.into()),
                        ("enfants".into(), children.into()),
                        ("remarques".into(), format!("{name} dort près de la gare")),
                    ]),
                    ..Default::default()
                })
                .unwrap(),
        );
    }
    d.store
        .log_encounter(&NewEncounter {
            persons: ids.clone(),
            custom: BTreeMap::from([("boissons".into(), "cafe,soupe".into())]),
            ..Default::default()
        })
        .unwrap();
    d.store
        .log_encounter(&NewEncounter {
            anonymous_count: 2,
            custom: BTreeMap::from([("boissons".into(), "cafe".into())]),
            ..Default::default()
        })
        .unwrap();
    (d, ids)
}

#[test]
fn the_report_counts_choices_yeses_and_sums_of_persons_met_and_encounters() {
    let (d, _) = office_with_values();
    let r = d.store.report(day(1), day(31), None).unwrap();
    let current: BTreeMap<&str, i64> = r
        .custom_fields
        .iter()
        .map(|(k, f)| (k.as_str(), f.current))
        .collect();
    assert_eq!(
        current,
        BTreeMap::from([
            ("encounter.boissons.cafe", 2),
            ("encounter.boissons.soupe", 1),
            ("person.animal.yes", 2),
            ("person.enfants.sum", 4),
            ("person.logement_souhaite.foyer", 1),
            ("person.logement_souhaite.t2", 2),
        ])
    );
    // Flat figures for a statistics space, and back.
    let figures = r.figures();
    assert_eq!(figures["f.person.logement_souhaite.t2"], "2 0");
    let back = allervers_core::report::Report::from_figures(r.from, r.to, r.team.clone(), &figures)
        .unwrap();
    assert_eq!(back, r);
    // One section, labelled by the definitions.
    let fields = d.store.custom_fields(None).unwrap();
    let sections = r.sections_with_fields(Lang::En, &[], &fields);
    let section = sections
        .iter()
        .find(|s| s.key == "custom_fields")
        .expect("a section of the organisation's fields");
    let line = section
        .lines
        .iter()
        .find(|l| l.key == "person.logement_souhaite.t2")
        .unwrap();
    assert_eq!(line.label, "Housing wished for (persons) : T2");
    // A retired field is no longer counted.
    d.store.retire_field(Kind::Person, "animal").unwrap();
    let r = d.store.report(day(1), day(31), None).unwrap();
    assert!(!r.custom_fields.contains_key("person.animal.yes"));
}

#[test]
fn exports_carry_a_column_per_field_and_pseudonymised_ones_leave_out_text_and_sensitive_fields() {
    use allervers_core::export::{ExportKind, ExportOptions};
    use allervers_core::Via;
    let (d, _) = office_with_values();
    d.store
        .define_field(&CustomField {
            sensitive: true,
            ..field(Kind::Person, "suivi_psy", CustomType::YesNo)
        })
        .unwrap();
    let export = |options: &ExportOptions| {
        d.store
            .export(ExportKind::Persons, day(1), day(31), options, Via::Cli)
            .unwrap()
    };
    let nominative = export(&ExportOptions::nominative());
    for column in [
        "custom.logement_souhaite",
        "custom.animal",
        "custom.enfants",
        "custom.rdv_caf",
        "custom.remarques",
        "custom.suivi_psy",
    ] {
        assert!(
            nominative.header.contains(&column.to_string()),
            "{column}: {:?}",
            nominative.header
        );
    }
    let col = |t: &allervers_core::export::Table, name: &str| {
        t.header.iter().position(|h| h == name).unwrap()
    };
    let housing = col(&nominative, "custom.logement_souhaite");
    let mut values: Vec<&str> = nominative
        .rows
        .iter()
        .map(|r| r[housing].as_str())
        .collect();
    values.sort();
    assert_eq!(values, ["foyer", "t2", "t2"]);
    assert!(nominative
        .rows
        .iter()
        .any(|r| r.iter().any(|c| c.contains("dort près de la gare"))));

    let pseudonymised = export(&ExportOptions::pseudonymised());
    assert!(!pseudonymised
        .header
        .contains(&"custom.remarques".to_string()));
    assert!(!pseudonymised
        .header
        .contains(&"custom.suivi_psy".to_string()));
    assert!(pseudonymised
        .header
        .contains(&"custom.logement_souhaite".to_string()));
    assert!(!pseudonymised
        .rows
        .iter()
        .any(|r| r.iter().any(|c| c.contains("gare"))));
    let encounters = d
        .store
        .export(
            ExportKind::Encounters,
            day(1),
            day(31),
            &ExportOptions::pseudonymised(),
            Via::Cli,
        )
        .unwrap();
    let drinks = col(&encounters, "custom.boissons");
    let mut values: Vec<&str> = encounters.rows.iter().map(|r| r[drinks].as_str()).collect();
    values.sort();
    assert_eq!(values, ["cafe", "cafe,soupe"]);
}

#[test]
fn the_phones_person_screen_shows_the_fields_and_edits_them_checked() {
    use allervers_core::field::{Event, FieldApp, StreetEdit, View};
    let d = device("Téléphone maraude", "Yanis");
    define_all(&d.store);
    d.store
        .define_field(&CustomField {
            choices: vec![choice("chien", "Chien"), choice("chat", "Chat")],
            ..field(Kind::Person, "animaux", CustomType::Choices)
        })
        .unwrap();
    let p = person(&d.store, "Lucie");
    let mut app = FieldApp::new(Lang::Fr);
    app.update(&d.store, Event::Start);
    app.update(&d.store, Event::OpenPerson { id: p });
    let edit = |app: &mut FieldApp, name: &str, value: &str| {
        let View::Person(v) = app.update(
            &d.store,
            Event::EditPerson {
                edit: StreetEdit::Custom(name.into(), value.into()),
            },
        ) else {
            panic!("not the person's screen")
        };
        v
    };
    edit(&mut app, "logement_souhaite", "t2");
    edit(&mut app, "animaux", "chat");
    edit(&mut app, "animaux", "chien");
    edit(&mut app, "animaux", "chat");
    let v = edit(&mut app, "animal", "yes");
    assert_eq!(v.problem, None);
    let control = |name: &str| v.custom.iter().find(|c| c.name == name).unwrap().clone();
    let housing = control("logement_souhaite");
    assert_eq!(housing.label, "Logement souhaité");
    assert_eq!(housing.shown, "T2");
    assert!(housing.editable);
    let selected: Vec<&str> = housing
        .choices
        .iter()
        .filter(|c| c.selected)
        .map(|c| c.code.as_str())
        .collect();
    assert_eq!(selected, ["t2"]);
    assert_eq!(
        control("animaux").value,
        "chien",
        "chat added, then taken off"
    );
    assert_eq!(control("animal").shown, "oui");
    assert_eq!(control("enfants").field_type, "number");
    assert_eq!(v.custom_title, "Champs de l'organisation");
    // A value its definition does not take: refused in one sentence, nothing written.
    let v = edit(&mut app, "enfants", "beaucoup");
    let problem = v.problem.expect("refused");
    assert!(
        !problem.contains("beaucoup") && !problem.contains('\n'),
        "{problem}"
    );
    assert!(!d.store.person(p).unwrap().custom.contains_key("enfants"));
}

#[test]
fn the_phones_encounter_form_takes_the_fields_checked_and_keeps_them_in_its_draft() {
    use allervers_core::field::{Event, FieldApp, View};
    let d = device("Téléphone maraude", "Yanis");
    define_all(&d.store);
    d.store
        .define_field(&CustomField {
            min: Some(0.0),
            max: Some(30.0),
            ..field(Kind::Encounter, "duree", CustomType::Number)
        })
        .unwrap();
    let p = person(&d.store, "Lucie");
    let mut app = FieldApp::new(Lang::Fr);
    app.update(&d.store, Event::Start);
    app.update(&d.store, Event::NewEncounter { person: Some(p) });
    let send = |app: &mut FieldApp, name: &str, value: &str| {
        let View::Encounter(v) = app.update(
            &d.store,
            Event::EncounterCustom {
                name: name.into(),
                value: value.into(),
            },
        ) else {
            panic!("not the encounter form")
        };
        v
    };
    send(&mut app, "boissons", "soupe");
    send(&mut app, "boissons", "cafe");
    send(&mut app, "duree", "12");
    let v = send(&mut app, "duree", "45");
    assert!(v.problem.is_some(), "a value out of bounds is refused");
    let control = |name: &str| v.custom.iter().find(|c| c.name == name).unwrap().clone();
    assert_eq!(control("boissons").value, "cafe,soupe");
    assert_eq!(control("boissons").shown, "Café, Soupe");
    assert_eq!(
        control("duree").value,
        "12",
        "the refused value left the draft as it was"
    );
    // The draft survives a new app on the same store (the phone restarted), then is saved.
    let mut app = FieldApp::new(Lang::Fr);
    let View::Encounter(v) = app.update(&d.store, Event::Start) else {
        panic!("the form was not restored")
    };
    assert_eq!(
        v.custom.iter().find(|c| c.name == "duree").unwrap().value,
        "12"
    );
    app.update(&d.store, Event::Save);
    let (e, _) = d
        .store
        .record_ids()
        .unwrap()
        .into_iter()
        .find(|(_, kind)| *kind == Kind::Encounter)
        .expect("the encounter was saved");
    let e = d.store.encounter(e).unwrap();
    assert_eq!(e.persons, [p]);
    assert_eq!(
        e.custom,
        BTreeMap::from([
            ("boissons".to_string(), "cafe,soupe".to_string()),
            ("duree".into(), "12".into()),
        ])
    );
}

#[test]
fn households_and_homes_take_the_organisations_fields_checked_and_counted_for_households_met() {
    let d = crate::common::device("Poste bureau", "Sophie");
    d.store
        .define_field(&CustomField {
            choices: vec![choice("dalo", "Reconnu DALO"), choice("aucun", "Aucun")],
            sensitive: false,
            ..field(Kind::Household, "droit_logement", CustomType::Choice)
        })
        .unwrap();
    d.store
        .define_field(&field(Kind::Home, "loyer_residuel", CustomType::Number))
        .unwrap();
    let p = crate::common::person(&d.store, "Yasmina Cherif");
    let h = d
        .store
        .add_household(&allervers_core::NewHousehold {
            label: "Famille Cherif".into(),
            ..Default::default()
        })
        .unwrap();
    d.store
        .join_household(&allervers_core::NewHouseholdMember {
            household: h,
            person: p,
            relation: "reference".into(),
            joined_on: None,
        })
        .unwrap();
    assert!(d
        .store
        .set_custom_value(h, "droit_logement", "peut-être")
        .is_err());
    assert!(d.store.set_custom_value(h, "inconnu", "x").is_err());
    d.store
        .set_custom_value(h, "droit_logement", "dalo")
        .unwrap();
    let home = d
        .store
        .add_home(
            &allervers_core::NewHome {
                concerns: allervers_core::Concerns::Household(h),
                landlord: None,
                address: None,
                entered_on: d.store.now().date_naive(),
                lease_kind: None,
                notes: None,
            },
            None,
        )
        .unwrap();
    assert!(d
        .store
        .set_custom_value(home, "loyer_residuel", "beaucoup")
        .is_err());
    d.store
        .set_custom_value(home, "loyer_residuel", "85")
        .unwrap();
    crate::common::meet(&d.store, &[p], "rue de Flandre");
    let today = d.store.now().date_naive();
    let report = d.store.report(today, today, None).unwrap();
    assert_eq!(
        report.custom_fields["household.droit_logement.dalo"].current,
        1
    );
}
