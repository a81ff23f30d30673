//! The exports of the housing journey: journeys, households, homes, applications, proposals
//! and own views, nominative for the office and pseudonymised for funders (no name, place,
//! landlord or number in clear, nothing of a hospital or prison period, no health risk, never
//! the person's own words), with the organisation's fields of households, homes and views.

use allervers_core::export::{ExportKind, ExportOptions, Table};
use allervers_core::CustomType;
use allervers_core::{
    Concerns, NewApplication, NewHome, NewHousehold, NewHouseholdMember, NewOffer, NewOwnView,
    NewPeriod, NewPerson, NewRiskSignal, RecordId, Via,
};

use crate::common::{day, device, on, Device};
use crate::custom_fields::field;

struct Journey {
    d: Device,
    karim: RecordId,
    nadia: RecordId,
    family: RecordId,
}

const OWN_WORDS: &str = "Enfin une porte qui ferme à clé";

/// Karim, in the street, then in hospital, then housed with Nadia as a household; their home
/// (with a rent-arrears risk and a health one), their application, a proposal, and Karim's
/// own view.
fn journey() -> Journey {
    let d = device("Poste bureau", "Sophie");
    for (kind, name, ty) in [
        (
            allervers_core::Kind::Household,
            "animaux",
            CustomType::YesNo,
        ),
        (
            allervers_core::Kind::Home,
            "bail_glissant",
            CustomType::YesNo,
        ),
        (allervers_core::Kind::OwnView, "reconnu", CustomType::Number),
    ] {
        d.store
            .define_field(&allervers_core::CustomField {
                sensitive: false,
                ..field(kind, name, ty)
            })
            .unwrap();
    }
    on(&d, "2026-01-05");
    let add = |name: &str| {
        d.store
            .add_person(&NewPerson {
                name: Some(name.into()),
                situation: Some("street".into()),
                ..Default::default()
            })
            .unwrap()
    };
    let karim = add("Karim Benali");
    let nadia = add("Nadia Benali");
    let period = |concerns, situation: &str, from: &str, place: &str, end: Option<&str>| {
        d.store
            .add_period(
                &NewPeriod {
                    concerns,
                    situation: situation.into(),
                    started_on: day(from),
                    ended_on: None,
                    place: Some(place.into()),
                    end_reason: None,
                    notes: None,
                },
                end,
            )
            .unwrap();
    };
    period(
        Concerns::Person(karim),
        "street",
        "2026-01-05",
        "gare du Nord",
        None,
    );
    on(&d, "2026-02-03");
    period(
        Concerns::Person(karim),
        "hospital",
        "2026-02-03",
        "Hôpital Lariboisière",
        Some("hospital"),
    );
    let family = d
        .store
        .add_household(&NewHousehold {
            label: "Couple Benali".into(),
            ..Default::default()
        })
        .unwrap();
    d.store.set_custom_value(family, "animaux", "oui").unwrap();
    for (p, relation) in [(karim, "reference"), (nadia, "partner")] {
        d.store
            .join_household(&NewHouseholdMember {
                household: family,
                person: p,
                relation: relation.into(),
                joined_on: Some(day("2026-02-03")),
            })
            .unwrap();
    }
    let application = d
        .store
        .add_application(&NewApplication {
            concerns: Concerns::Household(family),
            kind: "siao_insertion".into(),
            number: Some("SIAO-75-0412".into()),
            filed_on: Some(day("2026-02-03")),
            renew_by: None,
            status: Some("filed".into()),
            areas: None,
        })
        .unwrap();
    let offer = d
        .store
        .add_offer(&NewOffer {
            home_kind: "social_housing".into(),
            rooms: Some(2),
            area: Some("Pantin".into()),
            rent: Some(510),
            ..Default::default()
        })
        .unwrap();
    on(&d, "2026-03-02");
    d.store
        .propose(offer, Concerns::Household(family), None)
        .unwrap();
    on(&d, "2026-03-16");
    let home = d
        .store
        .add_home(
            &NewHome {
                concerns: Concerns::Household(family),
                landlord: Some("Pantin Habitat".into()),
                address: Some("4 rue Hoche, Pantin".into()),
                entered_on: day("2026-03-16"),
                lease_kind: Some("social_lease".into()),
                notes: None,
            },
            Some("social_housing"),
        )
        .unwrap();
    d.store
        .set_custom_value(home, "bail_glissant", "non")
        .unwrap();
    d.store
        .update_application(application, Some("housed"), None)
        .unwrap();
    on(&d, "2026-03-25");
    for risk in ["rent_arrears", "health"] {
        d.store
            .raise_risk(&NewRiskSignal {
                home,
                risk: risk.into(),
                raised_on: None,
                raised_by: Some("le bailleur".into()),
                notes: None,
            })
            .unwrap();
    }
    d.store
        .record_own_view(&NewOwnView {
            person: karim,
            step: "home_found".into(),
            on: None,
            satisfaction: Some(5),
            what_helped: Some("La patience de l'équipe".into()),
            what_missing: None,
            own_words: Some(OWN_WORDS.into()),
            answers: [("reconnu".to_string(), "4".to_string())].into(),
        })
        .unwrap();
    Journey {
        d,
        karim,
        nadia,
        family,
    }
}

