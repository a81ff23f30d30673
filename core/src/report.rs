//! The activity report a service sends its funders and the state each month (the "fonction de
//! signal"): what the team did over a period, each figure beside the same figure for the period
//! just before. Read from the index tables only.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::model::custom::CustomField;
use crate::store::activity::period;
use crate::vocab::{label, ExtraTerm, Lang, Vocab};
use crate::{CoreError, Result, Store};

/// A figure for the period and for the period before it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Figure {
    pub current: i64,
    pub previous: i64,
}

/// The activity report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous_from: NaiveDate,
    pub previous_to: NaiveDate,
    pub team: Option<String>,
    pub encounters: Figure,
    pub persons_met: Figure,
    pub new_persons: Figure,
    pub anonymous_contacts: Figure,
    pub services: BTreeMap<String, Figure>,
    pub needs: BTreeMap<String, Figure>,
    pub referrals_by_target: BTreeMap<String, Figure>,
    pub referrals_by_outcome: BTreeMap<String, Figure>,
    pub actions_done: Figure,
    pub actions_due: Figure,
    pub actions_overdue: Figure,
    /// "street -> emergency_shelter" and so on.
    pub situation_changes: BTreeMap<String, Figure>,
    /// Health professionals' contacts (counted, never read: the notes stay in the health
    /// space) and the distinct persons they saw.
    pub health_contacts: Figure,
    pub health_persons: Figure,
    /// Households with a member met in the period, by size ("1" to "4", "5+"), and those with
    /// children.
    pub households_met: Figure,
    pub household_sizes: BTreeMap<String, Figure>,
    pub households_with_children: Figure,
    /// Moves out of the street (street, squat, car), by the situation moved to: a household
    /// counts once, whatever its size.
    pub street_exits: BTreeMap<String, Figure>,
    /// Moves into a home (social or private housing, supported housing), and out of one.
    pub housed: Figure,
    pub homes_lost: Figure,
    /// The median number of days from first contact to a home, over those housed in the period.
    pub days_to_housing: Figure,
    /// Housing applications filed in the period, by kind.
    pub applications: BTreeMap<String, Figure>,
    /// Support at home: home visits made, and the risks to homes raised, by kind.
    pub home_visits: Figure,
    pub risks: BTreeMap<String, Figure>,
    /// Housing offers proposed, by what became of the proposal.
    pub proposals: BTreeMap<String, Figure>,
    /// The persons' own views recorded, by step, and by how satisfied they said they were
    /// ("1" to "5"); their answers to the organisation's questions are in `custom_fields`.
    pub own_views: BTreeMap<String, Figure>,
    pub satisfaction: BTreeMap<String, Figure>,
    /// The organisation's own fields, by `KIND.NAME.CHOICE` for choices (persons met, or
    /// encounters, with that choice), `KIND.NAME.yes` for yes/no (how many yes) and
    /// `KIND.NAME.sum` for numbers (their sum, rounded); text and dates are not counted.
    pub custom_fields: BTreeMap<String, Figure>,
}

fn pair(
    current: &BTreeMap<String, i64>,
    previous: &BTreeMap<String, i64>,
) -> BTreeMap<String, Figure> {
    let mut out = BTreeMap::new();
    for (k, v) in current {
        out.entry(k.clone()).or_insert_with(Figure::default).current = *v;
    }
    for (k, v) in previous {
        out.entry(k.clone())
            .or_insert_with(Figure::default)
            .previous = *v;
    }
    out
}

