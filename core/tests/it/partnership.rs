//! Consent-scoped sharing with a partner: the office publishes, in a partnership store joined to
//! the partnership's own space, a projection of each person holding only the categories they
//! consented to share with that partner; the partner's devices read it and write the shared
//! assessment; a withdrawal erases the projection on every device and at the relay, and the
//! partner's devices acknowledge it. Relays are the in-memory relay of `trust_attacks.rs`.

use allervers_core::{
    fuzzing, AccessQuery, CoreError, Edit, Kind, NewAction, NewEncounter, NewPerson, NewReferral,
    RecordId, Store, Value, Via,
};
use automerge::transaction::Transactable;
use automerge::{ScalarValue, ROOT};
use chrono::NaiveDate;

use crate::common::{consent, device, Device};
use crate::pages;
use crate::trust_attacks::Relay;

const A_NAME: &str = "Baptiste Morel";
const A_PHONE: &str = "06 12 34 56 78";
const A_NOTES: &str = "dort sous le porche de la rue des Lilas";
const B_NAME: &str = "Clémence Roux";

/// The team (the office, a worker), the office's partnership store for the SIAO (founder of the
/// partnership space) and a SIAO device in it; person A (who consents to some categories) and
/// person B (who consents to nothing), both known to the office.
pub(crate) struct Setting {
    team: Relay,
    pub(crate) space: Relay,
    pub(crate) office: Device,
    worker: Device,
    pub(crate) office_siao: Device,
    pub(crate) siao: Device,
    pub(crate) a: RecordId,
    pub(crate) b: RecordId,
}

fn partnership_device(name: &str, worker: &str) -> Device {
    let d = device(name, worker);
    d.store.make_partnership_store("siao").unwrap();
    d
}

pub(crate) fn setting() -> Setting {
    let office = device("Bureau", "Nadia");
    let worker = device("Téléphone 1", "Karim");
    let team = Relay::create(&office, "Maraude Nord");
    team.invite(&office, &worker);
    let a = worker
        .store
        .add_person(&NewPerson {
            name: Some(A_NAME.into()),
            nickname: Some("Le Marin".into()),
            phone: Some(A_PHONE.into()),
            birth_year: Some(1979),
            languages: vec!["français".into(), "breton".into()],
            situation: Some("street".into()),
            on_street_since: NaiveDate::from_ymd_opt(2024, 11, 3),
            alert_level: Some("watch".into()),
            ..Default::default()
        })
        .unwrap();
    let b = worker
        .store
        .add_person(&NewPerson {
            name: Some(B_NAME.into()),
            phone: Some("07 98 76 54 32".into()),
            ..Default::default()
        })
        .unwrap();
    worker
        .store
        .log_encounter(&NewEncounter {
            persons: vec![a, b],
            place: Some("rue des Lilas".into()),
            notes: Some(A_NOTES.into()),
            ..Default::default()
        })
        .unwrap();
    worker
        .store
        .add_referral(&NewReferral {
            person: a,
            target: "siao_115".into(),
            target_name: Some("SIAO du Nord".into()),
            date: NaiveDate::from_ymd_opt(2026, 2, 20),
            status: None,
            household: None,
        })
        .unwrap();
    // A referral that reveals health never reaches a partner.
    worker
        .store
        .add_referral(&NewReferral {
            person: a,
            target: "psychiatry_cmp".into(),
            target_name: Some("CMP Wazemmes".into()),
            date: NaiveDate::from_ymd_opt(2026, 2, 21),
            status: None,
            household: None,
        })
        .unwrap();
    worker
        .store
        .add_action(&NewAction {
            person: a,
            title: "Dossier de demande de logement social".into(),
            category: "housing_application".into(),
            due_at: NaiveDate::from_ymd_opt(2026, 4, 1),
            assigned_to: None,
        })
        .unwrap();
    team.settle(&[&worker, &office]);

    let office_siao = partnership_device("Bureau", "Nadia");
    let siao = partnership_device("Poste SIAO", "Hélène");
    let space = Relay::create(&office_siao, "siao");
    space.invite(&office_siao, &siao);
    space.settle(&[&office_siao, &siao]);
    Setting {
        team,
        space,
        office,
        worker,
        office_siao,
        siao,
        a,
        b,
    }
}