impl Journey {
    fn export(&self, kind: ExportKind, options: &ExportOptions) -> Table {
        self.d
            .store
            .export(
                kind,
                day("2026-01-01"),
                day("2026-03-31"),
                options,
                Via::Cli,
            )
            .unwrap()
    }
}

/// The cell of `column` in each row.
fn cells<'a>(table: &'a Table, column: &str) -> Vec<&'a str> {
    let i = table
        .header
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no column {column} in {:?}", table.header));
    table.rows.iter().map(|r| r[i].as_str()).collect()
}

const HOUSING_KINDS: [ExportKind; 6] = [
    ExportKind::Journeys,
    ExportKind::Households,
    ExportKind::Homes,
    ExportKind::Applications,
    ExportKind::Proposals,
    ExportKind::OwnViews,
];

#[test]
fn the_office_exports_each_record_of_the_housing_journey_with_the_organisations_fields() {
    let j = journey();
    let office = ExportOptions::nominative();
    let karim = j.karim.to_string();

    let journeys = j.export(ExportKind::Journeys, &office);
    let karims: Vec<String> = journeys
        .rows
        .iter()
        .filter(|r| r[0] == karim)
        .map(|r| format!("{} {}..{} {} {}", r[2], r[3], r[4], r[5], r[6]))
        .collect();
    assert_eq!(
        karims,
        [
            "street 2026-01-05..2026-02-03 gare du Nord hospital",
            "hospital 2026-02-03..2026-03-16 Hôpital Lariboisière ",
            "social_housing 2026-03-16.. Pantin Habitat, 4 rue Hoche, Pantin "
        ]
    );
    assert!(cells(&journeys, "person").contains(&j.nadia.to_string().as_str()));

    let households = j.export(ExportKind::Households, &office);
    assert_eq!(cells(&households, "label"), ["Couple Benali"]);
    assert_eq!(cells(&households, "size"), ["2"]);
    assert_eq!(cells(&households, "situation"), ["social_housing"]);
    assert_eq!(cells(&households, "custom.animaux"), ["yes"]);
    let members = cells(&households, "members")[0];
    assert!(members.contains(&karim) && members.contains(&j.nadia.to_string()));

    let homes = j.export(ExportKind::Homes, &office);
    assert_eq!(cells(&homes, "landlord"), ["Pantin Habitat"]);
    assert_eq!(cells(&homes, "household"), [j.family.to_string().as_str()]);
    assert_eq!(cells(&homes, "risks"), ["health rent_arrears"]);
    assert_eq!(cells(&homes, "custom.bail_glissant"), ["no"]);

    let applications = j.export(ExportKind::Applications, &office);
    assert_eq!(cells(&applications, "number"), ["SIAO-75-0412"]);
    assert_eq!(cells(&applications, "status"), ["housed"]);
    let proposals = j.export(ExportKind::Proposals, &office);
    assert_eq!(cells(&proposals, "area"), ["Pantin"]);
    assert_eq!(cells(&proposals, "rent"), ["510"]);
    let views = j.export(ExportKind::OwnViews, &office);
    assert_eq!(cells(&views, "satisfaction"), ["5"]);
    assert_eq!(cells(&views, "custom.reconnu"), ["4"]);

    // Never the person's own words, not even for the office's export; and every export is
    // logged.
    for kind in HOUSING_KINDS {
        let table = j.export(kind, &office);
        assert!(
            !table.rows.iter().flatten().any(|c| c.contains("porte")),
            "{kind:?}"
        );
    }
    let exports =
        j.d.store
            .access_log(&allervers_core::AccessQuery::default())
            .unwrap()
            .into_iter()
            .filter(|e| e.what == "export")
            .count();
    assert_eq!(exports, 6 + HOUSING_KINDS.len());
    // A period before anything happened exports nothing.
    let empty =
        j.d.store
            .export(
                ExportKind::Households,
                day("2025-01-01"),
                day("2025-12-31"),
                &office,
                Via::Cli,
            )
            .unwrap();
    assert!(empty.rows.is_empty());
}

