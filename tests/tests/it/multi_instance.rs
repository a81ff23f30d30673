//! End to end: several relay processes on one PostgreSQL database, behind nginx (round robin,
//! with the rules of `sync-server/deploy/nginx-relay.conf`), serve a space as one relay would:
//! devices converge whichever instance answers, an instance killed in the middle of a push
//! loses nothing it acknowledged, and a PostgreSQL crash costs failed syncs (503 or 502), never
//! an envelope. Needs PostgreSQL (`ALLERVERS_TEST_POSTGRES`, set by `scripts/test.sh`) and nginx.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use allervers_client::HttpClient;
use allervers_core::{CoreError, NewEncounter, NewPerson, RecordId, SyncSummary};
use allervers_e2e::{
    assert_identical, create_space_at, device, fresh_database, invite, join, psql, welcome, Device,
    Nginx, PostgresCluster, RelayProcess,
};

/// A person and an encounter with them: two new records, and the number of changes the device
/// now has to push for them.
fn write_records(d: &Device, label: &str) -> (Vec<RecordId>, u64) {
    let before = d.store.pending_changes().unwrap();
    d.clock.advance_ms(60_000);
    let person = d
        .store
        .add_person(&NewPerson {
            name: Some(format!("Personne {label}")),
            ..Default::default()
        })
        .unwrap();
    let encounter = d
        .store
        .log_encounter(&NewEncounter {
            persons: vec![person],
            place: Some("Parvis de la gare".into()),
            notes: Some(format!("Passage {label}")),
            services: vec!["drink".into()],
            ..Default::default()
        })
        .unwrap();
    let after = d.store.pending_changes().unwrap();
    (vec![person, encounter], after - before)
}

fn sync(d: &Device) -> Result<SyncSummary, CoreError> {
    allervers_client::sync(&d.store, &HttpClient::default(), &mut |_| {})
}

/// What a device sees while an instance or the database is down: nginx's 502 (the instance died
/// under the request), the relay's 503 (its database is unreachable), or no answer. Anything
/// else (a refusal, a page the device rejects) is a bug.
fn is_outage(e: &CoreError) -> bool {
    matches!(
        e,
        CoreError::RelayUnreachable(_)
            | CoreError::RelayRefused {
                status: 502 | 503,
                ..
            }
    )
}

/// Syncs until a round completes, for at most `patience`, 200 ms between tries; every failure
/// on the way must be an outage.
fn sync_until_done(d: &Device, patience: Duration) -> SyncSummary {
    let deadline = Instant::now() + patience;
    loop {
        match sync(d) {
            Ok(summary) => return summary,
            Err(e) if is_outage(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200))
            }
            Err(e) => panic!("{}: {e:?}", d.store.identity().worker),
        }
    }
}

/// `n` relay processes on the database of `database_url`, and nginx in front of them.
fn relays_behind_nginx(database_url: &str, n: usize) -> (Vec<RelayProcess>, Nginx) {
    let relays: Vec<RelayProcess> = (0..n)
        .map(|_| RelayProcess::start_postgres(database_url))
        .collect();
    let ports: Vec<u16> = relays.iter().map(|r| r.port).collect();
    let nginx = Nginx::start(&ports);
    (relays, nginx)
}

/// A coordinator's device that creates a space through nginx (the address every device of the
/// space will use), and `others` devices that join it and receive its key.
fn team(nginx: &Nginx, space: &str, others: usize) -> Vec<Device> {
    let names = ["Amina", "Julien", "Sophie", "Karim", "Inès", "Bastien"];
    let devices: Vec<Device> = (0..=others)
        .map(|i| device(&format!("Téléphone {}", i + 1), names[i]))
        .collect();
    let membership = create_space_at(&nginx.url, &devices[0].store, space);
    assert_eq!(membership.relay, nginx.url);
    for d in &devices[1..] {
        join(&d.store, &invite(&devices[0].store)).unwrap();
    }
    let joined: Vec<_> = devices[1..].iter().map(|d| &d.store).collect();
    welcome(&devices[0].store, &joined);
    devices
}

/// Every device syncs, twice around (what one pushed, the others pull on the second turn); a
/// failed sync is tried again for at most `patience` (none: every sync must succeed).
fn settle(devices: &[Device], patience: Duration) {
    for _ in 0..2 {
        for d in devices {
            sync_until_done(d, patience);
        }
    }
}

