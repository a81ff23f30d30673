//! Support at home and housing offers: a home recorded with the period it opens, visited, a
//! risk raised and answered, the homes at risk, a home lost opening the next period with its
//! reason; homes and risks edited on two stores and merged; an offer proposed to those it
//! suits (size, wished areas, not housed), refused, then accepted, which fills it; a person's
//! erasure taking their home, risks and proposals.

use allervers_core::{
    Concerns, Edit, Kind, NewApplication, NewEncounter, NewHome, NewHousehold, NewHouseholdMember,
    NewOffer, NewPerson, NewRiskSignal, RecordId, Store, Value,
};

use crate::common::{day, device, on, person, send};

fn home(store: &Store, concerns: Concerns, entered: &str, situation: Option<&str>) -> RecordId {
    store
        .add_home(
            &NewHome {
                concerns,
                landlord: Some("Paris Habitat".into()),
                address: Some("12 rue de Tanger, Paris 19e".into()),
                entered_on: day(entered),
                lease_kind: Some("social_lease".into()),
                notes: None,
            },
            situation,
        )
        .unwrap()
}

fn risk(store: &Store, home: RecordId, risk: &str) -> RecordId {
    store
        .raise_risk(&NewRiskSignal {
            home,
            risk: risk.into(),
            raised_on: None,
            raised_by: Some("le bailleur".into()),
            notes: None,
        })
        .unwrap()
}

fn steps(store: &Store, p: RecordId) -> Vec<String> {
    store
        .journey(p)
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}..{} {}",
                s.situation,
                s.from,
                s.to.map(|d| d.to_string()).unwrap_or_default(),
                s.end_reason.clone().unwrap_or_default()
            )
            .trim()
            .to_string()
        })
        .collect()
}

#[test]
fn a_home_is_visited_its_risks_answered_and_a_lost_home_opens_the_next_period_with_its_reason() {
    let d = device("Poste bureau", "Sophie");
    on(&d, "2026-01-05");
    let samir = d
        .store
        .add_person(&NewPerson {
            name: Some("Samir Haddad".into()),
            situation: Some("hotel".into()),
            ..Default::default()
        })
        .unwrap();
    on(&d, "2026-02-02");
    let h = home(
        &d.store,
        Concerns::Person(samir),
        "2026-02-01",
        Some("social_housing"),
    );
    assert_eq!(
        d.store.person(samir).unwrap().situation.as_deref(),
        Some("social_housing")
    );
    on(&d, "2026-02-10");
    d.store
        .log_encounter(&NewEncounter {
            persons: vec![samir],
            place: Some("domicile".into()),
            kind: Some("home_visit".into()),
            services: vec!["rent_bills".into(), "furnishing".into()],
            ..Default::default()
        })
        .unwrap();
    on(&d, "2026-03-03");
    let arrears = risk(&d.store, h, "rent_arrears");
    let action = d
        .store
        .add_risk_action(
            arrears,
            "Dossier FSL pour les impayés",
            Some(day("2026-03-20")),
            None,
        )
        .unwrap();
    let at_risk = d.store.homes_at_risk().unwrap();
    assert_eq!(at_risk.len(), 1);
    assert_eq!(at_risk[0].home, h);
    assert_eq!(at_risk[0].name, "Samir Haddad");
    assert_eq!(at_risk[0].risks[0].risk.as_deref(), Some("rent_arrears"));
    let view = d.store.home_view(h).unwrap();
    assert_eq!(view.visits.len(), 1);
    assert_eq!(
        view.actions.iter().map(|a| a.id).collect::<Vec<_>>(),
        [action]
    );
    assert_eq!(d.store.action(action).unwrap().signal, Some(arrears));
    d.store
        .resolve_risk(arrears, None, Some("Plan d'apurement signé"))
        .unwrap();
    assert!(d.store.homes_at_risk().unwrap().is_empty());

    on(&d, "2026-04-15");
    risk(&d.store, h, "eviction_planned");
    let street = d
        .store
        .home_lost(
            h,
            day("2026-04-14"),
            "eviction",
            "street",
            Some("gare de l'Est"),
        )
        .unwrap();
    assert!(
        d.store.homes_at_risk().unwrap().is_empty(),
        "a home left is not at risk"
    );
    let home = d.store.home(h).unwrap();
    assert_eq!(home.left_on, Some(day("2026-04-14")));
    assert_eq!(home.left_reason.as_deref(), Some("eviction"));
    assert_eq!(
        d.store.period(street).unwrap().situation.as_deref(),
        Some("street")
    );
    assert_eq!(
        steps(&d.store, samir),
        [
            "hotel 2026-01-05..2026-02-01",
            "social_housing 2026-02-01..2026-04-14 eviction",
            "street 2026-04-14.."
        ]
    );
    assert!(d
        .store
        .raise_risk(&NewRiskSignal {
            home: h,
            risk: "isolation".into(),
            raised_on: None,
            raised_by: None,
            notes: None,
        })
        .is_err());

    let april = d
        .store
        .report(day("2026-04-01"), day("2026-04-30"), None)
        .unwrap();
    assert_eq!(april.homes_lost.current, 1);
    assert_eq!(april.risks["eviction_planned"].current, 1);
    let march = d
        .store
        .report(day("2026-03-01"), day("2026-03-31"), None)
        .unwrap();
    assert_eq!(march.risks["rent_arrears"].current, 1);
    let feb = d
        .store
        .report(day("2026-02-01"), day("2026-02-28"), None)
        .unwrap();
    assert_eq!(feb.home_visits.current, 1);
    assert_eq!(feb.housed.current, 1);
    let timeline = d.store.timeline(samir).unwrap();
    assert!(timeline
        .iter()
        .any(|e| matches!(e.item, allervers_core::TimelineItem::Home { id, .. } if id == h)));
}