pub(crate) fn consents(store: &Store, person: RecordId, categories: &[&str], given: bool) {
    let decisions: Vec<_> = categories
        .iter()
        .map(|c| consent(person, c, given))
        .collect();
    store.record_consents(&decisions).unwrap();
}

/// The office publishes, then the partnership space settles (the office once more, so that
/// what the partner's devices sent last reaches it).
fn publish_and_settle(s: &Setting) -> allervers_core::partnership::Publication {
    let out = s
        .office
        .store
        .publish(&s.office_siao.store, None, Via::Cli)
        .unwrap();
    s.space.settle(&[&s.office_siao, &s.siao]);
    s.space.sync(&s.office_siao).unwrap();
    out
}

#[test]
fn a_team_store_holds_no_projection_and_a_partnership_store_holds_nothing_else() {
    let team = device("Bureau", "Nadia");
    let p = team
        .store
        .add_person(&NewPerson {
            name: Some(A_NAME.into()),
            ..Default::default()
        })
        .unwrap();
    assert!(team.store.make_partnership_store("siao").is_err());
    assert!(team.store.projections().is_err());

    let siao = partnership_device("Poste SIAO", "Hélène");
    assert_eq!(siao.store.partner().unwrap(), "siao");
    assert!(matches!(
        siao.store.add_person(&NewPerson {
            name: Some(B_NAME.into()),
            ..Default::default()
        }),
        Err(CoreError::InvalidInput { .. })
    ));
    assert!(siao.store.make_health_store().is_err());
    // A partner code names a folder: nothing else is taken for one.
    assert!(device("x", "y")
        .store
        .make_partnership_store("../siao")
        .is_err());
    // Publishing goes from a team's store to a partnership store, never the other way.
    assert!(siao.store.publish(&team.store, Some(p), Via::Cli).is_err());
    let Device {
        store, path, key, ..
    } = siao;
    drop(store);
    assert_eq!(Store::open(&path, &key).unwrap().partner().unwrap(), "siao");
}

#[test]
fn a_partner_sees_exactly_the_consented_categories_and_nothing_of_others() {
    let s = setting();
    // A shares their situation and the assessment, not their identity; B consents to nothing
    // (and refuses the SIAO outright).
    consents(
        &s.worker.store,
        s.a,
        &[
            "situation_journey",
            "housing_application",
            "shared_assessment",
        ],
        true,
    );
    consents(&s.worker.store, s.a, &["identity_contact"], false);
    consents(&s.worker.store, s.b, &["identity_contact"], false);
    s.team.settle(&[&s.worker, &s.office]);

    let out = publish_and_settle(&s);
    assert_eq!(out.published.len(), 1);
    assert_eq!(out.published[0].person, s.a);

    let seen = s.siao.store.projections().unwrap();
    assert_eq!(seen.len(), 1, "one projection: A's, none of B");
    let p = &seen[0];
    assert_ne!(
        p.id, s.a,
        "the projection does not carry the team's person id"
    );
    assert_eq!(
        p.categories,
        [
            "situation_journey",
            "housing_application",
            "shared_assessment"
        ]
    );
    assert_eq!(p.name, None);
    assert_eq!(p.nickname, None);
    assert_eq!(p.phone, None);
    assert_eq!(p.birth_year, None);
    assert_eq!(p.languages, None);
    assert_eq!(p.situation.as_deref(), Some("street"));
    assert_eq!(p.on_street_since, NaiveDate::from_ymd_opt(2024, 11, 3));
    let referrals = p.referrals.as_deref().unwrap();
    assert!(referrals.contains("siao_115") && referrals.contains("SIAO du Nord"));
    assert!(!referrals.contains("psychiatry_cmp") && !referrals.contains("CMP"));
    assert!(p
        .housing_actions
        .as_deref()
        .unwrap()
        .contains("Dossier de demande de logement social"));
    assert!(p.assessment.is_some());

    // Nothing else reached the partner's store file: not B's name, not A's name or phone, not
    // the encounter's notes, not the alert level.
    let plain = pages::store_plaintext(&s.siao.path, s.siao.key.as_bytes());
    for absent in [
        B_NAME,
        A_NAME,
        A_PHONE,
        "Le Marin",
        "rue des Lilas",
        A_NOTES,
        "CMP Wazemmes",
    ] {
        assert!(
            !pages::contains(&plain, absent),
            "{absent} reached the partner"
        );
    }
    assert!(pages::contains(&plain, "SIAO du Nord"));

    // The publication is in the team's access log, with the partner and the categories, and
    // in the person's dossier.
    let log = s
        .office
        .store
        .access_log(&AccessQuery {
            person: Some(s.a),
            ..Default::default()
        })
        .unwrap();
    let publication = log.iter().find(|e| e.what == "publication").unwrap();
    assert_eq!(publication.partner.as_deref(), Some("siao"));
    assert_eq!(
        publication.categories,
        [
            "situation_journey",
            "housing_application",
            "shared_assessment"
        ]
    );
    let dossier = s.office.store.dossier(s.a, Via::Cli).unwrap();
    assert_eq!(dossier.sharing.partners.len(), 1);
    assert_eq!(dossier.sharing.partners[0].partner, "siao");
    assert!(s
        .office
        .store
        .dossier(s.b, Via::Cli)
        .unwrap()
        .sharing
        .partners
        .is_empty());

    // Publishing again with nothing changed writes nothing; a change in the team's file is
    // written, field by field.
    let again = publish_and_settle(&s);
    assert!(again.published.is_empty());
    assert_eq!(again.unchanged, 1);
    s.office
        .store
        .edit(
            s.a,
            &[allervers_core::Edit::Set(
                "situation".into(),
                allervers_core::Value::Code("squat".into()),
            )],
        )
        .unwrap();
    let changed = publish_and_settle(&s);
    assert_eq!(changed.published.len(), 1);
    // The situation, and the journey it adds a step to.
    assert_eq!(changed.published[0].fields, 2);
    assert!(!changed.published[0].new);
    assert_eq!(
        s.siao.store.projection(p.id).unwrap().situation.as_deref(),
        Some("squat")
    );

    // A partner may not write a field of a category the person did not consent to.
    assert!(s.siao.store.edit_projection(p.id, "phone", "01").is_err());
    assert!(s
        .siao
        .store
        .edit_projection(p.id, "situation", "emergency_shelter")
        .is_ok());
}

