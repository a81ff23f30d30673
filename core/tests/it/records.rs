//! Records: creating, reading, editing and validating persons, encounters, actions, referrals and
//! observations through the store.

use crate::common::{device, meet, person};
use allervers_core::model::fields::Checker;
use allervers_core::{
    ApiError, CoreError, Edit, Kind, NewAction, NewEncounter, NewObservation, NewPerson,
    NewReferral, PersonQuery, PersonSort, Value,
};
use chrono::{Duration, NaiveDate, TimeZone, Utc};

/// The organisation's text field `custom.chien` (the person's dog), which the edits below
/// write.
fn define_dog(store: &allervers_core::Store) {
    store
        .define_field(&crate::custom_fields::field(
            Kind::Person,
            "chien",
            allervers_core::CustomType::Text,
        ))
        .unwrap();
}

#[test]
fn a_person_is_created_read_back_and_edited() {
    let d = device("Téléphone A", "Amina");
    define_dog(&d.store);
    let id = d
        .store
        .add_person(&NewPerson {
            name: Some("Hélène".into()),
            nickname: Some("La Fée".into()),
            other_names: vec!["Lena".into()],
            birth_year: Some(1971),
            situation: Some("street".into()),
            needs: vec!["health".into(), "papers".into()],
            consent_record: Some(true),
            languages: vec!["français".into()],
            ..Default::default()
        })
        .unwrap();
    let p = d.store.person(id).unwrap();
    assert_eq!(p.name.as_deref(), Some("Hélène"));
    assert_eq!(p.nickname.as_deref(), Some("La Fée"));
    assert_eq!(p.other_names, vec!["Lena"]);
    assert_eq!(p.birth_year, Some(1971));
    assert_eq!(p.situation.as_deref(), Some("street"));
    assert_eq!(p.needs, vec!["health", "papers"]);
    assert_eq!(p.status.as_deref(), Some("active"));
    assert_eq!(p.consent_by.as_deref(), Some("Amina"));
    assert!(p.conflicts.is_empty());

    d.store
        .edit(
            id,
            &[
                Edit::Set("situation".into(), Value::Code("emergency_shelter".into())),
                Edit::Remove("needs".into(), Value::Code("papers".into())),
                Edit::Add("needs".into(), Value::Code("housing".into())),
                Edit::Put("custom".into(), "chien".into(), "Rex".into()),
            ],
        )
        .unwrap();
    let p = d.store.person(id).unwrap();
    assert_eq!(p.situation.as_deref(), Some("emergency_shelter"));
    assert_eq!(p.needs, vec!["health", "housing"]);
    assert_eq!(p.custom.get("chien").map(String::as_str), Some("Rex"));
}

