//! Store benchmark: prints the figures recorded in BENCHMARKS.md.
//!
//! `cargo bench -p allervers-core --bench store` (set `ALLERVERS_BENCH_QUICK=1` for a smaller
//! store while developing). Everything runs in one process on one machine, so the write ratio
//! compares the core with a raw insert measured in the same conditions.

use std::path::Path;
use std::time::{Duration, Instant};

use allervers_core::seed::{self, SeedPlan};
use allervers_core::{NewEncounter, NewPerson, PersonQuery, RawKey, Store};
use chrono::Utc;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rusqlite::{params, Connection};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn file_size(path: &Path) -> u64 {
    let wal = path.with_extension("db-wal");
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

/// A raw SQLCipher connection with the store's settings (raw key, the store's cipher settings,
/// WAL, synchronous=NORMAL).
fn raw_connection(path: &Path, key: &RawKey) -> Connection {
    let conn = Connection::open(path).unwrap();
    let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))
        .unwrap();
    conn.execute_batch(allervers_core::store::CIPHER_SETTINGS)
        .unwrap();
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;")
        .unwrap();
    conn.execute_batch("CREATE TABLE raw (id BLOB PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID")
        .unwrap();
    conn
}

fn encounter_json(e: &NewEncounter) -> String {
    serde_json::json!({
        "occurred_at": e.occurred_at.map(|t| t.to_rfc3339()),
        "recorded_at": Utc::now().to_rfc3339(),
        "place": e.place, "team": e.team, "workers": e.workers,
        "persons": e.persons.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        "anonymous_count": e.anonymous_count, "kind": e.kind, "services": e.services,
        "notes": e.notes, "follow_up": e.follow_up,
    })
    .to_string()
}

