//! Generated data for demos, tests and benchmarks: French first names, nicknames, streets and
//! services in realistic mixes. Never real people. Deterministic for a given seed.

use chrono::{DateTime, Datelike, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::{
    Concerns, NewAction, NewApplication, NewEncounter, NewHome, NewHousehold, NewHouseholdMember,
    NewOffer, NewOwnView, NewPeriod, NewPerson, NewReferral, NewRiskSignal, RecordId, Result,
    Store,
};

pub const FIRST_NAMES: &[&str] = &[
    "Amina",
    "Hélène",
    "Mohamed",
    "Jean-François",
    "Fatou",
    "Karim",
    "Sylvie",
    "Mamadou",
    "Nathalie",
    "Youssef",
    "Christiane",
    "Ibrahim",
    "Josiane",
    "Bernard",
    "Aïcha",
    "Thierry",
    "Samira",
    "Patrick",
    "Mariam",
    "Didier",
    "Zoé",
    "Olivier",
    "Nadia",
    "Gérard",
    "Leïla",
    "Pascal",
    "Awa",
    "Dominique",
    "Rachid",
    "Véronique",
    "Moussa",
    "Françoise",
    "Ousmane",
    "Brigitte",
    "Hamza",
    "Chantal",
    "Mehdi",
    "Martine",
    "Bakary",
    "Isabelle",
    "Sékou",
    "Ginette",
    "Adama",
    "Michel",
    "Kadiatou",
    "Stéphane",
    "Ioana",
    "Florin",
    "Tatiana",
    "Dmitri",
    "Jérôme",
    "Séverine",
    "Abdel",
    "Maëlle",
];

pub const NICKNAMES: &[&str] = &[
    "le Grand",
    "Coco",
    "Papi",
    "la Fée",
    "Moustache",
    "Tonton",
    "le Breton",
    "Mamie",
    "le Chti",
    "Petit Louis",
    "la Rousse",
    "le Marin",
    "Bouboule",
    "Kiki",
    "le Prof",
    "Titi",
    "Zézette",
];

pub const STREETS: &[&str] = &[
    "rue de Lyon",
    "boulevard de Strasbourg",
    "rue du Faubourg-Saint-Denis",
    "quai de Valmy",
    "avenue Jean-Jaurès",
    "place de la République",
    "rue de la Chapelle",
    "boulevard Barbès",
    "rue Oberkampf",
    "quai de la Loire",
    "rue de Flandre",
    "avenue de Clichy",
    "rue Myrha",
    "boulevard de la Villette",
    "rue des Pyrénées",
    "rue Championnet",
    "place Stalingrad",
];

pub const SPOTS: &[&str] = &[
    "sous le porche",
    "devant la pharmacie",
    "parvis de la gare",
    "entrée du métro",
    "parking souterrain",
    "square",
    "arrêt de bus",
    "devant la supérette",
    "sous le pont",
    "halle couverte",
];

pub const TEAMS: &[&str] = &[
    "maraude-nord",
    "maraude-est",
    "maraude-centre",
    "equipe-sante",
];

pub const WORKERS: &[&str] = &[
    "Amina", "Julien", "Sophie", "Karim", "Élodie", "Bastien", "Inès",
];

const NOTES: &[&str] = &[
    "Personne fatiguée, dort peu.",
    "Demande des nouvelles de son dossier.",
    "A perdu ses papiers, à accompagner.",
    "Toux persistante, proposer la PASS.",
    "Refuse l'hébergement pour l'instant, garde le contact.",
    "Chien avec lui, cherche une place acceptant les animaux.",
    "Bonne humeur, a trouvé un petit boulot.",
    "Conflit avec un voisin de campement.",
    "Souhaite appeler sa famille.",
    "Pieds abîmés, chaussures à prévoir.",
];

/// How much to generate.
#[derive(Clone, Debug)]
pub struct SeedPlan {
    pub persons: usize,
    pub encounters: usize,
    /// Over how many days before `end` the encounters are spread.
    pub days: i64,
    pub end: DateTime<Utc>,
    pub seed: u64,
}

/// What was generated.
#[derive(Clone, Debug, Default)]
pub struct Seeded {
    pub persons: Vec<RecordId>,
    pub encounters: usize,
    pub actions: usize,
    pub referrals: usize,
    pub households: usize,
    /// Journey periods recorded (beside the situations of every person).
    pub periods: usize,
    pub applications: usize,
    /// Homes recorded for those housed (a risk raised for some, their own view each), offers.
    pub homes: usize,
    pub offers: usize,
}

fn weighted<'a>(rng: &mut StdRng, items: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.gen_range(0..total);
    for (item, w) in items {
        if pick < *w {
            return item;
        }
        pick -= w;
    }
    items[0].0
}

