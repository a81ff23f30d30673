//! `allervers consent`: decisions recorded per partner and category, the consent now, and bad
//! input refused whole with one line.

use crate::commands::{fails, init, json, ok};

#[test]
fn consent_is_recorded_per_partner_and_category_and_a_withdrawal_wins() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    ok(
        d,
        &["person", "add", "--name", "Amina", "--situation", "street"],
    );
    ok(d, &["person", "add", "--name", "Bastien"]);
    ok(
        d,
        &[
            "code",
            "add",
            "partner",
            "hlm_nord",
            "--fr",
            "Hlm Nord",
            "--en",
            "Hlm North",
        ],
    );
    let given = json(
        d,
        &[
            "consent",
            "record",
            "amina",
            "--partner",
            "hlm_nord",
            "--category",
            "identity_contact",
            "--category",
            "situation_journey",
            "--given",
            "--how",
            "written",
            "--on",
            "2026-01-10",
        ],
    );
    assert_eq!(given["ids"].as_array().unwrap().len(), 2);
    ok(
        d,
        &[
            "consent",
            "record",
            "amina",
            "--partner",
            "hlm_nord",
            "--category",
            "situation_journey",
            "--refused",
            "--how",
            "oral",
            "--note",
            "retire son accord",
        ],
    );
    let list = json(d, &["consent", "list", "amina"]);
    let now: Vec<(String, bool)> = list["current"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["category"].as_str().unwrap().to_string(),
                c["given"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        now,
        vec![
            ("identity_contact".to_string(), true),
            ("situation_journey".to_string(), false)
        ]
    );
    assert_eq!(list["decisions"].as_array().unwrap().len(), 3);
    let text = ok(d, &["consent", "list", "amina"]);
    assert!(
        text.contains("Hlm Nord / identité et coordonnées: oui"),
        "{text}"
    );
    assert!(
        text.contains("Hlm Nord / situation et parcours: non"),
        "{text}"
    );
    assert_eq!(
        ok(d, &["consent", "list", "bastien"]).trim(),
        "aucune décision enregistrée"
    );
    let timeline = ok(d, &["timeline", "amina"]);
    assert!(
        timeline.contains("Hlm Nord / situation et parcours: refusé (oralement)"),
        "{timeline}"
    );
    assert_eq!(timeline.matches("CONSENTEMENT").count(), 3, "{timeline}");

    // A bad category, partner or date refuses the whole command: nothing more is recorded.
    for (args, field) in [
        (
            ["--partner", "hlm_nord", "--category", "health"],
            "category",
        ),
        (
            ["--partner", "bailleur_x", "--category", "identity_contact"],
            "partner",
        ),
    ] {
        let mut all = vec![
            "consent",
            "record",
            "amina",
            "--category",
            "shared_assessment",
        ];
        all.extend_from_slice(&args);
        all.extend_from_slice(&["--given", "--how", "oral"]);
        let err = fails(d, &all);
        assert!(err.contains(field), "{err}");
    }
    let err = fails(
        d,
        &[
            "consent",
            "record",
            "amina",
            "--partner",
            "siao",
            "--category",
            "identity_contact",
            "--given",
            "--how",
            "oral",
            "--on",
            "2026-02-30",
        ],
    );
    assert!(err.contains("invalid on"), "{err}");
    assert_eq!(
        json(d, &["consent", "list", "amina"])["decisions"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}