#[test]
fn homes_risks_offers_and_proposals_edited_on_two_stores_merge_with_their_conflicts() {
    let a = device("Téléphone A", "Inès");
    let b = device("Poste bureau", "Sophie");
    let p = person(&a.store, "Rose Lambert");
    let h = home(&a.store, Concerns::Person(p), "2026-02-01", None);
    let r = risk(&a.store, h, "isolation");
    let offer = a
        .store
        .add_offer(&NewOffer {
            home_kind: "social_housing".into(),
            rooms: Some(2),
            area: Some("Pantin".into()),
            ..Default::default()
        })
        .unwrap();
    let proposal = a.store.propose(offer, Concerns::Person(p), None).unwrap();
    send(&a.store, &b.store);
    let set = |store: &Store, id, field: &str, value: Value| {
        store.edit(id, &[Edit::Set(field.into(), value)]).unwrap()
    };
    set(
        &a.store,
        h,
        "address",
        Value::Text("12 rue de Tanger".into()),
    );
    set(
        &b.store,
        h,
        "address",
        Value::Text("14 rue de Tanger".into()),
    );
    set(
        &a.store,
        r,
        "notes",
        Value::Text("Ne sort plus depuis l'hiver".into()),
    );
    set(&b.store, r, "raised_by", Value::Text("la gardienne".into()));
    set(&a.store, offer, "rent", Value::Int(480));
    set(&b.store, offer, "rent", Value::Int(495));
    set(
        &b.store,
        proposal,
        "reason",
        Value::Text("Visite prévue jeudi".into()),
    );
    send(&a.store, &b.store);
    send(&b.store, &a.store);
    for store in [&a.store, &b.store] {
        assert_eq!(store.home(h).unwrap().conflicts, ["address"]);
        let signal = store.risk_signal(r).unwrap();
        assert!(signal.conflicts.is_empty());
        assert_eq!(signal.raised_by.as_deref(), Some("la gardienne"));
        assert!(signal.notes.is_some());
        assert_eq!(store.offer(offer).unwrap().conflicts, ["rent"]);
        assert_eq!(
            store.proposal(proposal).unwrap().reason.as_deref(),
            Some("Visite prévue jeudi")
        );
        let kinds: Vec<Kind> = store.conflicts().unwrap().iter().map(|c| c.kind).collect();
        assert!(kinds.contains(&Kind::Home) && kinds.contains(&Kind::HousingOffer));
    }
    assert_eq!(a.store.index_rows().unwrap(), b.store.index_rows().unwrap());
}

