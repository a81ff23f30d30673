//! Attacks on the role dashboards that break a guarantee today: each test asserts what should
//! hold and fails until the dashboard is fixed. The setting is the office's own partnership
//! store (`--partner siao dashboard`, which edits the shared assessment like a partner's device)
//! and a health professional's device, each against a real relay process.

use std::path::Path;

use allervers_e2e::RelayProcess;
use serde_json::Value;

use crate::dashboard::Dashboard;
use crate::sync::{cli, json};

/// What the partner already wrote in the shared assessment.
const SOUGHT: &str = "pension de famille près du canal";

/// An office with a team space, one person (Ludovic) who consented to share their identity and
/// the assessment with the SIAO, published, and `housing_sought` already written. Returns the
/// relay (kept running), the office's folder and the projection's id.
fn office_with_an_assessment() -> (RelayProcess, tempfile::TempDir, tempfile::TempDir, String) {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let office_dir = tempfile::tempdir().unwrap();
    let office = office_dir.path();
    json(
        office,
        &["init", "--device-name", "Poste bureau", "--worker", "Nadia"],
    );
    json(
        office,
        &["space", "create", "Maraude Est", "--relay", &relay.url],
    );
    let person = json(office, &["person", "add", "--name", "Ludovic Marchetti"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    json(office, &["partnership", "open", "siao"]);
    json(
        office,
        &[
            "consent",
            "record",
            &person,
            "--partner",
            "siao",
            "--category",
            "identity_contact",
            "--category",
            "shared_assessment",
            "--given",
            "--how",
            "oral",
        ],
    );
    json(office, &["partnership", "publish", "siao"]);
    let projection = only_projection(office)["id"].as_str().unwrap().to_string();
    json(
        office,
        &[
            "--partner",
            "siao",
            "partnership",
            "assessment",
            &projection,
            "--set",
            &format!("housing_sought={SOUGHT}"),
        ],
    );
    (relay, relay_dir, office_dir, projection)
}

/// The office's one projection for the SIAO, as `partnership list` prints it.
fn only_projection(office: &Path) -> Value {
    let list = json(office, &["--partner", "siao", "partnership", "list"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    list[0].clone()
}

/// How many changes the projection's assessment history holds.
fn history_len(office: &Path, projection: &str) -> usize {
    json(
        office,
        &["--partner", "siao", "partnership", "show", projection],
    )["history"]
        .as_array()
        .unwrap()
        .len()
}

/// Proves that a posted assessment form that lacks one of the five fields (a client that sends
/// only what it changed, or a form cut short) erases that field: a missing field is read as an
/// empty one, and the text the other side wrote is gone. A fix reads an absent field as
/// "unchanged" (only a field present and different is written).
#[test]
fn review_an_assessment_form_without_a_field_erases_what_the_other_side_wrote_there() {
    let (_relay, _relay_dir, office_dir, projection) = office_with_an_assessment();
    let office = office_dir.path();
    let dashboard = Dashboard::start_with(&cli(office), &["--partner", "siao", "dashboard"]);
    let form = format!(
        "token={}&needs={}",
        dashboard.token(),
        "domiciliation%20postale"
    );
    let posted = dashboard.post_form(&format!("/projection/{projection}/assessment"), &form);
    assert_eq!(posted.status, 303, "{}", posted.body);
    let shown = only_projection(office);
    assert_eq!(shown["assessment"]["needs"], "domiciliation postale");
    assert_eq!(
        shown["assessment"]["housing_sought"], SOUGHT,
        "a field the form did not carry was erased"
    );
}

/// Proves that a refused assessment form is half-written: the fields are written one by one,
/// so a first field that changed is kept when a later one is refused (here a control
/// character), and the answer is an error. A fix checks every field before writing any (or
/// writes them in one change).
#[test]
fn review_a_refused_assessment_form_writes_nothing() {
    let (_relay, _relay_dir, office_dir, projection) = office_with_an_assessment();
    let office = office_dir.path();
    let before = history_len(office, &projection);
    let dashboard = Dashboard::start_with(&cli(office), &["--partner", "siao", "dashboard"]);
    let form = format!(
        "token={}&needs=domiciliation&housing_sought={}&own_words=bien%01",
        dashboard.token(),
        "pension%20de%20famille%20pr%C3%A8s%20du%20canal"
    );
    let posted = dashboard.post_form(&format!("/projection/{projection}/assessment"), &form);
    assert_eq!(posted.status, 400, "{}", posted.body);
    assert!(posted.body.contains("own_words"), "{}", posted.body);
    let shown = only_projection(office);
    assert_eq!(
        shown["assessment"]["needs"],
        Value::Null,
        "the refused form wrote a field"
    );
    assert_eq!(history_len(office, &projection), before);
}

/// Proves that bytes that are not UTF-8 in a posted assessment form are not refused: they are
/// written as U+FFFD replacement characters into the shared assessment, which then syncs to the
/// partner. A fix refuses such a form with one clear message and writes nothing.
#[test]
fn review_an_assessment_form_that_is_not_utf8_is_refused() {
    let (_relay, _relay_dir, office_dir, projection) = office_with_an_assessment();
    let office = office_dir.path();
    let before = history_len(office, &projection);
    let dashboard = Dashboard::start_with(&cli(office), &["--partner", "siao", "dashboard"]);
    let form = format!(
        "token={}&needs=h%E9bergement&housing_sought={}",
        dashboard.token(),
        "pension%20de%20famille%20pr%C3%A8s%20du%20canal"
    );
    let posted = dashboard.post_form(&format!("/projection/{projection}/assessment"), &form);
    assert!(
        (400..500).contains(&posted.status),
        "not refused: {}",
        posted.status
    );
    assert_eq!(
        only_projection(office)["assessment"]["needs"],
        Value::Null,
        "bytes that are not UTF-8 were written"
    );
    assert_eq!(history_len(office, &projection), before);
}

/// Proves that an assessment form without its token is not refused with 403 like a wrong one
/// (the form cannot even be read: 422). Nothing is written either way; a fix reads the token as
/// optional and answers 403 for a missing token as for a wrong one.
#[test]
fn review_an_assessment_form_without_its_token_is_refused_with_403() {
    let (_relay, _relay_dir, office_dir, projection) = office_with_an_assessment();
    let office = office_dir.path();
    let dashboard = Dashboard::start_with(&cli(office), &["--partner", "siao", "dashboard"]);
    let path = format!("/projection/{projection}/assessment");
    let wrong = dashboard.post_form(&path, "token=0123&needs=domiciliation");
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    let missing = dashboard.post_form(&path, "needs=domiciliation");
    assert_eq!(only_projection(office)["assessment"]["needs"], Value::Null);
    assert_eq!(missing.status, 403, "{}", missing.body);
}

/// Proves that the health professional's `/health` page shows health content (which person has
/// a note of which category, e.g. addictology, on which day) without logging the reading in the
/// health space's access log, while every other health reading is logged. A fix logs the list's
/// reading (an access entry per person listed, or one for the list) before the page is shown,
/// or shows no category beside a person's name.
#[test]
fn review_the_health_notes_page_is_logged_in_the_health_access_log() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let (office_dir, nurse_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (office, nurse) = (office_dir.path(), nurse_dir.path());
    json(
        office,
        &[
            "init",
            "--device-name",
            "Poste bureau",
            "--worker",
            "Sophie",
        ],
    );
    json(
        nurse,
        &[
            "init",
            "--device-name",
            "Téléphone infirmière",
            "--worker",
            "Amina",
        ],
    );
    json(
        office,
        &["space", "create", "Maraude nord", "--relay", &relay.url],
    );
    let invite = json(office, &["invite"])["code"]
        .as_str()
        .unwrap()
        .to_string();
    json(nurse, &["join", &invite]);
    json(office, &["sync"]);
    json(
        office,
        &[
            "person",
            "add",
            "--name",
            "Baptiste",
            "--nickname",
            "Le Marin",
        ],
    );
    json(office, &["sync"]);
    json(nurse, &["sync"]);
    let opened = json(office, &["health", "code"])["code"]
        .as_str()
        .unwrap()
        .to_string();
    json(nurse, &["health", "found", &opened]);
    json(
        nurse,
        &[
            "health",
            "note",
            "Baptiste",
            "--category",
            "addiction",
            "--text",
            "Entretien, suivi en CSAPA proposé",
        ],
    );
    let logged = |dir: &Path| {
        json(dir, &["--health", "access-log"])
            .as_array()
            .unwrap()
            .len()
    };
    let before = logged(nurse);
    let dashboard = Dashboard::start_with(&cli(nurse), &["dashboard"]);
    let page = dashboard.get(&dashboard.with_token("/health"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Baptiste") || page.body.contains("Le Marin"));
    assert!(page.body.contains("addictologie"), "{}", page.body);
    drop(dashboard);
    assert!(
        logged(nurse) > before,
        "the page showed a person's health category unlogged"
    );
}

/// Proves that a partner's device (a modified app) panics the office's partnerships page by
/// acknowledging an erasure order under a device text whose 8th byte falls inside a character:
/// the page cuts the acknowledging device's id at byte 8 (`&id[..8]` in `status_html`), the
/// handler panics and the office gets no answer, at every visit, until the record is gone. A fix
/// cuts at a character boundary (or shows only acknowledgements whose device is a member of the
/// space, by its id as the roster knows it).
#[test]
fn review_a_partner_device_cannot_break_the_office_partnerships_page() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let office_dir = tempfile::tempdir().unwrap();
    let office = office_dir.path();
    json(
        office,
        &["init", "--device-name", "Poste bureau", "--worker", "Nadia"],
    );
    json(
        office,
        &["space", "create", "Maraude Est", "--relay", &relay.url],
    );
    let person = json(office, &["person", "add", "--name", "Ludovic Marchetti"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    json(office, &["partnership", "open", "siao"]);
    let code = json(office, &["--partner", "siao", "invite"])["code"]
        .as_str()
        .unwrap()
        .to_string();
    // The partner's device, as a modified app would drive its store.
    let partner = allervers_e2e::device("Poste SIAO", "Hélène");
    let invite = partner.store.read_invite(&code).unwrap();
    partner.store.make_partnership_store(&invite.name).unwrap();
    allervers_e2e::join(&partner.store, &code).unwrap();
    let partner_sync = || allervers_e2e::welcome(&partner.store, &[]);
    json(office, &["sync"]);
    partner_sync();
    let consent = |given: &str| {
        json(
            office,
            &[
                "consent",
                "record",
                &person,
                "--partner",
                "siao",
                "--category",
                "identity_contact",
                given,
                "--how",
                "oral",
            ],
        )
    };
    consent("--given");
    json(office, &["partnership", "publish", "siao"]);
    json(office, &["sync"]);
    partner_sync();
    // Ludovic withdraws: the partner's device carries out the order and acknowledges it.
    consent("--refused");
    json(office, &["sync"]);
    partner_sync();
    partner_sync();
    json(office, &["sync"]);
    let status = json(office, &["partnership", "status", "siao"]);
    assert_eq!(
        status["orders"][0]["acknowledged_by"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{status}"
    );
    // The modified app rewrites its acknowledgement's device.
    let acks: Vec<_> = partner
        .store
        .record_ids()
        .unwrap()
        .into_iter()
        .filter(|(_, kind)| kind.name() == "erasure_ack")
        .collect();
    assert_eq!(acks.len(), 1);
    let edit = partner
        .store
        .edit_from_text(acks[0].1, "device", "aéééééééé")
        .unwrap();
    partner.store.edit(acks[0].0, &[edit]).unwrap();
    partner_sync();
    json(office, &["sync"]);
    let status = json(office, &["partnership", "status", "siao"]);
    assert_eq!(
        status["orders"][0]["acknowledged_by"][0], "aéééééééé",
        "{status}"
    );

    let dashboard = Dashboard::start_with(&cli(office), &["dashboard"]);
    assert_eq!(
        dashboard.status_of("/partnerships"),
        Some(200),
        "the office's partnerships page gave no answer"
    );
}

/// Proves that a partner's device (a modified app) can make the office believe that another
/// partner device carried out an erasure order it never received: an acknowledgement names its
/// device in a text field, and the office's status (and its partnerships page) trusts that text
/// instead of the record's author. A fix counts an acknowledgement only for the device that
/// wrote it (the change's author, as the roster knows it) and ignores the others.
#[test]
fn review_a_partner_device_cannot_acknowledge_an_erasure_for_another_device() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let office_dir = tempfile::tempdir().unwrap();
    let office = office_dir.path();
    json(
        office,
        &["init", "--device-name", "Poste bureau", "--worker", "Nadia"],
    );
    json(
        office,
        &["space", "create", "Maraude Est", "--relay", &relay.url],
    );
    let person = json(office, &["person", "add", "--name", "Ludovic Marchetti"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    json(office, &["partnership", "open", "siao"]);
    // Two partner devices: the first runs a modified app, the second stays offline once it
    // holds the projection.
    let modified = allervers_e2e::device("Poste SIAO 1", "Hélène");
    let offline = allervers_e2e::device("Poste SIAO 2", "Loïc");
    for d in [&modified, &offline] {
        let code = json(office, &["--partner", "siao", "invite"])["code"]
            .as_str()
            .unwrap()
            .to_string();
        let invite = d.store.read_invite(&code).unwrap();
        d.store.make_partnership_store(&invite.name).unwrap();
        allervers_e2e::join(&d.store, &code).unwrap();
    }
    let sync = |d: &allervers_e2e::Device| allervers_e2e::welcome(&d.store, &[]);
    json(office, &["sync"]);
    sync(&modified);
    sync(&offline);
    let consent = |given: &str| {
        json(
            office,
            &[
                "consent",
                "record",
                &person,
                "--partner",
                "siao",
                "--category",
                "identity_contact",
                given,
                "--how",
                "oral",
            ],
        )
    };
    consent("--given");
    json(office, &["partnership", "publish", "siao"]);
    json(office, &["sync"]);
    sync(&modified);
    sync(&offline);
    assert_eq!(offline.store.projections().unwrap().len(), 1);
    consent("--refused");
    json(office, &["sync"]);
    sync(&modified);
    sync(&modified);
    // The modified app rewrites its acknowledgement under the offline device's id.
    let ack = modified
        .store
        .record_ids()
        .unwrap()
        .into_iter()
        .find(|(_, kind)| kind.name() == "erasure_ack")
        .expect("the order was carried out");
    let other = offline.store.identity().device.to_string();
    let edit = modified
        .store
        .edit_from_text(ack.1, "device", &other)
        .unwrap();
    modified.store.edit(ack.0, &[edit]).unwrap();
    sync(&modified);
    json(office, &["sync"]);

    // The offline device still holds the projection: it never carried out the order.
    assert_eq!(offline.store.projections().unwrap().len(), 1);
    let dashboard = Dashboard::start_with(&cli(office), &["dashboard"]);
    let page = dashboard.get(&dashboard.with_token("/partnerships"));
    assert_eq!(page.status, 200);
    let acknowledged_cell = page
        .body
        .split(r#"<td class="acknowledged">"#)
        .nth(1)
        .and_then(|rest| rest.split("</td>").next())
        .unwrap_or_default()
        .to_string();
    assert!(
        !acknowledged_cell.contains("Poste SIAO 2"),
        "the page shows a device that never carried out the order as having done so: {acknowledged_cell}"
    );
    let status = json(office, &["partnership", "status", "siao"]);
    let acknowledged: Vec<_> = status["orders"][0]["acknowledged_by"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    assert!(
        !acknowledged.contains(&other.as_str()),
        "a device that never carried out the order is shown as having done so: {status}"
    );
}

/// Proves that a partner's device (a modified app) can move a person's shared assessment onto
/// another person's projection, one who never consented to an assessment: the office's
/// dashboard then shows that person an assessment (with another person's words) and its form
/// writes there, past the consent. A fix refuses, on receipt, a change of an assessment's
/// `projection` (set once, at its creation by the office), and the office finds a projection's
/// assessment by the consent it published.
#[test]
fn review_a_partner_device_cannot_move_an_assessment_to_a_person_who_did_not_consent() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let office_dir = tempfile::tempdir().unwrap();
    let office = office_dir.path();
    json(
        office,
        &["init", "--device-name", "Poste bureau", "--worker", "Nadia"],
    );
    json(
        office,
        &["space", "create", "Maraude Est", "--relay", &relay.url],
    );
    let add = |name: &str| {
        json(office, &["person", "add", "--name", name])["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (ludovic, theo) = (add("Ludovic Marchetti"), add("Théo Garnier"));
    json(office, &["partnership", "open", "siao"]);
    let code = json(office, &["--partner", "siao", "invite"])["code"]
        .as_str()
        .unwrap()
        .to_string();
    let partner = allervers_e2e::device("Poste SIAO", "Hélène");
    let invite = partner.store.read_invite(&code).unwrap();
    partner.store.make_partnership_store(&invite.name).unwrap();
    allervers_e2e::join(&partner.store, &code).unwrap();
    let partner_sync = || allervers_e2e::welcome(&partner.store, &[]);
    json(office, &["sync"]);
    partner_sync();
    for (person, categories) in [
        (&ludovic, &["identity_contact", "shared_assessment"][..]),
        (&theo, &["identity_contact"][..]),
    ] {
        let mut args = vec!["consent", "record", person, "--partner", "siao"];
        for c in categories {
            args.extend(["--category", c]);
        }
        args.extend(["--given", "--how", "oral"]);
        json(office, &args);
    }
    json(office, &["partnership", "publish", "siao"]);
    json(office, &["sync"]);
    partner_sync();
    let projections = partner.store.projections().unwrap();
    let of = |name: &str| {
        projections
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .expect("a shared person")
    };
    let (p_ludovic, p_theo) = (of("Ludovic Marchetti"), of("Théo Garnier"));
    assert!(p_theo.assessment.is_none());
    let assessment = p_ludovic.assessment.as_ref().expect("consented").id;
    let kind = partner
        .store
        .record_ids()
        .unwrap()
        .into_iter()
        .find(|(id, _)| *id == assessment)
        .unwrap()
        .1;
    let words = partner
        .store
        .edit_from_text(kind, "own_words", "je bois trop depuis l'hiver")
        .unwrap();
    let moved = partner
        .store
        .edit_from_text(kind, "projection", &p_theo.id.to_string())
        .unwrap();
    partner.store.edit(assessment, &[words, moved]).unwrap();
    partner_sync();
    json(office, &["sync"]);

    let theo_projection = p_theo.id.to_string();
    let dashboard = Dashboard::start_with(&cli(office), &["--partner", "siao", "dashboard"]);
    let page = dashboard.get(&dashboard.with_token(&format!("/projection/{theo_projection}")));
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("je bois trop"),
        "another person's words on the page of a person who did not consent to an assessment"
    );
    let posted = dashboard.post_form(
        &format!("/projection/{theo_projection}/assessment"),
        &format!("token={}&needs=domiciliation", dashboard.token()),
    );
    assert_eq!(
        posted.status, 400,
        "the form wrote an assessment for a person who did not consent"
    );
}