#[test]
fn both_sides_write_the_shared_assessment_and_the_office_sees_the_partners_edits() {
    let s = setting();
    consents(
        &s.office.store,
        s.a,
        &["identity_contact", "shared_assessment"],
        true,
    );
    publish_and_settle(&s);
    let id = s.siao.store.projections().unwrap()[0].id;
    s.siao
        .store
        .edit_assessment(id, "housing_sought", "pension de famille")
        .unwrap();
    s.office_siao
        .store
        .edit_assessment(id, "own_words", "je veux un endroit calme")
        .unwrap();
    s.space.settle(&[&s.siao, &s.office_siao]);
    for d in [&s.office_siao, &s.siao] {
        let a = d.store.projection(id).unwrap().assessment.unwrap();
        assert_eq!(a.housing_sought.as_deref(), Some("pension de famille"));
        assert_eq!(a.own_words.as_deref(), Some("je veux un endroit calme"));
        // Its history says who wrote what.
        let history = d.store.history(a.id).unwrap();
        assert!(history
            .iter()
            .any(|h| h.author.worker.as_deref() == Some("Hélène")));
    }
    // A partner's edit of the projection reaches the office, and the next publication keeps it
    // while the team's value has not changed.
    s.siao
        .store
        .edit_projection(id, "phone", "06 00 00 00 01")
        .unwrap();
    s.space.settle(&[&s.siao, &s.office_siao]);
    assert_eq!(
        s.office_siao.store.projection(id).unwrap().phone.as_deref(),
        Some("06 00 00 00 01")
    );
    publish_and_settle(&s);
    assert_eq!(
        s.siao.store.projection(id).unwrap().phone.as_deref(),
        Some("06 00 00 00 01")
    );
    // Reading a projection is logged in the partnership's access log.
    s.siao.store.open_projection(id, Via::Cli).unwrap();
}