#[test]
fn an_offer_is_proposed_to_those_it_suits_and_an_accepted_proposal_fills_it() {
    let d = device("Poste bureau", "Sophie");
    let add = |name: &str, situation: &str, needs: &[&str]| {
        d.store
            .add_person(&NewPerson {
                name: Some(name.into()),
                situation: Some(situation.into()),
                needs: needs.iter().map(|n| n.to_string()).collect(),
                ..Default::default()
            })
            .unwrap()
    };
    let alone = add("Jules Petit", "street", &["housing"]);
    let housed = add("Léon Faure", "social_housing", &["housing"]);
    let elsewhere = add("Inès Marchand", "hotel", &[]);
    let mother = add("Awa Diop", "emergency_shelter", &[]);
    let son = add("Moussa Diop", "emergency_shelter", &[]);
    let family = d
        .store
        .add_household(&NewHousehold {
            label: "Famille Diop".into(),
            unrecorded_members: Some(1),
            ..Default::default()
        })
        .unwrap();
    for (p, relation) in [(mother, "reference"), (son, "child")] {
        d.store
            .join_household(&NewHouseholdMember {
                household: family,
                person: p,
                relation: relation.into(),
                joined_on: Some(day("2026-01-10")),
            })
            .unwrap();
    }
    let apply = |concerns, filed: &str, areas: &str| {
        let id = d
            .store
            .add_application(&NewApplication {
                concerns,
                kind: "social_housing".into(),
                number: None,
                filed_on: Some(day(filed)),
                renew_by: None,
                status: None,
                areas: None,
            })
            .unwrap();
        d.store
            .edit(id, &[Edit::Set("areas".into(), Value::Text(areas.into()))])
            .unwrap();
    };
    apply(Concerns::Household(family), "2025-06-01", "Pantin, Bobigny");
    apply(Concerns::Person(elsewhere), "2025-09-01", "Saint-Denis");

    let studio = d
        .store
        .add_offer(&NewOffer {
            home_kind: "social_housing".into(),
            rooms: Some(1),
            area: Some("Pantin".into()),
            rent: Some(420),
            ..Default::default()
        })
        .unwrap();
    let flat = d
        .store
        .add_offer(&NewOffer {
            home_kind: "social_housing".into(),
            rooms: Some(2),
            area: Some("Pantin, quartier des Courtillières".into()),
            available_from: Some(day("2026-04-01")),
            ..Default::default()
        })
        .unwrap();
    let names = |id| -> Vec<String> {
        d.store
            .offer_view(id)
            .unwrap()
            .candidates
            .into_iter()
            .map(|c| c.name)
            .collect()
    };
    // Three in the family do not fit one room; the one housed and the one wishing for
    // Saint-Denis are not offered Pantin.
    assert_eq!(names(studio), ["Jules Petit"]);
    assert_eq!(names(flat), ["Famille Diop", "Jules Petit"]);
    assert!(!names(flat).contains(&"Léon Faure".to_string()));
    let _ = housed;

    let first = d
        .store
        .propose(flat, Concerns::Household(family), None)
        .unwrap();
    assert!(d
        .store
        .propose(flat, Concerns::Household(family), None)
        .is_err());
    assert_eq!(names(flat), ["Jules Petit"], "proposed once");
    d.store
        .proposal_outcome(
            first,
            "refused_by_landlord",
            Some("Ressources insuffisantes"),
        )
        .unwrap();
    d.clock.advance_ms(86_400_000);
    let second = d
        .store
        .propose(flat, Concerns::Person(alone), None)
        .unwrap();
    d.store.proposal_outcome(second, "accepted", None).unwrap();
    assert_eq!(
        d.store.offer(flat).unwrap().status.as_deref(),
        Some("filled")
    );
    assert!(d
        .store
        .propose(flat, Concerns::Person(housed), None)
        .is_err());
    let open: Vec<RecordId> = d
        .store
        .offers(true)
        .unwrap()
        .into_iter()
        .map(|o| o.offer.id)
        .collect();
    assert_eq!(open, [studio]);
    let view = d.store.offer_view(flat).unwrap();
    assert_eq!(view.proposals.len(), 2);
    assert_eq!(view.proposals[0].name, "Famille Diop");
    assert_eq!(
        view.proposals[0].proposal.reason.as_deref(),
        Some("Ressources insuffisantes")
    );
    let today = d.store.now().date_naive();
    let report = d
        .store
        .report(today - chrono::Duration::days(1), today, None)
        .unwrap();
    assert_eq!(report.proposals["accepted"].current, 1);
    assert_eq!(report.proposals["refused_by_landlord"].current, 1);
}