/// Every device holds every record in `created`, and all hold the same records and heads.
fn assert_converged(devices: &[Device], created: &[RecordId]) {
    let stores: Vec<_> = devices.iter().map(|d| &d.store).collect();
    assert_identical(&stores);
    for d in devices {
        assert_eq!(d.store.pending_changes().unwrap(), 0);
        let held: std::collections::HashSet<RecordId> = d
            .store
            .record_ids()
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let missing = created.iter().filter(|id| !held.contains(id)).count();
        assert_eq!(
            missing,
            0,
            "{} lacks {missing} of {} records",
            d.store.identity().worker,
            created.len()
        );
    }
}

/// Envelopes stored in the relays' database: every change any device pushed, once.
fn stored_envelopes(database_url: &str) -> u64 {
    psql(database_url, "SELECT count(*) FROM envelopes")
        .parse()
        .unwrap()
}

/// Requests a relay instance answered, from its metrics (asked directly, not through nginx).
fn requests_served(relay: &RelayProcess) -> u64 {
    let mut r = ureq::get(format!("{}/metrics", relay.url)).call().unwrap();
    r.body_mut()
        .read_to_string()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("allervers_relay_requests_total{") && !l.contains("/metrics"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn nginx_round_robins_over_relay_instances() {
    // Two relays on SQLite are enough to see nginx spread requests and step over a dead one.
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (r1, mut r2) = (
        RelayProcess::start(d1.path()),
        RelayProcess::start(d2.path()),
    );
    let nginx = Nginx::start(&[r1.port, r2.port]);
    let healthz = || {
        let mut r = ureq::get(format!("{}/healthz", nginx.url)).call().unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    for _ in 0..10 {
        assert_eq!(healthz(), (200, "ok\n".to_string()));
    }
    assert_eq!((requests_served(&r1), requests_served(&r2)), (5, 5));

    // A body over the relay's 8 MiB is refused by nginx itself, before any instance reads it.
    let big = vec![0u8; 9 * 1024 * 1024];
    let refused = ureq::post(format!("{}/v1/spaces", nginx.url))
        .config()
        .http_status_as_error(false)
        .build()
        .send(&big[..])
        .unwrap();
    assert_eq!(refused.status().as_u16(), 413);

    // With one instance dead, every request still gets an answer (from the other).
    r2.kill();
    for _ in 0..10 {
        assert_eq!(healthz(), (200, "ok\n".to_string()));
    }
    assert_eq!(requests_served(&r1), 15, "{}", nginx.error_log());
}

#[test]
fn devices_sync_through_three_relay_instances_behind_nginx() {
    let database = fresh_database("multi_instance");
    let (relays, nginx) = relays_behind_nginx(&database, 3);
    let devices = team(&nginx, "Maraude trois relais", 3);
    settle(&devices, Duration::ZERO);
    let before = stored_envelopes(&database);
    let (mut created, mut changes) = (Vec::new(), 0);
    for round in 0..5 {
        for d in &devices {
            let worker = &d.store.identity().worker;
            let (ids, n) = write_records(d, &format!("{worker} {round}"));
            created.extend(ids);
            changes += n;
            sync(d).unwrap();
        }
    }
    settle(&devices, Duration::ZERO);
    assert_converged(&devices, &created);
    // Each change stored once, whichever instance took it.
    let stored = stored_envelopes(&database);
    assert_eq!(stored, before + changes);
    // Every instance took its share, and they all count the same envelopes: one database.
    for relay in &relays {
        assert!(requests_served(relay) > 0, "{} served nothing", relay.url);
        let mut r = ureq::get(format!("{}/metrics", relay.url)).call().unwrap();
        let metrics = r.body_mut().read_to_string().unwrap();
        assert!(
            metrics.contains(&format!("\nallervers_relay_envelopes_stored {stored}\n")),
            "{}: {metrics}",
            relay.url
        );
    }
}

/// A psql session in a transaction that holds every space's row, which a push's transaction
/// locks first (`sync-server/src/storage/postgres.rs`): from then on pushes wait, in flight at
/// the instance that took them, until the session ends (on drop).
struct SpaceLock {
    psql: Child,
}

impl SpaceLock {
    fn take(database_url: &str) -> SpaceLock {
        let mut psql = allervers_e2e::postgres::psql_command(database_url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run psql");
        psql.stdin
            .as_mut()
            .unwrap()
            .write_all(
                b"BEGIN;\nSELECT count(*) FROM (SELECT 1 FROM spaces FOR UPDATE) AS locked;\n",
            )
            .unwrap();
        let mut line = String::new();
        BufReader::new(psql.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.trim().parse::<u64>().is_ok(), "psql said {line:?}");
        SpaceLock { psql }
    }
}

impl Drop for SpaceLock {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.psql.stdin.take() {
            let _ = stdin.write_all(b"COMMIT;\n");
        }
        let _ = self.psql.wait();
    }
}

/// The index of the relay instance whose connection to `database_url` waits for a lock (a push
/// held by a `SpaceLock`), found within 20 s: PostgreSQL gives the connection's port, /proc the
/// process that holds it.
fn instance_holding_a_push(database_url: &str, relays: &[RelayProcess]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting = psql(
            database_url,
            "SELECT client_port FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        for port in waiting.lines().filter_map(|l| l.trim().parse::<u16>().ok()) {
            if let Some(i) = relays.iter().position(|r| holds_local_port(r.pid(), port)) {
                return i;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no push waited for the spaces' row lock within 20 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether process `pid` holds the TCP socket whose local port is `port`.
fn holds_local_port(pid: u32, port: u16) -> bool {
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let sockets: Vec<String> = tcp
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = u16::from_str_radix(fields.get(1)?.rsplit(':').next()?, 16).ok()?;
            let inode = fields.get(9)?;
            (local == port).then(|| format!("socket:[{inode}]"))
        })
        .collect();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target| sockets.iter().any(|s| target.as_os_str() == s.as_str()))
}

#[test]
fn an_instance_killed_mid_push_loses_no_acknowledged_envelope() {
    let database = fresh_database("killed_instance");
    let (mut relays, nginx) = relays_behind_nginx(&database, 3);
    let devices = team(&nginx, "Maraude relais tué", 2);
    settle(&devices, Duration::ZERO);
    let before = stored_envelopes(&database);
    const ROUNDS: usize = 40;
    // Two devices write and sync at once (their pushes and pulls interleave over the three
    // instances). A quarter of the way, the spaces' rows are locked until the next push waits
    // at its instance, and that instance is killed: the push is cut after the instance took it.
    let progress = AtomicUsize::new(0);
    let (created, changes, failures, killed) = std::thread::scope(|s| {
        let workers: Vec<_> = devices[1..]
            .iter()
            .enumerate()
            .map(|(w, d)| {
                let progress = &progress;
                s.spawn(move || {
                    let (mut created, mut changes, mut failures) = (Vec::new(), 0, 0);
                    for round in 0..ROUNDS {
                        let (ids, n) = write_records(d, &format!("{w}-{round}"));
                        created.extend(ids);
                        changes += n;
                        // A few tries, then on to the next round: the outbox keeps what failed.
                        for _ in 0..5 {
                            match sync(d) {
                                Ok(_) => break,
                                Err(e) => {
                                    assert!(is_outage(&e), "{e:?}");
                                    failures += 1;
                                    std::thread::sleep(Duration::from_millis(50));
                                }
                            }
                        }
                        if w == 0 {
                            progress.store(round + 1, Ordering::SeqCst);
                        }
                    }
                    (created, changes, failures)
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while progress.load(Ordering::SeqCst) < ROUNDS / 4 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let lock = SpaceLock::take(&database);
        let killed = instance_holding_a_push(&database, &relays);
        relays[killed].kill();
        drop(lock);
        let (created, changes, failures) = workers.into_iter().map(|w| w.join().unwrap()).fold(
            (Vec::new(), 0, 0),
            |(mut ids, n, f), (i, m, g)| {
                ids.extend(i);
                (ids, n + m, f + g)
            },
        );
        (created, changes, failures, killed)
    });
    // nginx does not pass a POST it sent on to another instance: the device saw the cut.
    assert!(
        failures > 0,
        "the push cut at instance {killed} failed no sync"
    );
    // Whatever failed on the way goes now, through the two instances left.
    settle(&devices, Duration::from_secs(20));
    assert_converged(&devices, &created);
    // Every change stored exactly once: none lost, none twice (a push is idempotent).
    let stored = stored_envelopes(&database);
    assert_eq!(
        stored,
        before + changes,
        "{failures} syncs failed after instance {killed} was killed"
    );
    eprintln!(
        "instance {killed} killed mid-push: {} records, {changes} changes, {failures} failed syncs",
        created.len()
    );
}

#[test]
fn postgres_restarted_mid_sync_loses_nothing() {
    let cluster = PostgresCluster::start();
    let database = cluster.fresh_database("restarted");
    let (relays, nginx) = relays_behind_nginx(&database, 2);
    // What an instance tells a load balancer's health check.
    let health = |relay: &RelayProcess| {
        let mut r = ureq::get(format!("{}/healthz", relay.url))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    let devices = team(&nginx, "Maraude base redémarrée", 2);
    settle(&devices, Duration::ZERO);
    let before = stored_envelopes(&database);
    let (mut created, mut changes) = (Vec::new(), 0);
    for round in 0..3 {
        for d in &devices {
            let (ids, n) = write_records(d, &format!("avant {round}"));
            created.extend(ids);
            changes += n;
            sync(d).unwrap();
        }
    }
    // One device syncs in a loop while PostgreSQL crashes and comes back; the others write
    // during the outage and find the relay refusing.
    const ROUNDS: usize = 30;
    let progress = AtomicUsize::new(0);
    let (looped, looped_changes, outage_errors, loop_failures) = std::thread::scope(|s| {
        let looping = &devices[1];
        let progress = &progress;
        let worker = s.spawn(move || {
            let (mut created, mut changes, mut failed) = (Vec::new(), 0, 0);
            for round in 0..ROUNDS {
                let (ids, n) = write_records(looping, &format!("boucle {round}"));
                created.extend(ids);
                changes += n;
                if let Err(e) = sync(looping) {
                    assert!(is_outage(&e), "{e:?}");
                    failed += 1;
                }
                progress.store(round + 1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(50));
            }
            (created, changes, failed)
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        while progress.load(Ordering::SeqCst) < 5 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        cluster.stop_immediate();
        let down_at = progress.load(Ordering::SeqCst);
        let mut errors = Vec::new();
        for (i, d) in [&devices[0], &devices[2]].into_iter().enumerate() {
            let (ids, n) = write_records(d, &format!("pendant {i}"));
            created.extend(ids);
            changes += n;
            let e = sync(d).expect_err("no database, no sync");
            assert!(is_outage(&e), "{e:?}");
            errors.push(e);
        }
        for relay in &relays {
            let (status, body) = health(relay);
            assert_eq!(status, 503, "{body}");
            assert!(body.contains("database unavailable"), "{body}");
        }
        // Down for a few of the loop's rounds (each one begun and ended without a database),
        // then back.
        let deadline = Instant::now() + Duration::from_secs(60);
        while progress.load(Ordering::SeqCst) < (down_at + 3).min(ROUNDS)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        cluster.restart();
        let (ids, n, failed) = worker.join().unwrap();
        (ids, n, errors, failed)
    });
    created.extend(looped);
    changes += looped_changes;
    assert!(loop_failures > 0, "the loop never met the outage");
    // The relays reconnect by themselves: once PostgreSQL is back, each device's next sync
    // completes at the first try (a pooled connection that died with the server is replaced
    // as soon as a request finds it lost, before anything was sent on it).
    for d in &devices {
        if let Err(e) = sync(d) {
            panic!("the first sync after the restart failed: {e:?}");
        }
    }
    for relay in &relays {
        assert_eq!(health(relay), (200, "ok\n".to_string()));
    }
    settle(&devices, Duration::ZERO);
    assert_converged(&devices, &created);
    // Every change stored exactly once: what PostgreSQL acknowledged survived its crash.
    assert_eq!(stored_envelopes(&database), before + changes);

    // A restart while nobody syncs leaves every pooled connection dead without the relays
    // knowing: the next requests step over them, and the first sync succeeds.
    cluster.stop_immediate();
    cluster.restart();
    for d in &devices {
        let (ids, _) = write_records(d, "après le second redémarrage");
        created.extend(ids);
        if let Err(e) = sync(d) {
            panic!("the first sync after a quiet restart failed: {e:?}");
        }
    }
    settle(&devices, Duration::ZERO);
    assert_converged(&devices, &created);
    eprintln!(
        "postgres restarted: {} records, {changes} changes; during the outage: {outage_errors:?}, \
         {loop_failures} failed syncs in the loop",
        created.len()
    );
}
