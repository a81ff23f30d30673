//! End to end: a person's erasure through the real relay. A coordinator and two workers, one of
//! them offline while it edits the person and logs an encounter with them; the coordinator
//! erases the person; everyone syncs. Then no store file (every page decrypted with the store's
//! key, free ones included, and its log) holds the person's name, nickname or a note about
//! them, the relay's database holds none of the erased envelopes' bytes, and every store gives
//! the same report, which no longer counts the person.

use allervers_client::HttpClient;
use allervers_core::{Edit, NewEncounter, NewPerson, RecordId, Store, Value};
use allervers_e2e::{create_space, device, invite, join, welcome, Device, RelayProcess};
use chrono::NaiveDate;

use crate::pages;

fn sync(d: &Device) -> allervers_core::SyncSummary {
    allervers_client::sync(&d.store, &HttpClient::default(), &mut |_| {}).unwrap()
}

fn meet(store: &Store, persons: &[RecordId], notes: &str) -> RecordId {
    store
        .log_encounter(&NewEncounter {
            persons: persons.to_vec(),
            place: Some("Quai de Jemmapes".into()),
            notes: Some(notes.into()),
            services: vec!["food".into()],
            ..Default::default()
        })
        .unwrap()
}

/// The sealed bytes of every envelope the relay stores, by sequence number.
fn relay_envelopes(relay: &RelayProcess) -> Vec<(i64, Vec<u8>)> {
    let db = rusqlite::Connection::open_with_flags(
        relay.data.join("relay.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = db
        .prepare("SELECT seq, sealed FROM envelopes ORDER BY seq")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn an_erasure_reaches_every_store_and_the_relay_and_leaves_no_trace_in_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::start(dir.path());
    let (c, w1, w2) = (
        device("Poste bureau", "Nadia"),
        device("Téléphone 1", "Karim"),
        device("Téléphone 2", "Julie"),
    );
    create_space(&relay, &c.store, "Maraude Est");
    join(&w1.store, &invite(&c.store)).unwrap();
    join(&w2.store, &invite(&c.store)).unwrap();
    welcome(&c.store, &[&w1.store, &w2.store]);

    let erased = w1
        .store
        .add_person(&NewPerson {
            name: Some("Gaëtan Zébulon".into()),
            nickname: Some("le Grand Zébulon".into()),
            ..Default::default()
        })
        .unwrap();
    let other = w1
        .store
        .add_person(&NewPerson {
            name: Some("Solène".into()),
            ..Default::default()
        })
        .unwrap();
    meet(&w1.store, &[erased], "Note confidentielle Zq9");
    meet(&w1.store, &[erased, other], "Vus ensemble Wy4");
    meet(&w1.store, &[other], "Solène va bien");
    for d in [&w1, &c, &w2, &c] {
        sync(d);
    }
    let before = relay_envelopes(&relay);
    // What the test looks for is there to be found before the erasure.
    for d in [&c, &w1, &w2] {
        d.store.checkpoint().unwrap();
        let plain = pages::store_plaintext(&d.dir.path().join("store.db"), d.key.as_bytes());
        for needle in ["Zébulon", "Note confidentielle Zq9", "Vus ensemble Wy4"] {
            assert!(
                pages::contains(&plain, needle),
                "{needle:?} not found before"
            );
        }
    }

    // w2, offline: edits the person and logs an encounter with them.
    w2.store
        .edit(
            erased,
            &[Edit::Set(
                "nickname".into(),
                Value::Text("Zébu hors ligne".into()),
            )],
        )
        .unwrap();
    meet(&w2.store, &[erased], "Note hors ligne Kw3");

    let done = c
        .store
        .erase_person(erased, "demande de la personne", false)
        .unwrap();
    assert_eq!((done.encounters, done.reissued), (1, 1));
    sync(&c);
    // w2's round reads the order before it pushes: nothing it wrote about the person leaves.
    for d in [&w2, &w1, &c, &w2, &w1] {
        sync(d);
    }

    let day = |d| NaiveDate::from_ymd_opt(2026, 2, d).unwrap();
    let report = c.store.report(day(1), day(28), None).unwrap();
    for d in [&c, &w1, &w2] {
        assert!(d.store.is_erased(erased).unwrap());
        assert_eq!(d.store.list_persons(&Default::default()).unwrap().len(), 1);
        assert_eq!(d.store.report(day(1), day(28), None).unwrap(), report);
        assert_eq!(d.store.index_rows().unwrap(), c.store.index_rows().unwrap());
    }
    assert_eq!(report.persons_met.current, 1, "only Solène is counted");
    assert_eq!(report.new_persons.current, 1);

    // No page of any store file (after a checkpoint) keeps what was erased.
    for d in [&c, &w1, &w2] {
        d.store.checkpoint().unwrap();
        let plain = pages::store_plaintext(&d.dir.path().join("store.db"), d.key.as_bytes());
        assert!(
            pages::contains(&plain, "Solène va bien"),
            "the pages decrypt"
        );
        for needle in [
            "Zébulon",
            "Zébu hors ligne",
            "Note confidentielle Zq9",
            "Note hors ligne Kw3",
            "Vus ensemble Wy4",
        ] {
            assert!(
                !pages::contains(&plain, needle),
                "{needle:?} survives in {}'s store",
                d.store.identity().worker
            );
        }
    }

    // The relay deleted the erased envelopes: none of their bytes is left in its files.
    let after = relay_envelopes(&relay);
    let gone: Vec<&Vec<u8>> = before
        .iter()
        .filter(|(seq, _)| !after.iter().any(|(s, _)| s == seq))
        .map(|(_, sealed)| sealed)
        .collect();
    assert!(gone.len() >= 3, "{} envelopes deleted", gone.len());
    relay.stop();
    let mut files = vec![relay.data.join("relay.db")];
    let wal = relay.data.join("relay.db-wal");
    if wal.exists() {
        files.push(wal);
    }
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        for sealed in &gone {
            let middle = &sealed[sealed.len() / 2..(sealed.len() / 2 + 32).min(sealed.len())];
            assert!(
                !holds(&bytes, middle),
                "an erased envelope survives in {}",
                file.display()
            );
        }
    }
}