#[test]
fn an_offer_suits_those_who_need_an_accessible_home_only_when_it_is_accessible() {
    let d = device("Poste bureau", "Sophie");
    let add = |name: &str, needs: &[&str]| {
        d.store
            .add_person(&NewPerson {
                name: Some(name.into()),
                situation: Some("street".into()),
                needs: needs.iter().map(|n| n.to_string()).collect(),
                ..Default::default()
            })
            .unwrap()
    };
    add("Gérard Lefort", &["housing", "accessible_home"]);
    add("Jules Petit", &["housing"]);
    let father = add("Yves Morel", &["accessible_home"]);
    let daughter = add("Léa Morel", &["housing"]);
    let family = d
        .store
        .add_household(&NewHousehold {
            label: "Famille Morel".into(),
            ..Default::default()
        })
        .unwrap();
    for (p, relation) in [(father, "parent"), (daughter, "reference")] {
        d.store
            .join_household(&NewHouseholdMember {
                household: family,
                person: p,
                relation: relation.into(),
                joined_on: Some(day("2026-01-10")),
            })
            .unwrap();
    }
    d.store
        .add_application(&NewApplication {
            concerns: Concerns::Household(family),
            kind: "social_housing".into(),
            number: None,
            filed_on: Some(day("2026-01-12")),
            renew_by: None,
            status: None,
            areas: None,
        })
        .unwrap();
    let offer = |accessible| {
        d.store
            .add_offer(&NewOffer {
                home_kind: "social_housing".into(),
                rooms: Some(2),
                accessible,
                ..Default::default()
            })
            .unwrap()
    };
    let upstairs = offer(Some(false));
    let unsaid = offer(None);
    let ground_floor = offer(Some(true));
    let suits = |id| -> Vec<(String, bool)> {
        d.store
            .offer_view(id)
            .unwrap()
            .candidates
            .into_iter()
            .map(|c| (c.name, c.accessible))
            .collect()
    };
    for id in [upstairs, unsaid] {
        assert_eq!(suits(id), [("Jules Petit".to_string(), false)]);
    }
    assert_eq!(
        suits(ground_floor),
        [
            ("Famille Morel".to_string(), true),
            ("Gérard Lefort".to_string(), true),
            ("Jules Petit".to_string(), false)
        ]
    );
    let counted: std::collections::BTreeMap<RecordId, usize> = d
        .store
        .offers(true)
        .unwrap()
        .iter()
        .map(|o| (o.offer.id, o.candidates))
        .collect();
    assert_eq!(
        counted,
        [(upstairs, 1), (unsaid, 1), (ground_floor, 3)].into()
    );
}