#[test]
fn a_withdrawal_erases_the_projection_everywhere_and_the_partner_acknowledges_it() {
    let s = setting();
    s.office.store.set_worker("Nadia").unwrap();
    consents(
        &s.office.store,
        s.a,
        &["identity_contact", "situation_journey", "shared_assessment"],
        true,
    );
    publish_and_settle(&s);
    let old = s.siao.store.projections().unwrap()[0].clone();
    assert_eq!(old.phone.as_deref(), Some(A_PHONE));
    s.siao
        .store
        .edit_assessment(old.id, "needs", "un logement adapté au chien")
        .unwrap();
    s.space.settle(&[&s.siao, &s.office_siao]);
    let keys_before = fuzzing::record_keys_held(&s.siao.store).unwrap();
    let envelopes_before = s.space.envelopes.borrow().len();

    // A withdraws their identity: the projection goes, a fresh one with what remains comes.
    // (A later decision the same day: its record id, time-ordered, says it is the latest.)
    s.office.clock.advance_ms(60_000);
    consents(&s.office.store, s.a, &["identity_contact"], false);
    let out = publish_and_settle(&s);
    assert_eq!(out.erased, 1);
    assert_eq!(out.published.len(), 1);
    assert!(out.published[0].new);
    let now = s.siao.store.projections().unwrap();
    assert_eq!(now.len(), 1);
    assert_ne!(now[0].id, old.id, "a fresh projection");
    assert_eq!(
        now[0].categories,
        ["situation_journey", "shared_assessment"]
    );
    assert_eq!(now[0].phone, None);
    assert_eq!(now[0].name, None);
    for d in [&s.siao, &s.office_siao] {
        assert!(d.store.is_erased(old.id).unwrap());
        assert!(d.store.projection(old.id).is_err());
        let plain = pages::store_plaintext(&d.path, d.key.as_bytes());
        for gone in [A_PHONE, A_NAME, "un logement adapté au chien"] {
            assert!(!pages::contains(&plain, gone), "{gone} survived");
        }
    }
    // The relay deleted the envelopes of what was erased: no envelope it holds opens with the
    // record keys the partner's device lost.
    let keys_after = fuzzing::record_keys_held(&s.siao.store).unwrap();
    let lost: Vec<_> = keys_before
        .iter()
        .filter(|k| !keys_after.contains(k))
        .collect();
    assert!(
        lost.len() >= 2,
        "the projection's and the assessment's keys"
    );
    for stored in s.space.envelopes.borrow().iter() {
        for key in &lost {
            assert!(!fuzzing::opens_with_record_key(&stored.envelope, key));
        }
    }
    assert!(s.space.envelopes.borrow().len() < envelopes_before + 3);

    // The partner's device acknowledged the order, and the office sees it.
    let status = s.office_siao.store.partnership_status().unwrap();
    assert_eq!(status.partner, "siao");
    assert_eq!(status.projections.len(), 1);
    assert_eq!(status.unposted_orders, 0);
    assert_eq!(status.orders.len(), 1);
    let siao_id = s.siao.store.identity().device.to_string();
    assert_eq!(status.orders[0].acknowledged_by, [siao_id]);
    assert!(status.orders[0].waiting_for.is_empty());

    // Withdrawing everything leaves nothing at the partner's.
    s.office.clock.advance_ms(60_000);
    consents(
        &s.office.store,
        s.a,
        &["situation_journey", "shared_assessment"],
        false,
    );
    let out = publish_and_settle(&s);
    assert_eq!(out.erased, 1);
    assert!(s.siao.store.projections().unwrap().is_empty());
    assert_eq!(
        s.office_siao.store.partnership_status().unwrap().orders[1].acknowledged_by,
        [s.siao.store.identity().device.to_string()]
    );
}

#[test]
fn erasing_a_person_from_the_team_erases_their_projection_at_every_partner() {
    let s = setting();
    consents(&s.office.store, s.a, &["identity_contact"], true);
    publish_and_settle(&s);
    let id = s.siao.store.projections().unwrap()[0].id;
    s.office
        .store
        .erase_person(s.a, "demande de la personne", false)
        .unwrap();
    assert_eq!(
        s.office
            .store
            .unpublish_erased(&s.office_siao.store)
            .unwrap(),
        1
    );
    assert_eq!(
        s.office
            .store
            .unpublish_erased(&s.office_siao.store)
            .unwrap(),
        0
    );
    s.space.settle(&[&s.office_siao, &s.siao]);
    assert!(s.siao.store.projections().unwrap().is_empty());
    assert!(s.siao.store.is_erased(id).unwrap());
    let plain = pages::store_plaintext(&s.siao.path, s.siao.key.as_bytes());
    assert!(!pages::contains(&plain, A_NAME));
}