impl Store {
    /// The activity report for `from..=to` (whole days, UTC), optionally for one team, with the
    /// period of the same length just before.
    pub fn report(&self, from: NaiveDate, to: NaiveDate, team: Option<&str>) -> Result<Report> {
        if to < from {
            return Err(CoreError::invalid("period", "ends before it starts"));
        }
        if (to - from).num_days() > 3_660 {
            return Err(CoreError::invalid("period", "is longer than ten years"));
        }
        let team = team.map(str::trim).filter(|t| !t.is_empty());
        let days = (to - from).num_days() + 1;
        let previous_to = from - Duration::days(1);
        let previous_from = from - Duration::days(days);
        let conn = self.lock();
        // Every journey period and household membership, read once for both periods.
        let mut rows = crate::store::housing::Rows::load(&conn)?;
        let c = period(&conn, &mut rows, from, to, team)?;
        let p = period(&conn, &mut rows, previous_from, previous_to, team)?;
        let f = |current, previous| Figure { current, previous };
        Ok(Report {
            from,
            to,
            previous_from,
            previous_to,
            team: team.map(str::to_string),
            encounters: f(c.encounters, p.encounters),
            persons_met: f(c.persons_met, p.persons_met),
            new_persons: f(c.new_persons, p.new_persons),
            anonymous_contacts: f(c.anonymous, p.anonymous),
            services: pair(&c.services, &p.services),
            needs: pair(&c.needs, &p.needs),
            referrals_by_target: pair(&c.by_target, &p.by_target),
            referrals_by_outcome: pair(&c.by_outcome, &p.by_outcome),
            actions_done: f(c.actions_done, p.actions_done),
            actions_due: f(c.actions_due, p.actions_due),
            actions_overdue: f(c.actions_overdue, p.actions_overdue),
            situation_changes: pair(&c.situations, &p.situations),
            health_contacts: f(c.health_contacts, p.health_contacts),
            health_persons: f(c.health_persons, p.health_persons),
            households_met: f(c.housing.households_met, p.housing.households_met),
            household_sizes: pair(&c.housing.household_sizes, &p.housing.household_sizes),
            households_with_children: f(
                c.housing.households_with_children,
                p.housing.households_with_children,
            ),
            street_exits: pair(&c.housing.street_exits, &p.housing.street_exits),
            housed: f(c.housing.housed, p.housing.housed),
            homes_lost: f(c.housing.homes_lost, p.housing.homes_lost),
            days_to_housing: f(c.housing.days_to_housing, p.housing.days_to_housing),
            applications: pair(&c.housing.applications, &p.housing.applications),
            home_visits: f(c.housing.home_visits, p.housing.home_visits),
            risks: pair(&c.housing.risks, &p.housing.risks),
            proposals: pair(&c.housing.proposals, &p.housing.proposals),
            own_views: pair(&c.housing.own_views, &p.housing.own_views),
            satisfaction: pair(&c.housing.satisfaction, &p.housing.satisfaction),
            custom_fields: pair(&c.custom, &p.custom),
        })
    }
}

/// The breakdowns of a report in its flat form ([`Report::figures`]): a short prefix per map.
const BREAKDOWNS: [&str; 13] = [
    "s", "n", "t", "o", "c", "h", "x", "a", "r", "p", "w", "v", "f",
];

impl Report {
    fn breakdowns(&self) -> [&BTreeMap<String, Figure>; 13] {
        [
            &self.services,
            &self.needs,
            &self.referrals_by_target,
            &self.referrals_by_outcome,
            &self.situation_changes,
            &self.household_sizes,
            &self.street_exits,
            &self.applications,
            &self.risks,
            &self.proposals,
            &self.own_views,
            &self.satisfaction,
            &self.custom_fields,
        ]
    }