#[test]
fn erasing_a_person_erases_their_home_its_risks_and_their_proposals() {
    let d = device("Poste bureau", "Sophie");
    let p = person(&d.store, "Victor Garnier");
    let other = person(&d.store, "Lina Garnier");
    let h = home(
        &d.store,
        Concerns::Person(p),
        "2026-02-01",
        Some("private_housing"),
    );
    risk(&d.store, h, "neighbour_conflict");
    let offer = d
        .store
        .add_offer(&NewOffer {
            home_kind: "social_housing".into(),
            ..Default::default()
        })
        .unwrap();
    d.store.propose(offer, Concerns::Person(p), None).unwrap();
    let kept = home(&d.store, Concerns::Person(other), "2026-02-01", None);
    d.store
        .erase_person(p, "demande de la personne", false)
        .unwrap();
    let blob = format!("{:?}", rusqlite::types::Value::Blob(p.as_bytes().to_vec()));
    assert!(!d
        .store
        .index_rows()
        .unwrap()
        .iter()
        .any(|r| r.contains(&blob)));
    assert!(d.store.home(h).is_err());
    assert!(d.store.homes_at_risk().unwrap().is_empty());
    assert_eq!(d.store.offer_view(offer).unwrap().proposals.len(), 0);
    assert_eq!(
        d.store
            .homes(None)
            .unwrap()
            .iter()
            .map(|h| h.id)
            .collect::<Vec<_>>(),
        [kept]
    );
}

#[test]
fn the_persons_own_view_is_recorded_after_a_step_and_reported_in_aggregate_only() {
    use allervers_core::{CustomField, CustomType, NewOwnView};
    let d = device("Poste bureau", "Sophie");
    d.store
        .define_field(&CustomField {
            kind: Kind::OwnView,
            name: "accompagnement_adapte".into(),
            ty: CustomType::YesNo,
            fr: "L'accompagnement vous a-t-il convenu ?".into(),
            en: None,
            min: None,
            max: None,
            choices: Vec::new(),
            sensitive: false,
            retired: false,
        })
        .unwrap();
    let a = person(&d.store, "Hugo Bertrand");
    let b = person(&d.store, "Zoé Mercier");
    let view = |p, step: &str, satisfaction, answer: &str| NewOwnView {
        person: p,
        step: step.into(),
        on: None,
        satisfaction: Some(satisfaction),
        what_helped: Some("La visite chaque semaine".into()),
        what_missing: Some("Un lave-linge".into()),
        own_words: Some("Je dors enfin au chaud.".into()),
        answers: [("accompagnement_adapte".to_string(), answer.to_string())].into(),
    };
    let first = d
        .store
        .record_own_view(&view(a, "home_found", 5, "yes"))
        .unwrap();
    d.store
        .record_own_view(&view(b, "six_months_in_home", 3, "no"))
        .unwrap();
    assert!(d
        .store
        .record_own_view(&view(a, "home_found", 7, "yes"))
        .is_err());
    assert!(d
        .store
        .record_own_view(&view(a, "home_found", 4, "peut-être"))
        .is_err());
    let views = d.store.own_views(a).unwrap();
    assert_eq!(views.len(), 1);
    assert_eq!(
        views[0].own_words.as_deref(),
        Some("Je dors enfin au chaud.")
    );
    assert_eq!(views[0].answers["accompagnement_adapte"], "yes");
    let today = d.store.now().date_naive();
    let report = d.store.report(today, today, None).unwrap();
    assert_eq!(report.own_views["home_found"].current, 1);
    assert_eq!(report.own_views["six_months_in_home"].current, 1);
    assert_eq!(report.satisfaction["5"].current, 1);
    assert_eq!(report.satisfaction["3"].current, 1);
    assert_eq!(
        report.custom_fields["own_view.accompagnement_adapte.yes"].current,
        1
    );
    // No words in the report: aggregates only.
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("chaud") && !json.contains("lave-linge"));
    assert!(d.store.timeline(a).unwrap().iter().any(
        |e| matches!(e.item, allervers_core::TimelineItem::OwnView { id, .. } if id == first)
    ));
    d.store
        .erase_person(a, "demande de la personne", false)
        .unwrap();
    assert!(d.store.own_view(first).is_err());
}
