//! `allervers household` and `allervers journey` as the office uses them: a household of a
//! mother and her son, its move from a car to a home with an application to the SIAO, the
//! report's figures, a member leaving, and bad input refused in one line with nothing written.

use crate::commands::{fails, init, json, ok};

fn id(v: &serde_json::Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn a_household_moves_from_a_car_to_a_home_and_the_report_counts_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    let mother = id(&json(
        d,
        &[
            "person",
            "add",
            "--name",
            "Aminata Traoré",
            "--situation",
            "car",
        ],
    ));
    let son = id(&json(d, &["person", "add", "--name", "Ousmane Traoré"]));
    let household = id(&json(
        d,
        &[
            "household",
            "new",
            "--label",
            "Famille Traoré",
            "--pets",
            "un chat",
            "--unrecorded",
            "1",
            "--unrecorded-children",
            "1",
        ],
    ));
    json(
        d,
        &[
            "household",
            "join",
            "Famille Traoré",
            &mother,
            "--relation",
            "reference",
            "--on",
            "2026-10-01",
        ],
    );
    json(
        d,
        &[
            "household",
            "join",
            &household,
            &son,
            "--relation",
            "child",
            "--on",
            "2026-10-01",
        ],
    );
    let met = id(&json(
        d,
        &[
            "encounter",
            "log",
            "--person",
            &mother,
            "--person",
            &son,
            "--household",
            "Famille Traoré",
            "--place",
            "parking de la porte de Pantin",
        ],
    ));
    assert_eq!(
        json(d, &["encounter", "show", &met])["household"],
        household.as_str()
    );
    let referral = id(&json(
        d,
        &[
            "referral",
            "add",
            &mother,
            "--to",
            "siao_115",
            "--household",
            &household,
        ],
    ));
    assert!(ok(d, &["history", &referral]).contains(&household));
    json(
        d,
        &[
            "journey",
            "add",
            "--household",
            &household,
            "--situation",
            "car",
            "--from",
            "2026-10-01",
        ],
    );
    let application = id(&json(
        d,
        &[
            "journey",
            "application",
            "add",
            "--household",
            &household,
            "--kind",
            "social_housing",
            "--number",
            "093112600042",
            "--filed-on",
            "2026-10-05",
        ],
    ));
    json(
        d,
        &[
            "journey",
            "application",
            "step",
            &application,
            "Commission d'attribution le 12 novembre",
        ],
    );
    json(
        d,
        &[
            "journey",
            "application",
            "update",
            &application,
            "--status",
            "accepted",
        ],
    );
    json(
        d,
        &[
            "journey",
            "add",
            "--household",
            "famille traoré",
            "--situation",
            "social_housing",
            "--from",
            "2026-11-15",
            "--place",
            "Seine-Saint-Denis Habitat, Bobigny",
            "--previous-end",
            "moved_on",
        ],
    );

    let before = json(d, &["access-log", "--person", &son])
        .as_array()
        .unwrap()
        .len();
    let shown = json(d, &["household", "show", &household]);
    let after = json(d, &["access-log", "--person", &son])
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        after,
        before + 1,
        "a household's page is a reading of each member's file"
    );
    assert_eq!(shown["size"], 3);
    assert_eq!(shown["children"], true);
    assert_eq!(shown["members"].as_array().unwrap().len(), 2);
    let steps = shown["journey"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["situation"], "car");
    assert_eq!(steps[0]["to"], "2026-11-15");
    assert_eq!(steps[0]["end_reason"], "moved_on");
    assert_eq!(steps[1]["situation"], "social_housing");
    let apps = shown["applications"].as_array().unwrap();
    assert_eq!(apps[0]["status"], "accepted");
    assert_eq!(apps[0]["steps"].as_array().unwrap().len(), 1);

    // Each member's journey holds the household's, and their situation follows it.
    let journey = json(d, &["journey", "show", &son]);
    assert_eq!(journey["steps"].as_array().unwrap().len(), 2);
    assert_eq!(
        json(d, &["person", "show", &mother])["situation"],
        "social_housing"
    );
    let text = ok(d, &["journey", "show", "--household", &household]);
    assert!(text.contains("logement social"), "{text}");
    assert!(text.contains("Seine-Saint-Denis Habitat"), "{text}");

    let list = json(d, &["household", "list"]);
    assert_eq!(list[0]["label"], "Famille Traoré");
    assert_eq!(list[0]["situation"], "social_housing");

    let report = json(d, &["report", "--from", "2026-11-01", "--to", "2026-11-30"]);
    assert_eq!(report["housed"]["current"], 1, "{report}");
    assert_eq!(report["street_exits"]["social_housing"]["current"], 1);
    assert_eq!(report["households_met"]["current"], 1);

    // The son leaves the household; the office sees him in its past members.
    json(
        d,
        &[
            "household",
            "leave",
            &household,
            &son,
            "--on",
            "2026-11-20",
            "--reason",
            "majeur, parti en foyer de jeunes travailleurs",
        ],
    );
    let shown = json(d, &["household", "show", &household]);
    assert_eq!(shown["size"], 2);
    assert_eq!(shown["members"][1]["left_on"], "2026-11-20");
}