    fn headlines(&self) -> [(&'static str, Figure); 15] {
        [
            ("encounters", self.encounters),
            ("persons_met", self.persons_met),
            ("new_persons", self.new_persons),
            ("anonymous_contacts", self.anonymous_contacts),
            ("actions_done", self.actions_done),
            ("actions_due", self.actions_due),
            ("actions_overdue", self.actions_overdue),
            ("health_contacts", self.health_contacts),
            ("health_persons", self.health_persons),
            ("households_met", self.households_met),
            ("households_with_children", self.households_with_children),
            ("housed", self.housed),
            ("homes_lost", self.homes_lost),
            ("days_to_housing", self.days_to_housing),
            ("home_visits", self.home_visits),
        ]
    }

    /// The report's figures as a flat map, what a statistics space receives: a headline's name
    /// (`encounters`) or a breakdown's prefix and code (`s.food` for a service, `n.` needs,
    /// `t.` referral targets, `o.` referral outcomes, `c.` situation changes, `h.` household
    /// sizes, `x.` exits from the street, `a.` housing applications, `r.` risks to homes, `p.`
    /// proposals of offers by outcome, `w.` own views by step, `v.` by satisfaction, `f.` the
    /// organisation's fields:
    /// `f.person.logement_souhaite.t2`) -> "current previous". Codes only: nothing nominative.
    pub fn figures(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (name, f) in self.headlines() {
            out.insert(name.to_string(), format!("{} {}", f.current, f.previous));
        }
        for (prefix, map) in BREAKDOWNS.iter().zip(self.breakdowns()) {
            for (code, f) in map {
                out.insert(
                    format!("{prefix}.{code}"),
                    format!("{} {}", f.current, f.previous),
                );
            }
        }
        out
    }

    /// A report read back from [`Report::figures`] for `from..=to` and `team`. An entry that
    /// does not read (another device's newer figure, a damaged value) is refused whole.
    pub fn from_figures(
        from: NaiveDate,
        to: NaiveDate,
        team: Option<String>,
        figures: &BTreeMap<String, String>,
    ) -> Result<Report> {
        let bad = |key: &str| CoreError::invalid("figures", format!("{key:?} does not read"));
        let days = (to - from).num_days() + 1;
        let mut r = Report {
            from,
            to,
            previous_from: from - Duration::days(days),
            previous_to: from - Duration::days(1),
            team,
            encounters: Figure::default(),
            persons_met: Figure::default(),
            new_persons: Figure::default(),
            anonymous_contacts: Figure::default(),
            services: BTreeMap::new(),
            needs: BTreeMap::new(),
            referrals_by_target: BTreeMap::new(),
            referrals_by_outcome: BTreeMap::new(),
            actions_done: Figure::default(),
            actions_due: Figure::default(),
            actions_overdue: Figure::default(),
            situation_changes: BTreeMap::new(),
            health_contacts: Figure::default(),
            health_persons: Figure::default(),
            households_met: Figure::default(),
            household_sizes: BTreeMap::new(),
            households_with_children: Figure::default(),
            street_exits: BTreeMap::new(),
            housed: Figure::default(),
            homes_lost: Figure::default(),
            days_to_housing: Figure::default(),
            applications: BTreeMap::new(),
            home_visits: Figure::default(),
            risks: BTreeMap::new(),
            proposals: BTreeMap::new(),
            own_views: BTreeMap::new(),
            satisfaction: BTreeMap::new(),
            custom_fields: BTreeMap::new(),
        };
        for (key, value) in figures {
            let mut parts = value.split(' ').map(str::parse::<i64>);
            let figure = match (parts.next(), parts.next(), parts.next()) {
                (Some(Ok(current)), Some(Ok(previous)), None) if current >= 0 && previous >= 0 => {
                    Figure { current, previous }
                }
                _ => return Err(bad(key)),
            };
            let slot = match key.split_once('.') {
                Some((prefix, code)) if !code.is_empty() => {
                    let map = match prefix {
                        "s" => &mut r.services,
                        "n" => &mut r.needs,
                        "t" => &mut r.referrals_by_target,
                        "o" => &mut r.referrals_by_outcome,
                        "c" => &mut r.situation_changes,
                        "h" => &mut r.household_sizes,
                        "x" => &mut r.street_exits,
                        "a" => &mut r.applications,
                        "r" => &mut r.risks,
                        "p" => &mut r.proposals,
                        "w" => &mut r.own_views,
                        "v" => &mut r.satisfaction,
                        "f" => &mut r.custom_fields,
                        _ => return Err(bad(key)),
                    };
                    map.entry(code.to_string()).or_default()
                }
                Some(_) => return Err(bad(key)),
                None => match key.as_str() {
                    "encounters" => &mut r.encounters,
                    "persons_met" => &mut r.persons_met,
                    "new_persons" => &mut r.new_persons,
                    "anonymous_contacts" => &mut r.anonymous_contacts,
                    "actions_done" => &mut r.actions_done,
                    "actions_due" => &mut r.actions_due,
                    "actions_overdue" => &mut r.actions_overdue,
                    "health_contacts" => &mut r.health_contacts,
                    "health_persons" => &mut r.health_persons,
                    "households_met" => &mut r.households_met,
                    "households_with_children" => &mut r.households_with_children,
                    "housed" => &mut r.housed,
                    "homes_lost" => &mut r.homes_lost,
                    "days_to_housing" => &mut r.days_to_housing,
                    "home_visits" => &mut r.home_visits,
                    _ => return Err(bad(key)),
                },
            };
            *slot = figure;
        }
        Ok(r)
    }
}

/// Counts under this are shown as `< 5` in the CSV for funders: a small count could single out
/// a person (three persons referred to psychiatry in a small team's month).
pub const SMALL_COUNT: i64 = 5;

/// A count as the CSV for funders shows it: `< 5` under `SMALL_COUNT` (zero included: the cell
/// says "under 5", not "a few"), the figure otherwise.
pub fn funder_count(n: i64) -> String {
    if n < SMALL_COUNT {
        format!("< {SMALL_COUNT}")
    } else {
        n.to_string()
    }
}

impl Report {
    /// The CSV for funders: a header (`section`, `item`, `current`, `previous`), then one row
    /// per figure of `sections`, with every count under 5 shown as `< 5`. A breakdown that
    /// would hide one cell alone in a column also hides its smallest shown cell there, as `s`
    /// (secret): the same events are counted in several breakdowns (referrals by target and by
    /// outcome), so a lone hidden cell is the total less the others. The text and JSON outputs,
    /// for the office, keep exact figures.
    pub fn funder_csv_rows(&self, lang: Lang, extra: &[ExtraTerm]) -> Vec<Vec<String>> {
        let mut rows = vec![["section", "item", "current", "previous"]
            .map(str::to_string)
            .to_vec()];
        for section in self.sections(lang, extra) {
            let mut cells: Vec<[String; 2]> = section
                .lines
                .iter()
                .map(|l| {
                    [
                        funder_count(l.figure.current),
                        funder_count(l.figure.previous),
                    ]
                })
                .collect();
            if section.breakdown {
                if let Some(i) = complementary(&section.lines, |f| f.current) {
                    cells[i][0] = SECRET.to_string();
                }
                if let Some(i) = complementary(&section.lines, |f| f.previous) {
                    cells[i][1] = SECRET.to_string();
                }
            }
            if section.key == "journey" {
                // A median of days is no count: it is shown when enough were housed for it not
                // to be one person's, hidden otherwise.
                let median = |days: i64, housed: i64| {
                    if housed < SMALL_COUNT {
                        SECRET.to_string()
                    } else {
                        days.to_string()
                    }
                };
                for (line, cell) in section.lines.iter().zip(cells.iter_mut()) {
                    if line.key == "days_to_housing" {
                        *cell = [
                            median(line.figure.current, self.housed.current),
                            median(line.figure.previous, self.housed.previous),
                        ];
                    }
                }
            }
            for (line, [current, previous]) in section.lines.into_iter().zip(cells) {
                rows.push(vec![section.key.to_string(), line.key, current, previous]);
            }
        }
        rows
    }
}

/// How the funders' CSV shows a cell hidden only so that a small one cannot be worked out.
pub const SECRET: &str = "s";

/// In one column of a breakdown (`value` of each line), the line to hide as well when exactly
/// one is under 5: the smallest shown.
fn complementary(lines: &[Line], value: impl Fn(&Figure) -> i64) -> Option<usize> {
    let hidden = lines
        .iter()
        .filter(|l| value(&l.figure) < SMALL_COUNT)
        .count();
    if hidden != 1 {
        return None;
    }
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| value(&l.figure) >= SMALL_COUNT)
        .min_by_key(|(_, l)| value(&l.figure))
        .map(|(i, _)| i)
}

