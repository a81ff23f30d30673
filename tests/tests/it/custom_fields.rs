//! End to end: the organisation's own fields, defined at the office, reach a phone through a
//! real relay process and are checked there; the phone's value reaches the office.

use std::collections::BTreeMap;

use allervers_client::HttpClient;
use allervers_core::{Choice, CoreError, CustomField, CustomType, Kind, NewEncounter};
use allervers_e2e::{create_space, device, invite, join, person, welcome, Device, RelayProcess};

fn sync(d: &Device) -> allervers_core::SyncSummary {
    allervers_client::sync(&d.store, &HttpClient::default(), &mut |_| {}).unwrap()
}

fn housing() -> CustomField {
    let choice = |code: &str, fr: &str| Choice {
        code: code.into(),
        fr: fr.into(),
        en: None,
    };
    CustomField {
        kind: Kind::Person,
        name: "logement_souhaite".into(),
        ty: CustomType::Choice,
        fr: "Logement souhaité".into(),
        en: Some("Housing wished for".into()),
        min: None,
        max: None,
        choices: vec![
            choice("t1", "T1"),
            choice("t2", "T2"),
            choice("foyer", "Foyer"),
        ],
        sensitive: false,
        retired: false,
    }
}

#[test]
fn custom_fields_added_at_the_office_reach_a_phone_through_a_real_relay_and_are_checked_there() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(dir.path());
    let office = device("Poste bureau", "Sophie");
    let phone = device("Téléphone maraude", "Yanis");
    create_space(&relay, &office.store, "Maraude nord");
    join(&phone.store, &invite(&office.store)).unwrap();
    welcome(&office.store, &[&phone.store]);

    // The office defines the fields and syncs; the phone has none until it syncs.
    office.store.define_field(&housing()).unwrap();
    office
        .store
        .define_field(&CustomField {
            kind: Kind::Encounter,
            name: "boissons".into(),
            ty: CustomType::Number,
            fr: "Boissons servies".into(),
            en: None,
            min: Some(0.0),
            max: Some(50.0),
            choices: Vec::new(),
            sensitive: false,
            retired: false,
        })
        .unwrap();
    sync(&office);
    let gaston = person(&phone.store, "Gaston");
    assert!(phone
        .store
        .set_custom_value(gaston, "logement_souhaite", "t2")
        .is_err());
    sync(&phone);
    assert_eq!(phone.store.custom_fields(None).unwrap().len(), 2);

    // A worker's phone checks values by the office's definitions, and defines none itself.
    let refused = phone
        .store
        .set_custom_value(gaston, "logement_souhaite", "chateau")
        .unwrap_err();
    assert!(
        matches!(&refused, CoreError::InvalidInput { field, .. } if field == "custom.logement_souhaite"),
        "{refused:?}"
    );
    assert!(phone
        .store
        .log_encounter(&NewEncounter {
            persons: vec![gaston],
            custom: BTreeMap::from([("boissons".into(), "80".into())]),
            ..Default::default()
        })
        .is_err());
    assert!(phone.store.define_field(&housing()).is_err());
    phone
        .store
        .set_custom_value(gaston, "logement_souhaite", "t2")
        .unwrap();
    let met = phone
        .store
        .log_encounter(&NewEncounter {
            persons: vec![gaston],
            custom: BTreeMap::from([("boissons".into(), "3".into())]),
            ..Default::default()
        })
        .unwrap();
    sync(&phone);
    sync(&office);

    // The office holds the phone's values, and counts them.
    assert_eq!(
        office.store.person(gaston).unwrap().custom["logement_souhaite"],
        "t2"
    );
    assert_eq!(office.store.encounter(met).unwrap().custom["boissons"], "3");
    let today = office.store.now().date_naive();
    let report = office.store.report(today, today, None).unwrap();
    assert_eq!(
        report.custom_fields["person.logement_souhaite.t2"].current,
        1
    );
    assert_eq!(report.custom_fields["encounter.boissons.sum"].current, 3);
    assert_eq!(
        office.store.index_rows().unwrap(),
        phone.store.index_rows().unwrap()
    );
}