/// A plausible person.
pub fn person(rng: &mut StdRng) -> NewPerson {
    let named = rng.gen_bool(0.8);
    let situation = weighted(
        rng,
        &[
            ("street", 55),
            ("squat", 8),
            ("car", 6),
            ("emergency_shelter", 18),
            ("hotel", 8),
            ("supported_housing", 3),
            ("other", 2),
        ],
    );
    let mut needs: Vec<String> = [
        "housing",
        "health",
        "mental_health",
        "addiction",
        "papers",
        "income",
        "food",
        "hygiene",
    ]
    .iter()
    .filter(|_| rng.gen_bool(0.3))
    .map(|s| s.to_string())
    .collect();
    if needs.is_empty() {
        needs.push("housing".into());
    }
    NewPerson {
        name: named.then(|| FIRST_NAMES.choose(rng).expect("names").to_string()),
        nickname: (!named || rng.gen_bool(0.15))
            .then(|| NICKNAMES.choose(rng).expect("nicknames").to_string()),
        birth_year: rng.gen_bool(0.6).then(|| rng.gen_range(1950..2006)),
        gender: Some(
            weighted(
                rng,
                &[
                    ("male", 70),
                    ("female", 25),
                    ("non_binary", 1),
                    ("unknown", 4),
                ],
            )
            .into(),
        ),
        situation: Some(situation.into()),
        alert_level: Some(
            weighted(rng, &[("none", 80), ("watch", 15), ("very_vulnerable", 5)]).into(),
        ),
        needs,
        consent_record: Some(true),
        consent_share: Some(rng.gen_bool(0.4)),
        teams: vec![TEAMS.choose(rng).expect("teams").to_string()],
        ..Default::default()
    }
}

/// A plausible encounter at `at` with `persons` (or anonymous people when empty).
pub fn encounter(rng: &mut StdRng, persons: Vec<RecordId>, at: DateTime<Utc>) -> NewEncounter {
    let mut services: Vec<String> = Vec::new();
    for (service, p) in [
        ("drink", 0.7),
        ("food", 0.5),
        ("information", 0.3),
        ("hygiene_kit", 0.15),
        ("clothing", 0.1),
        ("blanket", 0.1),
        ("care", 0.08),
        ("referral", 0.05),
    ] {
        if rng.gen_bool(p) {
            services.push(service.into());
        }
    }
    let anonymous_count = if persons.is_empty() {
        rng.gen_range(1..4)
    } else if rng.gen_bool(0.1) {
        1
    } else {
        0
    };
    NewEncounter {
        occurred_at: Some(at),
        place: Some(format!(
            "{} {}",
            SPOTS.choose(rng).expect("spots"),
            STREETS.choose(rng).expect("streets")
        )),
        team: Some(TEAMS.choose(rng).expect("teams").to_string()),
        workers: WORKERS
            .choose_multiple(rng, 2)
            .map(|w| w.to_string())
            .collect(),
        kind: Some(
            weighted(
                rng,
                &[
                    ("follow_up", 75),
                    ("first_contact", 15),
                    ("intervention", 10),
                ],
            )
            .into(),
        ),
        services,
        notes: rng
            .gen_bool(0.4)
            .then(|| NOTES.choose(rng).expect("notes").to_string()),
        follow_up: rng.gen_bool(0.1),
        anonymous_count,
        persons,
        ..Default::default()
    }
}