#[test]
fn no_key_a_partners_device_holds_opens_a_team_envelope() {
    let s = setting();
    consents(&s.office.store, s.a, &["identity_contact"], true);
    publish_and_settle(&s);
    let partner_keys = fuzzing::space_keys_held(&s.siao.store).unwrap();
    assert!(!partner_keys.is_empty());
    let record_keys = fuzzing::record_keys_held(&s.siao.store).unwrap();
    let envelopes = s.team.envelopes.borrow();
    assert!(!envelopes.is_empty());
    for stored in envelopes.iter() {
        for (_, key) in &partner_keys {
            assert!(!fuzzing::opens_with_space_key(&stored.envelope, key));
        }
        for key in &record_keys {
            assert!(!fuzzing::opens_with_record_key(&stored.envelope, key));
        }
    }
    // And the partner's device is no member of the team: it has no membership there.
    assert_eq!(
        s.siao.store.membership().unwrap().unwrap().space,
        s.space.space
    );
    assert_eq!(
        s.siao
            .store
            .kind_of(s.siao.store.projections().unwrap()[0].id)
            .unwrap(),
        Kind::Projection
    );
}

/// The team's restricted devices: a partnership space of the office's, `restricted`, where
/// every person on the active list is published with their identity and situation only; no
/// consent is asked (the team's own people), no health, notes, alert level, referral or action
/// ever, and a person taken off the active list leaves the restricted devices.
#[test]
fn restricted_devices_see_who_is_who_and_nothing_sensitive() {
    let s = setting();
    let office_restricted = device("Bureau", "Nadia");
    office_restricted
        .store
        .make_partnership_store(allervers_core::partnership::RESTRICTED)
        .unwrap();
    let volunteer = device("Téléphone bénévole", "Gilles");
    volunteer
        .store
        .make_partnership_store(allervers_core::partnership::RESTRICTED)
        .unwrap();
    let space = Relay::create(&office_restricted, allervers_core::partnership::RESTRICTED);
    space.invite(&office_restricted, &volunteer);
    space.settle(&[&office_restricted, &volunteer]);

    let out = s
        .office
        .store
        .publish(&office_restricted.store, None, Via::Cli)
        .unwrap();
    assert_eq!(
        out.published.len(),
        2,
        "both persons, with no consent asked"
    );
    space.settle(&[&office_restricted, &volunteer]);
    let seen = volunteer.store.projections().unwrap();
    assert_eq!(seen.len(), 2);
    let a = seen
        .iter()
        .find(|p| p.name.as_deref() == Some(A_NAME))
        .expect("A is listed");
    assert_eq!(a.situation.as_deref(), Some("street"));
    assert!(a.referrals.is_none() && a.housing_actions.is_none());
    let plain = pages::store_plaintext(&volunteer.path, volunteer.key.as_bytes());
    for secret in [A_NOTES, "CMP Wazemmes", "watch", "Dossier de demande"] {
        assert!(
            !pages::contains(&plain, secret),
            "{secret} reached a restricted device"
        );
    }

    // B leaves the active list: their projection leaves the restricted devices.
    s.office
        .store
        .edit(
            s.b,
            &[allervers_core::Edit::Set(
                "status".into(),
                allervers_core::Value::Code("inactive".into()),
            )],
        )
        .unwrap();
    s.office
        .store
        .publish(&office_restricted.store, None, Via::Cli)
        .unwrap();
    space.settle(&[&office_restricted, &volunteer]);
    let names: Vec<_> = volunteer
        .store
        .projections()
        .unwrap()
        .into_iter()
        .filter_map(|p| p.name)
        .collect();
    assert_eq!(names, vec![A_NAME.to_string()]);
}