fn main() {
    let quick = std::env::var_os("ALLERVERS_BENCH_QUICK").is_some();
    let (persons, encounters) = if quick {
        (1_000, 10_000)
    } else {
        (10_000, 100_000)
    };
    let dir = tempfile::tempdir().unwrap();
    let key = RawKey::generate();
    let mut rng = StdRng::seed_from_u64(7);
    println!(
        "allervers-core store benchmark ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );

    // 1. Logging an encounter: the core against a raw JSON insert, interleaved so that both see
    //    the same machine noise.
    {
        let store = Store::create(&dir.path().join("write.db"), &key, "bench", "Bench").unwrap();
        let people: Vec<_> = (0..500)
            .map(|_| store.add_person(&seed::person(&mut rng)).unwrap())
            .collect();
        let mut raw = raw_connection(&dir.path().join("raw.db"), &key);
        let (mut core_t, mut raw_t) = (Vec::new(), Vec::new());
        let rounds = 3_000;
        for i in 0..rounds {
            let e = seed::encounter(
                &mut rng,
                vec![people[i % people.len()]],
                Utc::now() - chrono::Duration::minutes(5),
            );
            let json = encounter_json(&e);
            let t = Instant::now();
            store.log_encounter(&e).unwrap();
            core_t.push(t.elapsed());
            let t = Instant::now();
            let tx = raw.transaction().unwrap();
            let id = uuid::Uuid::now_v7();
            tx.prepare_cached("INSERT INTO raw (id, json) VALUES (?1, ?2)")
                .unwrap()
                .execute(params![id.as_bytes(), json])
                .unwrap();
            tx.commit().unwrap();
            raw_t.push(t.elapsed());
        }
        let (c, r) = (
            median(core_t[500..].to_vec()),
            median(raw_t[500..].to_vec()),
        );
        println!("log encounter: core median {:.0} µs, raw JSON insert median {:.0} µs, ratio {:.2} (bound 6), {} rounds", us(c), us(r), us(c) / us(r), rounds - 500);
    }

    // 2. A seeded store: open it and list the 50 most recently seen persons.
    let path = dir.path().join("seeded.db");
    {
        let store = Store::create(&path, &key, "bench", "Bench").unwrap();
        let t = Instant::now();
        let mut last = Instant::now();
        let plan = SeedPlan {
            persons,
            encounters,
            days: 365,
            end: Utc::now(),
            seed: 1,
        };
        let seeded = seed::seed(&store, &plan, &mut |done, total| {
            if last.elapsed() > Duration::from_secs(10) {
                eprintln!("  seeding: {done}/{total}");
                last = Instant::now();
            }
        })
        .unwrap();
        store.checkpoint().unwrap();
        let size = file_size(&path);
        println!(
            "seeded {} persons, {} encounters, {} actions, {} referrals in {:.1} s; store file {:.1} MB",
            seeded.persons.len(), seeded.encounters, seeded.actions, seeded.referrals,
            t.elapsed().as_secs_f64(), size as f64 / 1e6
        );
        // Bytes on disk per encounter: the growth of the checkpointed file over 5,000 more.
        let before = file_size(&path);
        for i in 0..5_000 {
            let e = seed::encounter(
                &mut rng,
                vec![seeded.persons[i % seeded.persons.len()]],
                Utc::now() - chrono::Duration::hours(1),
            );
            store.log_encounter(&e).unwrap();
        }
        store.checkpoint().unwrap();
        println!(
            "bytes on disk per encounter: {:.0}",
            (file_size(&path) - before) as f64 / 5_000.0
        );
    }
    let mut open_list = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let store = Store::open(&path, &key).unwrap();
        let listed = store
            .list_persons(&PersonQuery {
                limit: 50,
                ..Default::default()
            })
            .unwrap();
        open_list.push(t.elapsed());
        assert_eq!(listed.len(), 50);
    }
    println!("open store ({persons} persons, {encounters} encounters) + list 50 most recently seen: median {:.1} ms (bound 100 ms)", ms(median(open_list)));

    // 3. The monthly report, a full export of encounters and one of journeys, on the seeded store.
    {
        let store = Store::open(&path, &key).unwrap();
        let today = store.now().date_naive();
        let month_start = today - chrono::Duration::days(30);
        let mut times = Vec::new();
        for _ in 0..7 {
            let t = Instant::now();
            let report = store.report(month_start, today, None).unwrap();
            times.push(t.elapsed());
            assert!(report.encounters.current > 0);
        }
        println!("monthly activity report (31 days, with the previous period): median {:.1} ms (bound 200 ms)", ms(median(times)));
        let t = Instant::now();
        let table = store
            .export(
                allervers_core::export::ExportKind::Encounters,
                today - chrono::Duration::days(400),
                today,
                &allervers_core::export::ExportOptions::nominative(),
                allervers_core::Via::Cli,
            )
            .unwrap();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&table.header).unwrap();
        for row in &table.rows {
            w.write_record(row).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        println!(
            "full CSV export of encounters: {} rows, {:.1} MB in {:.2} s (bound 3 s)",
            table.rows.len(),
            bytes.len() as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
        // Every person's journey is derived (recorded periods and situation changes), as the
        // report does for the persons who moved.
        let t = Instant::now();
        let table = store
            .export(
                allervers_core::export::ExportKind::Journeys,
                today - chrono::Duration::days(400),
                today,
                &allervers_core::export::ExportOptions::pseudonymised(),
                allervers_core::Via::Cli,
            )
            .unwrap();
        println!(
            "pseudonymised export of every journey: {} steps in {:.2} s (bound 3 s)",
            table.rows.len(),
            t.elapsed().as_secs_f64()
        );
    }

    // 4. The field app on the seeded store: the first screen, each keystroke of a search, the
    //    hints of a creation form, the to-see-again screen, and the office's duplicate list.
    {
        use allervers_core::field::{Event, FieldApp};
        let mut first = Vec::new();
        for _ in 0..7 {
            let t = Instant::now();
            let store = Store::open(&path, &key).unwrap();
            let mut app = FieldApp::new(allervers_core::vocab::Lang::Fr);
            // The seeded store is in no team: the worker goes on without one.
            let view = app.update(&store, Event::JoinLater);
            first.push(t.elapsed());
            assert!(matches!(view, allervers_core::field::View::Search(_)));
        }
        println!(
            "field app: open the store and make the first screen: median {:.1} ms (bound 20 ms)",
            ms(median(first))
        );
        let store = Store::open(&path, &key).unwrap();
        let mut app = FieldApp::new(allervers_core::vocab::Lang::Fr);
        // As on the phone: the first screen, then the worker types.
        app.update(&store, Event::JoinLater);
        let mut keystrokes = Vec::new();
        let mut typed = Vec::new();
        for word in ["Karim", "Fatou", "Mamadou", "le Grand", "Zoé", "Qxz"] {
            for _ in 0..3 {
                for end in word.char_indices().map(|(i, c)| i + c.len_utf8()) {
                    let t = Instant::now();
                    app.update(
                        &store,
                        Event::Search {
                            text: word[..end].to_string(),
                        },
                    );
                    keystrokes.push(t.elapsed());
                    typed.push(word[..end].to_string());
                }
            }
        }
        // The first keystroke after the store opened reads the persons' pages from the file;
        // the others find them in SQLite's page cache.
        let first = keystrokes.remove(0);
        typed.remove(0);
        let (slowest, slowest_text) = keystrokes
            .iter()
            .zip(&typed)
            .max_by_key(|(t, _)| **t)
            .map(|(t, w)| (*t, w.clone()))
            .unwrap_or_default();
        println!(
            "field app: a keystroke of a search, view model included ({} keystrokes): first after opening {:.2} ms, then median {:.2} ms, slowest {:.2} ms ({slowest_text:?}) (bound 10 ms)",
            keystrokes.len() + 1,
            ms(first),
            ms(median(keystrokes)),
            ms(slowest)
        );
        let store = Store::open(&path, &key).unwrap();
        let mut hints = Vec::new();
        for name in ["Karim", "Fatou", "le Grand", "Personne Inconnue"] {
            for _ in 0..5 {
                let t = Instant::now();
                store.duplicate_hints(Some(name), None, None).unwrap();
                hints.push(t.elapsed());
            }
        }
        println!(
            "field app: duplicate hints for a typed name: median {:.2} ms (bound 10 ms)",
            ms(median(hints))
        );
        let mut see_again = Vec::new();
        for _ in 0..7 {
            let t = Instant::now();
            app.update(&store, Event::ShowSeeAgain);
            see_again.push(t.elapsed());
        }
        println!(
            "field app: the to-see-again screen: median {:.1} ms",
            ms(median(see_again))
        );
        // Saving the encounter form (one person, a service, a place) to the next view model,
        // interleaved with `log_encounter` of the same encounter on the same store.
        let met = store
            .list_persons(&allervers_core::PersonQuery {
                limit: 1,
                ..Default::default()
            })
            .unwrap()[0]
            .id;
        let (mut saves, mut logs) = (Vec::new(), Vec::new());
        for i in 0..60 {
            app.update(&store, Event::NewEncounter { person: Some(met) });
            app.update(
                &store,
                Event::ToggleService {
                    code: "food".into(),
                },
            );
            app.update(
                &store,
                Event::Place {
                    text: format!("rue des Pyrénées {i}"),
                },
            );
            let t = Instant::now();
            let view = app.update(&store, Event::Save);
            saves.push(t.elapsed());
            assert!(matches!(view, allervers_core::field::View::Search(_)));
            let e = allervers_core::NewEncounter {
                persons: vec![met],
                services: vec!["food".into()],
                place: Some(format!("rue des Pyrénées {i}")),
                ..Default::default()
            };
            let t = Instant::now();
            store.log_encounter(&e).unwrap();
            logs.push(t.elapsed());
        }
        let (save, log) = (median(saves[10..].to_vec()), median(logs[10..].to_vec()));
        println!(
            "field app: save the encounter form to the next view model: median {:.2} ms; log_encounter alone on this store: median {:.2} ms; the form adds {:.2} ms (bound 1 ms over the write)",
            ms(save),
            ms(log),
            ms(save) - ms(log)
        );
        let t = Instant::now();
        let pairs = store.likely_duplicates().unwrap();
        println!(
            "office: likely duplicates among {persons} persons: {} pairs in {:.0} ms",
            pairs.len(),
            ms(t.elapsed())
        );
    }

    // 5. The timeline of one person met 200 times.
    {
        let store = Store::open(&path, &key).unwrap();
        let p = store
            .add_person(&NewPerson {
                name: Some("Karim".into()),
                nickname: Some("le Grand".into()),
                ..Default::default()
            })
            .unwrap();
        for i in 0..200 {
            let e = seed::encounter(
                &mut rng,
                vec![p],
                Utc::now() - chrono::Duration::hours(200 - i),
            );
            store.log_encounter(&e).unwrap();
        }
        let mut times = Vec::new();
        for _ in 0..30 {
            let t = Instant::now();
            let timeline = store.timeline(p).unwrap();
            times.push(t.elapsed());
            assert!(timeline.len() >= 200);
        }
        println!(
            "timeline of a person with 200 encounters: median {:.2} ms (bound 20 ms)",
            ms(median(times))
        );
    }
}