#[test]
fn a_pseudonymised_export_of_the_journey_names_no_one_and_holds_no_hospital_stay_or_health_risk() {
    let j = journey();
    let series = ExportOptions {
        series: Some("parcours-2026".into()),
        ..ExportOptions::pseudonymised()
    };
    let clear = [
        "Karim",
        "Nadia",
        "Benali",
        "Lariboisière",
        "gare du Nord",
        "Pantin Habitat",
        "Hoche",
        "SIAO-75-0412",
        OWN_WORDS,
    ];
    let tables: Vec<Table> = HOUSING_KINDS
        .iter()
        .map(|k| j.export(*k, &series))
        .collect();
    for (kind, table) in HOUSING_KINDS.iter().zip(&tables) {
        for cell in table.rows.iter().flatten() {
            for word in clear {
                assert!(!cell.contains(word), "{kind:?}: {cell:?} holds {word:?}");
            }
            assert!(!cell.contains(&j.karim.to_string()), "{kind:?}");
        }
    }
    let journeys = &tables[0];
    assert!(!cells(journeys, "situation").contains(&"hospital"));
    assert!(!cells(journeys, "end_reason").contains(&"hospital"));
    assert!(cells(journeys, "situation").contains(&"social_housing"));
    assert_eq!(cells(&tables[2], "risks"), ["rent_arrears"]);
    // One series: Karim is the same pseudonym in his journey, his household and his view.
    let household_members = cells(&tables[1], "members")[0];
    let viewer = cells(&tables[5], "person")[0];
    assert!(viewer.starts_with("P-"));
    assert!(household_members.split(' ').any(|m| m == viewer));
    assert!(cells(journeys, "person").contains(&viewer));
    // The household's pseudonym links its home and its proposal.
    let household = cells(&tables[1], "id")[0];
    assert_eq!(cells(&tables[2], "household"), [household]);
    assert_eq!(cells(&tables[4], "household"), [household]);

    // Asked for, the sensitive rows come back (still pseudonymised).
    let sensitive = ExportOptions {
        include_sensitive: true,
        ..series
    };
    let journeys = j.export(ExportKind::Journeys, &sensitive);
    assert!(cells(&journeys, "situation").contains(&"hospital"));
    assert_eq!(
        cells(&j.export(ExportKind::Homes, &sensitive), "risks"),
        ["health rent_arrears"]
    );
}