#[test]
fn search_ignores_accents_and_case_and_finds_nicknames_and_other_names() {
    let d = device("Téléphone A", "Amina");
    let helene = person(&d.store, "Hélène");
    let other = d
        .store
        .add_person(&NewPerson {
            nickname: Some("Le Grand Éric".into()),
            other_names: vec!["Rico".into()],
            ..Default::default()
        })
        .unwrap();
    person(&d.store, "Mohamed");
    let find = |q: &str| -> Vec<_> {
        d.store
            .list_persons(&PersonQuery {
                search: Some(q.into()),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect()
    };
    assert_eq!(find("helene"), vec![helene]);
    assert_eq!(find("HÉLÈNE"), vec![helene]);
    assert_eq!(find("eric"), vec![other]);
    assert_eq!(find("rico"), vec![other]);
    assert_eq!(find("grand eric"), vec![other]);
    assert!(find("zzz").is_empty());
    assert!(
        find("50%").is_empty(),
        "LIKE wildcards in a search are taken literally"
    );
}

#[test]
fn persons_are_listed_most_recently_seen_first() {
    let d = device("Téléphone A", "Amina");
    let a = person(&d.store, "Aurélie");
    let b = person(&d.store, "Bilal");
    let c = person(&d.store, "Chantal");
    meet(&d.store, &[a], "Gare de l'Est");
    d.clock.advance_ms(60_000);
    meet(&d.store, &[c], "Rue de Lyon");
    // An encounter entered late, about something that happened earlier, does not move c back.
    d.store
        .log_encounter(&NewEncounter {
            persons: vec![c],
            occurred_at: Some(Utc.with_ymd_and_hms(2026, 2, 1, 9, 0, 0).unwrap()),
            services: vec!["information".into()],
            ..Default::default()
        })
        .unwrap();
    let listed: Vec<_> = d
        .store
        .list_persons(&PersonQuery::default())
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(listed, vec![c, a, b]);
    let by_name: Vec<_> = d
        .store
        .list_persons(&PersonQuery {
            sort: PersonSort::Name,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|p| p.display_name)
        .collect();
    assert_eq!(by_name, vec!["Aurélie", "Bilal", "Chantal"]);
}

fn invalid_field(err: CoreError) -> String {
    match err {
        CoreError::InvalidInput { field, .. } => field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[test]
fn invalid_input_is_refused_with_the_field_named_and_nothing_written() {
    let d = device("Téléphone A", "Amina");
    let err = d
        .store
        .add_person(&NewPerson {
            name: Some("  ".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(invalid_field(err), "name");

    let err = d
        .store
        .log_encounter(&NewEncounter {
            place: Some("Parvis".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(invalid_field(err), "persons");

    let err = d
        .store
        .add_person(&NewPerson {
            name: Some("Jules".into()),
            birth_date: NaiveDate::from_ymd_opt(1899, 12, 31),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(invalid_field(err), "birth_date");

    let err = d
        .store
        .log_encounter(&NewEncounter {
            anonymous_count: 2,
            occurred_at: Some(d.store.now() + Duration::hours(25)),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(invalid_field(err), "occurred_at");
    // Twenty hours ahead is a wrong clock or a time zone, not an error.
    d.store
        .log_encounter(&NewEncounter {
            anonymous_count: 2,
            occurred_at: Some(d.store.now() + Duration::hours(20)),
            ..Default::default()
        })
        .unwrap();

    let err = d
        .store
        .add_person(&NewPerson {
            name: Some("Jules".into()),
            situation: Some("castle".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(invalid_field(err), "situation");

    let unknown = "0190f0c2-0000-7000-8000-000000000000".parse().unwrap();
    let err = d
        .store
        .log_encounter(&NewEncounter {
            persons: vec![unknown],
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        matches!(err, CoreError::RecordNotFound(id) if id == unknown),
        "{err:?}"
    );
    assert!(matches!(
        d.store.person(unknown),
        Err(CoreError::RecordNotFound(_))
    ));

    // Clearing the only name of a person is refused as a whole.
    let jules = person(&d.store, "Jules");
    let err = d
        .store
        .edit(jules, &[Edit::Clear("name".into())])
        .unwrap_err();
    assert_eq!(invalid_field(err), "name");
    assert_eq!(
        d.store.person(jules).unwrap().name.as_deref(),
        Some("Jules")
    );

    // Only the one valid encounter and Jules were written (plus the device's roster entry).
    assert_eq!(d.store.pending_changes().unwrap(), 3);
}

#[test]
fn actions_referrals_and_observations() {
    let d = device("Téléphone A", "Amina");
    let p = person(&d.store, "Kevin");
    let today = d.store.now().date_naive();
    let late = d
        .store
        .add_action(&NewAction {
            person: p,
            title: "Rendez-vous PASS".into(),
            category: "health_appointment".into(),
            due_at: Some(today - Duration::days(2)),
            assigned_to: Some("Amina".into()),
        })
        .unwrap();
    let soon = d
        .store
        .add_action(&NewAction {
            person: p,
            title: "Dossier SIAO".into(),
            category: "siao_referral".into(),
            due_at: Some(today + Duration::days(3)),
            assigned_to: None,
        })
        .unwrap();
    let due = d
        .store
        .due_actions(Some(today + Duration::days(7)))
        .unwrap();
    assert_eq!(
        due.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![late, soon]
    );
    assert!(due[0].overdue && !due[1].overdue);
    assert_eq!(due[0].person_name.as_deref(), Some("Kevin"));

    d.store
        .complete_action(late, Some("Vu par le médecin"))
        .unwrap();
    let action = d.store.action(late).unwrap();
    assert_eq!(action.status.as_deref(), Some("done"));
    assert_eq!(action.comments.len(), 1);
    assert_eq!(action.comments[0].by, "Amina");
    assert_eq!(d.store.due_actions(None).unwrap().len(), 1);

    let r = d
        .store
        .add_referral(&NewReferral {
            person: p,
            target: "siao_115".into(),
            target_name: None,
            date: None,
            status: None,
            household: None,
        })
        .unwrap();
    d.store
        .update_referral(r, Some("accepted"), Some("Place au CHU Saint-Martin"))
        .unwrap();
    let referral = d.store.referral(r).unwrap();
    assert_eq!(referral.status.as_deref(), Some("accepted"));
    assert_eq!(
        referral.outcome.as_deref(),
        Some("Place au CHU Saint-Martin")
    );
    assert!(matches!(
        d.store.update_referral(r, Some("lost"), None),
        Err(CoreError::InvalidInput { .. })
    ));
    // An action id where a referral is expected is refused.
    assert!(matches!(
        d.store.update_referral(late, Some("accepted"), None),
        Err(CoreError::WrongKind { .. })
    ));

    let o = d
        .store
        .add_observation(&NewObservation {
            territory: "Canal Saint-Denis".into(),
            team: Some("maraude-nord".into()),
            counts: [("tentes".to_string(), 12), ("personnes".to_string(), 17)].into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        d.store
            .observation(o)
            .unwrap()
            .counts
            .get("tentes")
            .map(String::as_str),
        Some("12")
    );
    assert_eq!(d.store.kind_of(o).unwrap(), Kind::Observation);
}

#[test]
fn an_organisation_extends_a_code_list_and_unknown_codes_are_kept() {
    use allervers_core::vocab::Vocab;
    let d = device("Téléphone A", "Amina");
    let p = person(&d.store, "Florin");
    let with_charge = NewEncounter {
        persons: vec![p],
        services: vec!["phone_charge".into()],
        ..Default::default()
    };
    let err = d.store.log_encounter(&with_charge).unwrap_err();
    assert!(
        matches!(err, CoreError::InvalidInput { ref field, .. } if field == "services"),
        "{err:?}"
    );
    assert!(d
        .store
        .add_term(Vocab::Service, "Phone Charge", "recharge", "charging")
        .is_err());
    assert!(d
        .store
        .add_term(Vocab::Service, "food", "repas", "food")
        .is_err());
    d.store
        .add_term(
            Vocab::Service,
            "phone_charge",
            "recharge de téléphone",
            "phone charging",
        )
        .unwrap();
    let e = d.store.log_encounter(&with_charge).unwrap();
    assert_eq!(d.store.encounter(e).unwrap().services, vec!["phone_charge"]);

    // A code written by a newer device reaches an older one as it is, never dropped.
    let other = device("Téléphone B", "Julien");
    let unknown_here = allervers_core::vocab::label(
        Vocab::Service,
        "phone_charge",
        &other.store.extra_terms().unwrap(),
        allervers_core::vocab::Lang::Fr,
    );
    assert_eq!(unknown_here, "phone_charge", "shown raw while unknown");
    crate::common::send(&d.store, &other.store);
    assert_eq!(
        other.store.encounter(e).unwrap().services,
        vec!["phone_charge"]
    );
    // The organisation's code travels in the space's roster: the other device now knows its
    // labels and accepts it in its own records.
    let terms = other.store.extra_terms().unwrap();
    assert!(
        terms.iter().any(|t| t.vocab == Vocab::Service
            && t.code == "phone_charge"
            && t.fr == "recharge de téléphone"
            && t.en == "phone charging"),
        "{terms:?}"
    );
    assert_eq!(
        allervers_core::vocab::label(
            Vocab::Service,
            "phone_charge",
            &terms,
            allervers_core::vocab::Lang::Fr
        ),
        "recharge de téléphone"
    );
    other.store.log_encounter(&with_charge).unwrap();
}

#[test]
fn generic_edits_keep_the_rules_of_each_kind() {
    let d = device("Téléphone A", "Amina");
    let anonymous = d
        .store
        .log_encounter(&NewEncounter {
            anonymous_count: 2,
            ..Default::default()
        })
        .unwrap();
    let err = d
        .store
        .edit(
            anonymous,
            &[Edit::Set("anonymous_count".into(), Value::Int(0))],
        )
        .unwrap_err();
    assert_eq!(invalid_field(err), "persons");
    let o = d
        .store
        .add_observation(&NewObservation {
            territory: "Porte de la Chapelle".into(),
            ..Default::default()
        })
        .unwrap();
    let err = d
        .store
        .edit(
            o,
            &[Edit::Put(
                "counts".into(),
                "tentes".into(),
                "beaucoup".into(),
            )],
        )
        .unwrap_err();
    assert_eq!(invalid_field(err), "counts");
    let err = d
        .store
        .edit(o, &[Edit::Clear("territory".into())])
        .unwrap_err();
    assert_eq!(invalid_field(err), "territory");
    let p = person(&d.store, "Adama");
    let a = d
        .store
        .add_action(&NewAction {
            person: p,
            title: "Papiers".into(),
            category: "papers".into(),
            due_at: None,
            assigned_to: None,
        })
        .unwrap();
    let err = d
        .store
        .edit(a, &[Edit::Clear("person".into())])
        .unwrap_err();
    assert_eq!(invalid_field(err), "person");
}

/// An ambiguous person search returns the candidates' ids, and the public error says how many
/// matched without a name; a value typed wrong is not echoed back.
#[test]
fn errors_carry_ids_and_field_names_never_names_or_values() {
    let d = device("Poste bureau", "Sophie");
    let a = person(&d.store, "Karim Benali");
    let b = person(&d.store, "Karim Ouvrard");
    let err = d.store.find_person("karim").unwrap_err();
    match &err {
        CoreError::AmbiguousPerson(ids) => {
            let mut ids = ids.clone();
            ids.sort();
            let mut expected = vec![a, b];
            expected.sort();
            assert_eq!(ids, expected);
        }
        other => panic!("{other:?}"),
    }
    let public = ApiError::from(err);
    for text in [public.to_string(), format!("{public:?}")] {
        assert!(!text.contains("Karim") && !text.contains("karim"), "{text}");
    }
    assert_eq!(
        public.to_string(),
        "2 persons match these words: give the id"
    );
    assert!(matches!(
        d.store.find_person("Zéphyrine"),
        Err(CoreError::NoPersonMatches)
    ));

    let checker = Checker {
        now: d.store.now(),
        extra: &[],
    };
    let spec = Kind::Person.field("birth_year").unwrap();
    let err = checker
        .parse("birth_year", spec.ty, "Hépatite-Xq-1987")
        .unwrap_err();
    let public = ApiError::from(err);
    assert!(
        matches!(&public, ApiError::InvalidInput { field, .. } if field == "birth_year"),
        "{public:?}"
    );
    assert!(!public.to_string().contains("Hépatite"), "{public}");
}

/// Typed text becomes an edit of any field kind through one function (the command line's
/// `--set` and the FFI's `set_field`), checked like a typed value.
#[test]
fn typed_text_becomes_an_edit_of_any_kind_of_field() {
    let d = device("Poste bureau", "Sophie");
    define_dog(&d.store);
    let p = person(&d.store, "Gaston");
    let cases = [
        (
            "situation",
            "hotel",
            Edit::Set("situation".into(), Value::Code("hotel".into())),
        ),
        (
            "needs",
            "health",
            Edit::Add("needs".into(), Value::Code("health".into())),
        ),
        (
            "other_names",
            "Tonton",
            Edit::Add("other_names".into(), Value::Text("Tonton".into())),
        ),
        (
            "custom",
            "chien = Rex",
            Edit::Put("custom".into(), "chien".into(), "Rex".into()),
        ),
        (
            "birth_year",
            "1961",
            Edit::Set("birth_year".into(), Value::Int(1961)),
        ),
    ];
    for (field, text, expected) in cases {
        let edit = d.store.edit_from_text(Kind::Person, field, text).unwrap();
        assert_eq!(edit, expected, "{field}");
        d.store.edit(p, &[edit]).unwrap();
    }
    let back = d.store.person(p).unwrap();
    assert_eq!(back.situation.as_deref(), Some("hotel"));
    assert_eq!(back.needs, vec!["health".to_string()]);
    assert_eq!(back.custom.get("chien").map(String::as_str), Some("Rex"));
    for (field, text) in [
        ("needs", "licorne"),
        ("birth_year", "vieux"),
        ("custom", "sans égal"),
        ("nope", "x"),
    ] {
        assert!(
            matches!(
                d.store.edit_from_text(Kind::Person, field, text),
                Err(CoreError::InvalidInput { .. })
            ),
            "{field} = {text}"
        );
    }
}

/// Entropy that gives each byte only four values: record ids drawn in one millisecond collide
/// within a few dozen draws.
struct Narrow(std::sync::Mutex<u64>);

impl allervers_core::Entropy for Narrow {
    fn fill(&self, dest: &mut [u8]) {
        let mut state = self.0.lock().unwrap();
        for b in dest {
            *state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            *b = (*state >> 61) as u8 & 0x03;
        }
    }
}

#[test]
fn records_created_in_one_millisecond_get_distinct_ids_even_from_a_poor_entropy_source() {
    let dir = tempfile::tempdir().unwrap();
    let clock = std::sync::Arc::new(allervers_core::ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
    ));
    let store = allervers_core::Store::create_with(
        &dir.path().join("store.db"),
        &allervers_core::RawKey::generate(),
        "Téléphone",
        "Amina",
        allervers_core::StoreOptions {
            clock,
            entropy: std::sync::Arc::new(Narrow(std::sync::Mutex::new(7))),
        },
    )
    .unwrap();
    let names = ["Awa", "Bastien", "Chloé", "Djibril", "Elise", "Farid"];
    let ids: Vec<allervers_core::RecordId> = (0..60)
        .map(|i| person(&store, &format!("{} {i}", names[i % names.len()])))
        .collect();
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len());
    for (i, id) in ids.iter().enumerate() {
        let p = store.person(*id).unwrap();
        assert_eq!(
            p.name.as_deref(),
            Some(format!("{} {i}", names[i % names.len()]).as_str())
        );
        assert!(id.drawn_by(&store.identity().device));
    }
}
