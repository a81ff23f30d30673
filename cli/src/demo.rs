//! `allervers demo`: a scripted field day on temporary stores, for a newcomer's first run.
//! Two workers' phones log contacts apart, merge through sealed bundle files, a conflict is shown
//! and resolved, and one person's merged timeline is printed; weeks later, a household sleeping
//! in a car is housed and gets its first home visit. All names are fictitious.

use std::sync::Arc;

use allervers_core::vocab::Lang;
use allervers_core::{
    Clock, Concerns, Edit, ManualClock, NewAction, NewApplication, NewEncounter, NewHome,
    NewHousehold, NewHouseholdMember, NewPeriod, NewPerson, NewReferral, RawKey, Store,
    StoreOptions, Value,
};
use anyhow::Result;
use chrono::{Duration, TimeZone, Utc};

use crate::render;

fn step(title: &str) {
    println!("\n== {title}");
}

pub fn run(lang: Lang) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let start = Utc
        .with_ymd_and_hms(2026, 1, 14, 8, 30, 0)
        .single()
        .expect("valid date");
    let clock_a = Arc::new(ManualClock::new(start));
    let clock_b = Arc::new(ManualClock::new(start));
    println!("allervers demo: a winter day of the maraude nord (fictitious data, temporary stores in {})", dir.path().display());

    step("Morning at the office: two phones, each with its own encrypted store");
    let amina = Store::create_with(
        &dir.path().join("amina.db"),
        &RawKey::generate(),
        "Téléphone maraude 1",
        "Amina",
        StoreOptions::with_clock(clock_a.clone()),
    )?;
    let julien = Store::create_with(
        &dir.path().join("julien.db"),
        &RawKey::generate(),
        "Téléphone maraude 2",
        "Julien",
        StoreOptions::with_clock(clock_b.clone()),
    )?;
    println!(
        "Amina's phone: device {}   Julien's phone: device {}",
        amina.identity().device.short(),
        julien.identity().device.short()
    );

    let karim = amina.add_person(&NewPerson {
        name: Some("Karim".into()),
        nickname: Some("le Grand".into()),
        situation: Some("street".into()),
        needs: vec!["housing".into()],
        description: Some("Grand, bonnet rouge, chien noir".into()),
        consent_record: Some(true),
        ..Default::default()
    })?;
    let fatou = amina.add_person(&NewPerson {
        name: Some("Fatou".into()),
        situation: Some("car".into()),
        ..Default::default()
    })?;
    amina.add_action(&NewAction {
        person: karim,
        title: "Appeler le 115 pour une place avec chien".into(),
        category: "siao_referral".into(),
        due_at: Some((start + Duration::days(1)).date_naive()),
        assigned_to: Some("Julien".into()),
    })?;
    let passphrase = "demo: phrase de passe du bundle";
    let morning = dir.path().join("morning.bundle");
    std::fs::write(&morning, amina.export_bundle(passphrase)?)?;
    let s = julien.import_bundle(&std::fs::read(&morning)?, passphrase)?;
    println!(
        "Amina registered Karim and Fatou; Julien's phone took her changes: {}",
        render::import(&s)
    );

    step("In the street, no network: each phone logs what it sees");
    clock_a.advance_ms(3 * 3_600_000);
    clock_b.advance_ms(3 * 3_600_000 + 20 * 60_000);
    amina.log_encounter(&NewEncounter {
        persons: vec![karim],
        place: Some("parvis de la gare de l'Est".into()),
        team: Some("maraude-nord".into()),
        workers: vec!["Amina".into()],
        kind: Some("follow_up".into()),
        services: vec!["drink".into(), "food".into(), "blanket".into()],
        notes: Some("Il a accepté une nuit en hébergement d'urgence.".into()),
        ..Default::default()
    })?;
    amina.edit(
        karim,
        &[Edit::Set(
            "situation".into(),
            Value::Code("emergency_shelter".into()),
        )],
    )?;
    println!("Amina meets Karim at the gare de l'Est and notes: emergency shelter tonight");
    julien.log_encounter(&NewEncounter {
        persons: vec![karim, fatou],
        anonymous_count: 2,
        place: Some("quai de Valmy, sous le pont".into()),
        team: Some("maraude-nord".into()),
        workers: vec!["Julien".into()],
        kind: Some("follow_up".into()),
        services: vec!["drink".into(), "hygiene_kit".into(), "information".into()],
        notes: Some("Karim dit qu'il reste au squat avec son chien.".into()),
        ..Default::default()
    })?;
    julien.edit(
        karim,
        &[
            Edit::Set("situation".into(), Value::Code("squat".into())),
            Edit::Add("needs".into(), Value::Code("health".into())),
        ],
    )?;
    julien.add_referral(&NewReferral {
        person: karim,
        target: "pass_health".into(),
        target_name: Some("PASS de l'hôpital Lariboisière".into()),
        date: None,
        status: None,
        household: None,
    })?;
    println!("Julien meets Karim and Fatou by the canal, notes: squat, a health need, a referral to the PASS");

    step("Back at the office: the phones exchange sealed bundles");
    clock_a.advance_ms(4 * 3_600_000);
    clock_b.advance_ms(4 * 3_600_000);
    let from_a = dir.path().join("amina.bundle");
    let from_b = dir.path().join("julien.bundle");
    std::fs::write(&from_a, amina.export_bundle(passphrase)?)?;
    std::fs::write(&from_b, julien.export_bundle(passphrase)?)?;
    println!(
        "Julien's phone: {}",
        render::import(&julien.import_bundle(&std::fs::read(&from_a)?, passphrase)?)
    );
    println!(
        "Amina's phone:  {}",
        render::import(&amina.import_bundle(&std::fs::read(&from_b)?, passphrase)?)
    );
    let same = amina.record_ids()? == julien.record_ids()?
        && amina
            .record_ids()?
            .iter()
            .all(|(id, _)| amina.record_heads(*id).ok() == julien.record_heads(*id).ok());
    println!(
        "Both phones now hold the same records with the same heads: {}",
        if same { "yes" } else { "NO" }
    );

    step("The supervisor's conflict queue");
    print!("{}", render::conflicts(&amina.conflicts()?, lang));

    step("The supervisor checks with the team and resolves it on Amina's phone");
    amina.resolve(karim, "situation", "emergency_shelter")?;
    std::fs::write(&from_a, amina.export_bundle(passphrase)?)?;
    julien.import_bundle(&std::fs::read(&from_a)?, passphrase)?;
    println!(
        "Resolved by {}; after the next exchange Julien's phone has {} open conflict(s)",
        amina.identity().worker,
        julien.conflicts()?.len()
    );

    step("Karim's merged visit history, as Julien's phone shows it");
    let timeline = julien.timeline(karim)?;
    print!(
        "{}",
        render::timeline(&julien.person(karim)?, &timeline, lang)
    );
    step("The same day: Fatou and her son sleep in her car; the office records the household");
    let household = amina.add_household(&NewHousehold {
        label: "Fatou et son fils".into(),
        unrecorded_members: Some(1),
        unrecorded_children: Some(1),
        pets: None,
        notes: Some("Son fils de 9 ans est scolarisé à Pantin.".into()),
    })?;
    let day = clock_a.now().date_naive();
    amina.join_household(&NewHouseholdMember {
        household,
        person: fatou,
        relation: "reference".into(),
        joined_on: Some(day - Duration::days(40)),
    })?;
    amina.add_period(
        &NewPeriod {
            concerns: Concerns::Household(household),
            situation: "car".into(),
            started_on: day - Duration::days(40),
            ended_on: None,
            place: Some("parking de la porte de la Villette".into()),
            end_reason: None,
            notes: None,
        },
        None,
    )?;
    let application = amina.add_application(&NewApplication {
        concerns: Concerns::Household(household),
        kind: "siao_insertion".into(),
        number: None,
        filed_on: Some(day),
        renew_by: None,
        status: None,
        areas: None,
    })?;
    println!(
        "A household of two (the boy is not recorded as a person), and an application to the SIAO"
    );

    step("Three weeks later: the SIAO offers a flat in rental intermediation");
    clock_a.advance_ms(21 * 86_400_000);
    amina.update_application(
        application,
        Some("accepted"),
        Some("Logement Solibail proposé"),
    )?;
    let housed_on = clock_a.now().date_naive();
    let home = amina.add_home(
        &NewHome {
            concerns: Concerns::Household(household),
            landlord: Some("Solibail".into()),
            address: Some("T2, rue de Tanger".into()),
            entered_on: housed_on,
            lease_kind: Some("sublease".into()),
            notes: None,
        },
        Some("intermediation_locative"),
    )?;
    clock_a.advance_ms(2 * 86_400_000);
    amina.log_encounter(&NewEncounter {
        persons: vec![fatou],
        place: Some("domicile, rue de Tanger".into()),
        team: Some("maraude-nord".into()),
        workers: vec!["Amina".into()],
        kind: Some("home_visit".into()),
        services: vec![
            "rent_bills".into(),
            "admin_help".into(),
            "furnishing".into(),
        ],
        notes: Some(
            "Première visite : ouverture des compteurs, demande d'APL, lits à trouver.".into(),
        ),
        ..Default::default()
    })?;
    print!(
        "{}",
        crate::housing::household_text(&amina.household_view(household)?, lang)
    );
    let visits = amina.home_view(home)?.visits.len();
    println!("\nTheir home: {visits} home visit so far (rent and bills, administrative help, furnishing).");
    let report = amina.report(housed_on, housed_on + Duration::days(6), None)?;
    println!(
        "\nThat week's report: {} move(s) into a home, {} exit(s) from the street, {} days from first contact to the home",
        report.housed.current,
        report.street_exits.values().map(|f| f.current).sum::<i64>(),
        report.days_to_housing.current
    );

    println!("\nDone. The temporary stores are deleted now. Next: `allervers init --device-name NAME` for a real store.");
    Ok(())
}