/// A partner's device running a modified app moves the shared assessment of A (who consented to
/// one) onto the projection of B (who did not): its own store refuses the edit, and the change
/// it forges anyway is set aside by the office, which keeps showing the assessment where it was.
#[test]
fn a_partner_cannot_move_an_assessment_onto_a_person_who_did_not_consent_to_one() {
    let s = setting();
    consents(
        &s.office.store,
        s.a,
        &["identity_contact", "shared_assessment"],
        true,
    );
    consents(&s.office.store, s.b, &["identity_contact"], true);
    publish_and_settle(&s);
    let of = |name: &str| {
        s.siao
            .store
            .projections()
            .unwrap()
            .into_iter()
            .find(|p| p.name.as_deref() == Some(name))
            .unwrap()
    };
    let (pa, pb) = (of(A_NAME), of(B_NAME));
    let assessment = pa.assessment.clone().unwrap().id;
    assert!(pb.assessment.is_none());
    s.siao
        .store
        .edit_assessment(pa.id, "own_words", "un studio près de la gare")
        .unwrap();
    s.space.settle(&[&s.siao, &s.office_siao]);

    let moved = Edit::Set("projection".into(), Value::Ref(pb.id));
    let refused = s.siao.store.edit(assessment, &[moved]).unwrap_err();
    assert!(refused.to_string().contains("projection"), "{refused}");
    let envelope = crate::secrecy_attacks::forged(&s.siao, assessment, |doc| {
        doc.put(
            ROOT,
            "projection",
            ScalarValue::Str(pb.id.to_string().into()),
        )
        .unwrap();
    });
    s.space.push(vec![envelope]);
    let synced = s.space.sync(&s.office_siao).unwrap();
    assert_eq!(synced.quarantined, 1);
    let office_b = s.office_siao.store.projection(pb.id).unwrap();
    assert!(
        office_b.assessment.is_none(),
        "B's projection has no assessment"
    );
    let office_a = s.office_siao.store.projection(pa.id).unwrap();
    assert_eq!(
        office_a.assessment.unwrap().own_words.as_deref(),
        Some("un studio près de la gare")
    );
}

/// A partner's device that carried out an erasure order writes an acknowledgement naming
/// another partner device, which never received the order: the office counts it for its author
/// only, and still waits for the other device.
#[test]
fn an_erasure_acknowledgement_counts_for_its_author_whatever_device_it_names() {
    let s = setting();
    let other = partnership_device("Poste SIAO 2", "Loïc");
    s.space.invite(&s.office_siao, &other);
    s.space.settle(&[&s.office_siao, &s.siao, &other]);
    consents(&s.office.store, s.a, &["identity_contact"], true);
    publish_and_settle(&s);
    s.space.sync(&other).unwrap();
    s.office.clock.advance_ms(60_000);
    consents(&s.office.store, s.a, &["identity_contact"], false);
    s.office
        .store
        .publish(&s.office_siao.store, None, Via::Cli)
        .unwrap();
    s.space.sync(&s.office_siao).unwrap();
    s.space.sync(&s.office_siao).unwrap();
    // Only the first partner device syncs: it carries out the order and acknowledges it.
    s.space.sync(&s.siao).unwrap();
    let orders = s.office_siao.store.partnership_status().unwrap().orders;
    assert_eq!(orders.len(), 1, "{orders:?}");
    let order = orders[0].order;
    let (_, envelope) = crate::health_attacks::forged_creation(
        &s.siao,
        &[
            ("kind".into(), ScalarValue::Str("erasure_ack".into())),
            (
                "created_at".into(),
                ScalarValue::Timestamp(s.siao.store.now().timestamp_millis()),
            ),
            ("order".into(), ScalarValue::Int(order as i64)),
            (
                "device".into(),
                ScalarValue::Str(other.store.identity().device.to_string().into()),
            ),
            (
                "at".into(),
                ScalarValue::Timestamp(s.siao.store.now().timestamp_millis()),
            ),
        ],
    );
    s.space.push(vec![envelope]);
    s.space.sync(&s.siao).unwrap();
    s.space.sync(&s.office_siao).unwrap();
    let status = s.office_siao.store.partnership_status().unwrap();
    let (siao, other_id) = (
        s.siao.store.identity().device.to_string(),
        other.store.identity().device.to_string(),
    );
    assert_eq!(status.orders[0].acknowledged_by, [siao]);
    assert_eq!(status.orders[0].waiting_for, [other_id]);
}