/// Fills a store: persons, then encounters spread over the period (a few persons are met
/// often, most rarely), then actions and referrals for some persons. `progress` is called with
/// (done, total) after each record.
pub fn seed(
    store: &Store,
    plan: &SeedPlan,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Seeded> {
    if !(1..=36_500).contains(&plan.days) {
        return Err(crate::CoreError::invalid(
            "days",
            "must be between 1 and 36,500",
        ));
    }
    if plan.end.year() - (plan.days / 365) as i32 <= 1900 {
        return Err(crate::CoreError::invalid(
            "days",
            "the period would start before 1900",
        ));
    }
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let actions = plan.persons / 5;
    let referrals = plan.persons / 7;
    let households = plan.persons / 12;
    let journeys = plan.persons / 6;
    let applications = plan.persons / 10;
    let offers = (plan.persons / 50).max(1);
    let total = plan.persons
        + plan.encounters
        + actions
        + referrals
        + households
        + journeys
        + applications
        + offers;
    let mut done = 0;
    let mut out = Seeded::default();
    for _ in 0..plan.persons {
        out.persons.push(store.add_person(&person(&mut rng))?);
        done += 1;
        progress(done, total);
    }
    let span_ms = plan.days.max(1) * 86_400_000;
    for i in 0..plan.encounters {
        // Time moves forward through the period, with jitter.
        let base = plan.end - Duration::milliseconds(span_ms)
            + Duration::milliseconds(span_ms * i as i64 / plan.encounters.max(1) as i64);
        let at = base - Duration::minutes(rng.gen_range(0..120));
        let persons = if out.persons.is_empty() || rng.gen_bool(0.05) {
            Vec::new()
        } else {
            // Skewed: a fifth of the persons get most of the encounters.
            let n = out.persons.len();
            let idx = if rng.gen_bool(0.6) {
                rng.gen_range(0..n.div_ceil(5))
            } else {
                rng.gen_range(0..n)
            };
            let mut met = vec![out.persons[idx]];
            if rng.gen_bool(0.05) {
                let other = out.persons[rng.gen_range(0..n)];
                if other != met[0] {
                    met.push(other);
                }
            }
            met
        };
        store.log_encounter(&encounter(&mut rng, persons, at))?;
        out.encounters += 1;
        done += 1;
        progress(done, total);
    }
    let today = plan.end.date_naive();
    for i in 0..actions.min(out.persons.len()) {
        let (title, category) = *[
            ("Demande de logement social", "housing_application"),
            ("Appel au 115 / dossier SIAO", "siao_referral"),
            ("Rendez-vous à la PASS", "health_appointment"),
            ("Refaire la carte d'identité", "papers"),
            ("Ouverture des droits RSA", "benefits"),
        ]
        .choose(&mut rng)
        .expect("actions");
        let id = store.add_action(&NewAction {
            person: out.persons[i * 5 % out.persons.len()],
            title: title.into(),
            category: category.into(),
            due_at: Some(today + Duration::days(rng.gen_range(-20..30))),
            assigned_to: Some(WORKERS.choose(&mut rng).expect("workers").to_string()),
        })?;
        if rng.gen_bool(0.3) {
            store.complete_action(id, None)?;
        }
        out.actions += 1;
        done += 1;
        progress(done, total);
    }
    for i in 0..referrals.min(out.persons.len()) {
        let target = weighted(
            &mut rng,
            &[
                ("siao_115", 40),
                ("emergency_shelter", 15),
                ("chrs", 8),
                ("psychiatry_cmp", 8),
                ("pass_health", 12),
                ("day_centre", 12),
                ("social_landlord", 5),
            ],
        );
        let date = today - Duration::days(rng.gen_range(0..plan.days.max(1)));
        let id = store.add_referral(&NewReferral {
            person: out.persons[i * 7 % out.persons.len()],
            target: target.into(),
            target_name: None,
            date: Some(date),
            status: None,
            household: None,
        })?;
        let outcome = weighted(
            &mut rng,
            &[
                ("sent", 30),
                ("pending", 20),
                ("accepted", 30),
                ("refused", 10),
                ("no_answer", 10),
            ],
        );
        if outcome != "sent" {
            store.update_referral(id, Some(outcome), None)?;
        }
        out.referrals += 1;
        done += 1;
        progress(done, total);
    }
    let n = out.persons.len();
    let days = plan.days.max(1);
    // Households of two to four persons recorded, some with a child not recorded.
    for i in 0..households.min(n / 4) {
        let members = &out.persons[i * 4..i * 4 + rng.gen_range(2..=4)];
        let name = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
        let household = store.add_household(&NewHousehold {
            label: format!("Ménage de {name}"),
            unrecorded_members: rng.gen_bool(0.3).then_some(1),
            unrecorded_children: None,
            pets: rng.gen_bool(0.2).then(|| "un chien".to_string()),
            notes: None,
        })?;
        let joined = today - Duration::days(rng.gen_range(0..days));
        for (j, person) in members.iter().enumerate() {
            let relation = match j {
                0 => "reference",
                1 => weighted(&mut rng, &[("partner", 3), ("sibling", 1)]),
                _ => "child",
            };
            store.join_household(&NewHouseholdMember {
                household,
                person: *person,
                relation: relation.into(),
                joined_on: Some(joined),
            })?;
        }
        out.households += 1;
        done += 1;
        progress(done, total);
    }
    // Journeys: from the street to a shelter, and for some on to a home.
    for i in 0..journeys.min(n) {
        let person = out.persons[(i * 6 + 1) % n];
        let mut day = today - Duration::days(rng.gen_range(days / 2..=days));
        let shelter = weighted(
            &mut rng,
            &[("emergency_shelter", 5), ("hotel", 3), ("chrs", 2)],
        );
        let home = weighted(
            &mut rng,
            &[
                ("social_housing", 4),
                ("residence_sociale", 2),
                ("pension_de_famille", 1),
                ("intermediation_locative", 2),
                ("private_housing", 1),
            ],
        );
        for (situation, place) in [
            ("street", None),
            (shelter, Some("Centre d'hébergement Saint-Martin")),
            (home, Some("Bailleur social, rue des Pyrénées")),
        ] {
            if day > today {
                break;
            }
            if situation == home {
                // Housed: the home, its period with it, a risk for some, their own view.
                let id = store.add_home(
                    &NewHome {
                        concerns: Concerns::Person(person),
                        landlord: Some("Bailleur social".into()),
                        address: Some(format!(
                            "{} {}",
                            rng.gen_range(1..120),
                            STREETS[rng.gen_range(0..STREETS.len())]
                        )),
                        entered_on: day,
                        lease_kind: Some("social_lease".into()),
                        notes: None,
                    },
                    Some(situation),
                )?;
                out.homes += 1;
                out.periods += 1;
                if rng.gen_bool(0.2) {
                    store.raise_risk(&NewRiskSignal {
                        home: id,
                        risk: weighted(
                            &mut rng,
                            &[
                                ("rent_arrears", 4),
                                ("isolation", 3),
                                ("neighbour_conflict", 2),
                            ],
                        )
                        .into(),
                        raised_on: Some(day.max(today - Duration::days(30))),
                        raised_by: None,
                        notes: None,
                    })?;
                }
                store.record_own_view(&NewOwnView {
                    person,
                    step: "home_found".into(),
                    on: Some(day),
                    satisfaction: Some(rng.gen_range(2..=5)),
                    what_helped: Some("Les visites régulières".into()),
                    what_missing: None,
                    own_words: None,
                    answers: Default::default(),
                })?;
                break;
            }
            store.add_period(
                &NewPeriod {
                    concerns: Concerns::Person(person),
                    situation: situation.into(),
                    started_on: day,
                    ended_on: None,
                    place: place.map(str::to_string),
                    end_reason: None,
                    notes: None,
                },
                (situation != "street").then_some("moved_on"),
            )?;
            out.periods += 1;
            day += Duration::days(rng.gen_range(20..days.max(21)) / 2);
        }
        done += 1;
        progress(done, total);
    }
    for i in 0..applications.min(n) {
        let kind = weighted(
            &mut rng,
            &[
                ("siao_insertion", 5),
                ("social_housing", 4),
                ("siao_urgence", 2),
                ("dalo", 1),
            ],
        );
        let status = weighted(
            &mut rng,
            &[
                ("filed", 5),
                ("in_review", 3),
                ("accepted", 2),
                ("refused", 1),
            ],
        );
        store.add_application(&NewApplication {
            concerns: Concerns::Person(out.persons[(i * 10 + 3) % n]),
            kind: kind.into(),
            number: (kind == "social_housing")
                .then(|| format!("0750{:08}", rng.gen_range(0..100_000_000u32))),
            filed_on: Some(today - Duration::days(rng.gen_range(0..days))),
            renew_by: None,
            status: Some(status.into()),
            areas: None,
        })?;
        out.applications += 1;
        done += 1;
        progress(done, total);
    }
    for _ in 0..offers {
        store.add_offer(&NewOffer {
            home_kind: weighted(&mut rng, &[("social_housing", 4), ("residence_sociale", 1)])
                .into(),
            rooms: Some(rng.gen_range(1..=4)),
            size_m2: Some(rng.gen_range(18..90)),
            rent: Some(rng.gen_range(280..750)),
            area: Some(STREETS[rng.gen_range(0..STREETS.len())].to_string()),
            accessible: Some(rng.gen_bool(0.2)),
            available_from: Some(today + Duration::days(rng.gen_range(0..60))),
            landlord: Some("Bailleur social".into()),
            notes: None,
        })?;
        out.offers += 1;
        done += 1;
        progress(done, total);
    }
    Ok(out)
}