/// One section of the report as every output shows it (text, CSV, dashboard): defined here once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Section {
    /// A stable key (`activity`, `services`...): the CSV's first column.
    pub key: &'static str,
    pub title: &'static str,
    /// A breakdown by code (drawn as a chart), or a few headline figures (a table).
    pub breakdown: bool,
    pub lines: Vec<Line>,
}

/// One figure of a section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    /// A stable key (`encounters`, a code, `street -> squat`): the CSV's second column.
    pub key: String,
    /// What a person reads, in the language asked for.
    pub label: String,
    pub figure: Figure,
}

impl Report {
    /// The report's sections, in order, labelled in `lang` (codes by their list's labels,
    /// the organisation's own codes included); the organisation's fields by their keys (see
    /// [`Report::sections_with_fields`]).
    pub fn sections(&self, lang: Lang, extra: &[ExtraTerm]) -> Vec<Section> {
        self.sections_with_fields(lang, extra, &[])
    }

    /// [`Report::sections`], the organisation's fields labelled by their definitions `fields`
    /// (a figure of a field not among them by its key).
    pub fn sections_with_fields(
        &self,
        lang: Lang,
        extra: &[ExtraTerm],
        fields: &[CustomField],
    ) -> Vec<Section> {
        let words = |fr: &'static str, en: &'static str| match lang {
            Lang::Fr => fr,
            Lang::En => en,
        };
        let fixed = |lines: &[(&str, &'static str, &'static str, Figure)]| {
            lines
                .iter()
                .map(|(key, fr, en, figure)| Line {
                    key: key.to_string(),
                    label: words(fr, en).to_string(),
                    figure: *figure,
                })
                .collect()
        };
        let coded = |vocab: Vocab, map: &BTreeMap<String, Figure>| {
            map.iter()
                .map(|(code, figure)| Line {
                    key: code.clone(),
                    label: label(vocab, code, extra, lang),
                    figure: *figure,
                })
                .collect()
        };
        let changes = self
            .situation_changes
            .iter()
            .map(|(key, figure)| Line {
                key: key.clone(),
                label: key
                    .split(" -> ")
                    .map(|code| label(Vocab::Situation, code, extra, lang))
                    .collect::<Vec<_>>()
                    .join(" → "),
                figure: *figure,
            })
            .collect();
        let mut sections = vec![
            Section {
                key: "activity",
                title: words("Activité", "Activity"),
                breakdown: false,
                lines: fixed(&[
                    ("encounters", "Rencontres", "Encounters", self.encounters),
                    (
                        "persons_met",
                        "Personnes rencontrées (distinctes)",
                        "Distinct persons met",
                        self.persons_met,
                    ),
                    (
                        "new_persons",
                        "Nouvelles personnes",
                        "New persons",
                        self.new_persons,
                    ),
                    (
                        "anonymous_contacts",
                        "Contacts anonymes",
                        "Anonymous contacts",
                        self.anonymous_contacts,
                    ),
                ]),
            },
            Section {
                key: "services",
                title: words("Prestations", "Services given"),
                breakdown: true,
                lines: coded(Vocab::Service, &self.services),
            },
            Section {
                key: "needs",
                title: words(
                    "Besoins observés (personnes rencontrées)",
                    "Needs observed (persons met)",
                ),
                breakdown: true,
                lines: coded(Vocab::Need, &self.needs),
            },
            Section {
                key: "referrals_by_target",
                title: words("Orientations par destination", "Referrals by target"),
                breakdown: true,
                lines: coded(Vocab::ReferralTarget, &self.referrals_by_target),
            },
            Section {
                key: "referrals_by_outcome",
                title: words("Orientations par suite", "Referrals by outcome"),
                breakdown: true,
                lines: coded(Vocab::ReferralStatus, &self.referrals_by_outcome),
            },
            Section {
                key: "situation_changes",
                title: words("Changements de situation", "Situation changes"),
                breakdown: true,
                lines: changes,
            },
            Section {
                key: "households",
                title: words("Ménages rencontrés", "Households met"),
                breakdown: false,
                lines: fixed(&[
                    (
                        "households_met",
                        "Ménages dont un membre a été rencontré",
                        "Households with a member met",
                        self.households_met,
                    ),
                    (
                        "with_children",
                        "dont avec enfants",
                        "of which with children",
                        self.households_with_children,
                    ),
                ]),
            },
            Section {
                key: "household_sizes",
                title: words("Ménages par taille", "Households by size"),
                breakdown: true,
                lines: self
                    .household_sizes
                    .iter()
                    .map(|(size, figure)| Line {
                        key: size.clone(),
                        label: match (lang, size.as_str()) {
                            (Lang::Fr, "1") => "1 personne".to_string(),
                            (Lang::En, "1") => "1 person".to_string(),
                            (Lang::Fr, "5+") => "5 personnes ou plus".to_string(),
                            (Lang::En, "5+") => "5 persons or more".to_string(),
                            (Lang::Fr, n) => format!("{n} personnes"),
                            (Lang::En, n) => format!("{n} persons"),
                        },
                        figure: *figure,
                    })
                    .collect(),
            },
            Section {
                key: "journey",
                title: words("Parcours vers le logement", "Journeys to a home"),
                breakdown: false,
                lines: fixed(&[
                    (
                        "housed",
                        "Entrées dans un logement (un ménage compte une fois)",
                        "Moves into a home (a household counts once)",
                        self.housed,
                    ),
                    (
                        "homes_lost",
                        "Logements perdus (ruptures)",
                        "Homes lost",
                        self.homes_lost,
                    ),
                    (
                        "days_to_housing",
                        "Jours du premier contact au logement (médiane)",
                        "Days from first contact to a home (median)",
                        self.days_to_housing,
                    ),
                ]),
            },
            Section {
                key: "street_exits",
                title: words("Sorties de la rue, vers", "Exits from the street, to"),
                breakdown: true,
                lines: coded(Vocab::Situation, &self.street_exits),
            },
            Section {
                key: "applications",
                title: words(
                    "Demandes de logement déposées",
                    "Housing applications filed",
                ),
                breakdown: true,
                lines: coded(Vocab::ApplicationKind, &self.applications),
            },
            Section {
                key: "support_at_home",
                title: words("Accompagnement dans le logement", "Support at home"),
                breakdown: false,
                lines: fixed(&[(
                    "home_visits",
                    "Visites à domicile",
                    "Home visits",
                    self.home_visits,
                )]),
            },
            Section {
                key: "risks",
                title: words("Risques pour le logement signalés", "Risks to homes raised"),
                breakdown: true,
                lines: coded(Vocab::RiskKind, &self.risks),
            },
            Section {
                key: "proposals",
                title: words(
                    "Propositions de logement, par suite",
                    "Homes proposed, by outcome",
                ),
                breakdown: true,
                lines: coded(Vocab::ProposalOutcome, &self.proposals),
            },
            Section {
                key: "own_views",
                title: words(
                    "Parole des personnes, par étape",
                    "The persons' own views, by step",
                ),
                breakdown: true,
                lines: coded(Vocab::ViewStep, &self.own_views),
            },
            Section {
                key: "satisfaction",
                title: words(
                    "Satisfaction exprimée (1 à 5)",
                    "Satisfaction expressed (1 to 5)",
                ),
                breakdown: true,
                lines: self
                    .satisfaction
                    .iter()
                    .map(|(score, figure)| Line {
                        key: score.clone(),
                        label: format!("{score}/5"),
                        figure: *figure,
                    })
                    .collect(),
            },
            Section {
                key: "actions",
                title: words("Suivis", "Actions"),
                breakdown: false,
                lines: fixed(&[
                    ("done", "Faits", "Done", self.actions_done),
                    (
                        "due",
                        "À échéance dans la période",
                        "Due in the period",
                        self.actions_due,
                    ),
                    ("overdue", "En retard", "Overdue", self.actions_overdue),
                ]),
            },
            Section {
                key: "health",
                title: words(
                    "Suivi santé (sans contenu)",
                    "Health follow-up (no content)",
                ),
                breakdown: false,
                lines: fixed(&[
                    (
                        "contacts",
                        "Contacts avec un professionnel de santé",
                        "Contacts with a health professional",
                        self.health_contacts,
                    ),
                    (
                        "persons",
                        "Personnes suivies (distinctes)",
                        "Distinct persons followed",
                        self.health_persons,
                    ),
                ]),
            },
        ];
        if !self.custom_fields.is_empty() {
            sections.push(Section {
                key: "custom_fields",
                title: words("Champs de l'organisation", "The organisation's own fields"),
                breakdown: false,
                lines: self
                    .custom_fields
                    .iter()
                    .map(|(key, figure)| Line {
                        key: key.clone(),
                        label: custom_label(key, fields, lang),
                        figure: *figure,
                    })
                    .collect(),
            });
        }
        sections
    }
}