#[test]
fn bad_housing_input_is_refused_in_one_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    let karim = id(&json(d, &["person", "add", "--name", "Karim"]));
    let household = id(&json(
        d,
        &["household", "new", "--label", "Couple du canal"],
    ));
    let err = fails(
        d,
        &[
            "journey",
            "add",
            &karim,
            "--situation",
            "hotel",
            "--from",
            "demain",
        ],
    );
    assert!(err.contains("from"), "{err}");
    let err = fails(
        d,
        &[
            "journey",
            "add",
            &karim,
            "--situation",
            "hotel",
            "--from",
            "2026-03-01",
            "--to",
            "2026-02-01",
        ],
    );
    assert!(err.contains("ended_on"), "{err}");
    let err = fails(
        d,
        &[
            "household",
            "join",
            &household,
            &karim,
            "--relation",
            "cousin_germain_du_voisin",
        ],
    );
    assert!(err.contains("relation"), "{err}");
    let err = fails(
        d,
        &[
            "household",
            "join",
            "Ménage inconnu",
            &karim,
            "--relation",
            "partner",
        ],
    );
    assert!(err.contains("no household"), "{err}");
    let err = fails(d, &["household", "leave", &household, &karim]);
    assert!(err.contains("does not belong"), "{err}");
    let err = fails(d, &["journey", "show"]);
    assert!(err.contains("person"), "{err}");
    let journey = json(d, &["journey", "show", &karim]);
    assert!(journey["steps"].as_array().unwrap().is_empty());
    let shown = json(d, &["household", "show", &household]);
    assert!(shown["members"].as_array().unwrap().is_empty());
    assert!(json(d, &["journey", "application", "list"])
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn a_home_is_followed_and_lost_and_an_offer_goes_to_whom_it_suits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    let nadia = id(&json(
        d,
        &[
            "person",
            "add",
            "--name",
            "Nadia Benali",
            "--situation",
            "hotel",
        ],
    ));
    let paul = id(&json(
        d,
        &[
            "person",
            "add",
            "--name",
            "Paul Girard",
            "--situation",
            "street",
            "--need",
            "housing",
        ],
    ));
    let home = id(&json(
        d,
        &[
            "home",
            "add",
            &nadia,
            "--landlord",
            "Paris Habitat",
            "--address",
            "3 rue de Meaux",
            "--entered-on",
            "2026-09-01",
            "--lease",
            "social_lease",
            "--situation",
            "social_housing",
        ],
    ));
    ok(
        d,
        &[
            "encounter",
            "log",
            "--person",
            &nadia,
            "--kind",
            "home_visit",
            "--service",
            "rent_bills",
            "--place",
            "domicile",
        ],
    );
    let risk = id(&json(
        d,
        &[
            "home",
            "risk",
            &home,
            "--kind",
            "rent_arrears",
            "--by",
            "le bailleur",
        ],
    ));
    let action = id(&json(
        d,
        &["home", "action", &risk, "--title", "Demande d'aide au FSL"],
    ));
    let at_risk = json(d, &["home", "at-risk"]);
    assert_eq!(at_risk[0]["home"], home.as_str());
    assert_eq!(at_risk[0]["risks"][0]["risk"], "rent_arrears");
    let shown = json(d, &["home", "show", &home]);
    assert_eq!(shown["visits"].as_array().unwrap().len(), 1);
    assert_eq!(shown["actions"][0]["id"], action.as_str());
    let text = ok(d, &["home", "show", &home]);
    assert!(text.contains("impayés de loyer"), "{text}");
    json(
        d,
        &["home", "resolve", &risk, "--notes", "Aide FSL accordée"],
    );
    assert!(json(d, &["home", "at-risk"]).as_array().unwrap().is_empty());
    json(
        d,
        &[
            "home",
            "lost",
            &home,
            "--on",
            "2026-11-20",
            "--reason",
            "eviction",
            "--situation",
            "street",
        ],
    );
    let journey = json(d, &["journey", "show", &nadia]);
    let steps = journey["steps"].as_array().unwrap();
    assert_eq!(steps[steps.len() - 2]["situation"], "social_housing");
    assert_eq!(steps[steps.len() - 2]["end_reason"], "eviction");
    assert_eq!(steps[steps.len() - 1]["situation"], "street");
    let err = crate::commands::fails(d, &["home", "risk", &home, "--kind", "isolation"]);
    assert!(err.contains("left"), "{err}");

    let offer = id(&json(
        d,
        &[
            "offer",
            "add",
            "--kind",
            "social_housing",
            "--rooms",
            "1",
            "--area",
            "Paris 19e",
            "--rent",
            "430",
            "--accessible",
            "oui",
        ],
    ));
    let shown = json(d, &["offer", "show", &offer]);
    let names: Vec<&str> = shown["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // Nadia is back on the street, but with no housing need nor application recorded yet.
    assert_eq!(names, ["Paul Girard"]);
    let proposal = id(&json(d, &["offer", "propose", &offer, &paul]));
    json(d, &["offer", "outcome", &proposal, "accepted"]);
    assert!(json(d, &["offer", "list"]).as_array().unwrap().is_empty());
    let all = json(d, &["offer", "list", "--all"]);
    assert_eq!(all[0]["offer"]["status"], "filled");
    let err = crate::commands::fails(d, &["offer", "propose", &offer, &nadia]);
    assert!(err.contains("not open"), "{err}");
    let report = json(d, &["report", "--from", "2026-11-01", "--to", "2026-11-30"]);
    assert_eq!(report["homes_lost"]["current"], 1, "{report}");
    assert_eq!(report["proposals"]["accepted"]["current"], 1);
}