/// A duplicate merged at the office is published as the person it was merged into, under the
/// consent of both records: a refusal on either withdraws what the other consented to share.
#[test]
fn a_merged_duplicate_is_shared_as_one_person_and_a_refusal_on_either_record_wins() {
    let s = setting();
    consents(&s.office.store, s.a, &["identity_contact"], true);
    consents(&s.office.store, s.b, &["identity_contact"], true);
    let first = publish_and_settle(&s);
    assert_eq!(s.siao.store.projections().unwrap().len(), 2);
    assert!(first.erased == 0);

    // B is A recorded twice: merged, B's own projection is withdrawn, A's stays.
    s.office.store.merge_persons(s.a, s.b).unwrap();
    let merged = publish_and_settle(&s);
    assert_eq!(merged.erased, 1, "B's projection withdrawn");
    assert_eq!(s.siao.store.projections().unwrap().len(), 1);

    // The next day, B's record refuses to share: the merged person is no longer shared at all.
    s.office
        .clock
        .set(s.office.store.now() + chrono::Duration::days(1));
    consents(&s.office.store, s.b, &["identity_contact"], false);
    publish_and_settle(&s);
    assert!(s.siao.store.projections().unwrap().is_empty());
}

#[test]
fn a_partner_sees_the_consented_journey_and_applications_but_never_a_period_in_hospital_or_prison()
{
    let s = setting();
    let period = |situation: &str, from: (i32, u32, u32), place: &str| allervers_core::NewPeriod {
        concerns: allervers_core::Concerns::Person(s.a),
        situation: situation.into(),
        started_on: NaiveDate::from_ymd_opt(from.0, from.1, from.2).unwrap(),
        ended_on: None,
        place: Some(place.into()),
        end_reason: None,
        notes: None,
    };
    let w = &s.worker.store;
    w.add_period(
        &period("emergency_shelter", (2026, 1, 5), "CHU Saint-Sauveur"),
        None,
    )
    .unwrap();
    w.add_period(
        &period("hospital", (2026, 1, 20), "Hôpital Saint-Vincent"),
        None,
    )
    .unwrap();
    w.add_period(
        &period("prison", (2026, 2, 1), "Maison d'arrêt de Sequedin"),
        None,
    )
    .unwrap();
    w.add_period(
        &period(
            "residence_sociale",
            (2026, 2, 25),
            "Résidence Les Tisserands",
        ),
        None,
    )
    .unwrap();
    w.add_application(&allervers_core::NewApplication {
        concerns: allervers_core::Concerns::Person(s.a),
        kind: "social_housing".into(),
        number: Some("059022600017".into()),
        filed_on: NaiveDate::from_ymd_opt(2026, 2, 10),
        renew_by: None,
        status: None,
        areas: None,
    })
    .unwrap();
    consents(w, s.a, &["situation_journey", "housing_application"], true);
    s.team.settle(&[&s.worker, &s.office]);
    publish_and_settle(&s);

    let seen = s.siao.store.projections().unwrap();
    assert_eq!(seen.len(), 1);
    let journey = seen[0].journey.clone().unwrap();
    assert!(
        journey.contains("emergency_shelter 2026-01-05"),
        "{journey}"
    );
    assert!(
        journey.contains("residence_sociale 2026-02-25"),
        "{journey}"
    );
    assert!(journey.contains("Résidence Les Tisserands"), "{journey}");
    for hidden in ["hospital", "Hôpital", "prison", "Sequedin"] {
        assert!(!journey.contains(hidden), "{hidden} in {journey}");
    }
    assert_eq!(seen[0].situation.as_deref(), Some("residence_sociale"));
    let apps = seen[0].housing_applications.clone().unwrap();
    assert_eq!(apps, "social_housing 059022600017 2026-02-10 — filed");

    // The person in prison now: their situation is not shared, their journey stops before it.
    w.add_period(
        &period("prison", (2026, 3, 1), "Maison d'arrêt de Sequedin"),
        None,
    )
    .unwrap();
    s.team.settle(&[&s.worker, &s.office]);
    publish_and_settle(&s);
    let seen = s.siao.store.projections().unwrap();
    assert_eq!(seen[0].situation, None);
    assert!(!seen[0]
        .journey
        .clone()
        .unwrap_or_default()
        .contains("prison"));
}