/// The label of one figure of the organisation's fields (`KIND.NAME.ITEM`): the field's label
/// and the choice's (or "oui", "somme"); the key itself for a field not defined here.
fn custom_label(key: &str, fields: &[CustomField], lang: Lang) -> String {
    let mut parts = key.splitn(3, '.');
    let (Some(kind), Some(name), Some(item)) = (parts.next(), parts.next(), parts.next()) else {
        return key.to_string();
    };
    let Some(def) = fields
        .iter()
        .find(|f| f.kind.name() == kind && f.name == name)
    else {
        return key.to_string();
    };
    let what = match (def.ty, item, lang) {
        (crate::CustomType::YesNo, _, Lang::Fr) => "oui".to_string(),
        (crate::CustomType::YesNo, _, Lang::En) => "yes".to_string(),
        (crate::CustomType::Number, _, Lang::Fr) => "somme".to_string(),
        (crate::CustomType::Number, _, Lang::En) => "sum".to_string(),
        _ => def.choice_label(item, lang),
    };
    let whose = match (def.kind, lang) {
        (crate::Kind::Encounter, Lang::Fr) => "rencontres",
        (crate::Kind::Encounter, Lang::En) => "encounters",
        (_, Lang::Fr) => "personnes",
        (_, Lang::En) => "persons",
    };
    format!("{} ({whose}) : {what}", def.label(lang))
}
