//! Sync benchmark: prints the figures recorded in BENCHMARKS.md.
//!
//! `cargo bench -p allervers-e2e --bench sync` (release; `ALLERVERS_BENCH_QUICK=1` for a small
//! store and a 5-second load). Everything runs on this machine: the relay is a real process on
//! a loopback port; the load's request loops are bounded in time and stop by themselves.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use allervers_client::HttpClient;
use allervers_core::seed::{self, SeedPlan};
use allervers_core::Invite;
use allervers_e2e::{create_space, device, invite, join, RelayProcess};

mod simulated_devices;

/// A loopback TCP proxy in front of the relay that counts the bytes each way: what really goes
/// over the wire, headers included.
struct CountingProxy {
    url: String,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
}

impl CountingProxy {
    fn start(target: &str) -> CountingProxy {
        let target = target.trim_start_matches("http://").to_string();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (u, d) = (up.clone(), down.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let Ok(server) = std::net::TcpStream::connect(&target) else {
                    break;
                };
                for (mut from, mut to, counter) in [
                    (
                        client.try_clone().unwrap(),
                        server.try_clone().unwrap(),
                        u.clone(),
                    ),
                    (server, client, d.clone()),
                ] {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        use std::io::{Read, Write};
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            counter.fetch_add(n as u64, Ordering::Relaxed);
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        CountingProxy { url, up, down }
    }

    fn reset(&self) {
        self.up.store(0, Ordering::Relaxed);
        self.down.store(0, Ordering::Relaxed);
    }

    fn bytes(&self) -> (u64, u64) {
        // Let the forwarding threads finish copying what was already answered.
        std::thread::sleep(Duration::from_millis(100));
        (
            self.up.load(Ordering::Relaxed),
            self.down.load(Ordering::Relaxed),
        )
    }
}

fn wire(client: &HttpClient) -> (u64, u64, u64) {
    (
        client.stats.requests.load(Ordering::Relaxed),
        client.stats.bytes_sent.load(Ordering::Relaxed),
        client.stats.bytes_received.load(Ordering::Relaxed),
    )
}

fn main() {
    let quick = std::env::var_os("ALLERVERS_BENCH_QUICK").is_some();
    let (persons, encounters, load_secs) = if quick {
        (1_000, 10_000, 5)
    } else {
        (10_000, 100_000, 30)
    };
    println!(
        "allervers sync benchmark ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());

    // 1. A fresh device restoring a whole space.
    let source = device("Poste bureau", "Sophie");
    create_space(&relay, &source.store, "Maraude bench");
    let t = Instant::now();
    let plan = SeedPlan {
        persons,
        encounters,
        days: 365,
        end: source.store.now(),
        seed: 3,
    };
    let seeded = seed::seed(&source.store, &plan, &mut |_, _| {}).unwrap();
    let records = source.store.record_ids().unwrap().len();
    println!(
        "seeded {records} records ({} persons, {} encounters) in {:.1} s",
        seeded.persons.len(),
        seeded.encounters,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let pushed =
        allervers_client::sync(&source.store, &HttpClient::default(), &mut |_| {}).unwrap();
    println!(
        "first push of {} changes: {:.1} s",
        pushed.pushed,
        t.elapsed().as_secs_f64()
    );
    // Fresh devices join; the coordinator's sync delivers them the key. Two check signatures,
    // two do not (the baseline of what checking costs), restored in turn: V, U, U, V.
    let fresh: Vec<_> = (0..4)
        .map(|i| {
            let d = device(&format!("Téléphone neuf {i}"), "Inès");
            join(&d.store, &invite(&source.store)).unwrap();
            if i == 1 || i == 2 {
                d.store.skip_signature_checks();
            }
            d
        })
        .collect();
    allervers_client::sync(&source.store, &HttpClient::default(), &mut |_| {}).unwrap();
    let mut verified = 0.0;
    let mut unverified = 0.0;
    for (i, d) in fresh.iter().enumerate() {
        let client = HttpClient::default();
        let t = Instant::now();
        let restored = allervers_client::sync(&d.store, &client, &mut |_| {}).unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(restored.keys_received, 1);
        assert_eq!(
            restored.held + restored.quarantined,
            0,
            "{:?}",
            d.store
                .set_aside(&d.store.membership().unwrap().unwrap().space)
                .unwrap()
        );
        let checks = !(i == 1 || i == 2);
        if checks {
            verified += secs;
        } else {
            unverified += secs;
        }
        let (req, _, received) = wire(&client);
        println!(
            "fresh device restore ({}): {} changes, {records} records in {secs:.2} s = {:.0} records/s (bound 2,000); {req} requests, {:.1} MB received",
            if checks { "signatures checked" } else { "signatures not checked" },
            restored.pulled,
            records as f64 / secs,
            received as f64 / 1e6
        );
    }
    println!(
        "restore with signatures checked / without: {:.3} (bound 1.10)",
        verified / unverified
    );

    // 2. Bytes on the wire per new encounter against the size of its Automerge change, counted
    //    by a proxy in front of the relay (the device is pointed at it).
    allervers_client::sync(&source.store, &HttpClient::default(), &mut |_| {}).unwrap();
    let proxy = CountingProxy::start(&relay.url);
    let moved = device("Téléphone observé", "Julien");
    let mut through_proxy = Invite::from_code(&invite(&source.store)).unwrap();
    through_proxy.relay = proxy.url.clone();
    join(&moved.store, &through_proxy.code()).unwrap();
    allervers_client::sync(&source.store, &HttpClient::default(), &mut |_| {}).unwrap();
    allervers_client::sync(&moved.store, &HttpClient::default(), &mut |_| {}).unwrap();
    let m = moved.store.membership().unwrap().unwrap();
    let before = moved.store.export_changes().unwrap().len();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(9);
    for i in 0..50 {
        let e = seed::encounter(
            &mut rng,
            vec![seeded.persons[i]],
            moved.store.now() - chrono::Duration::minutes(30),
        );
        moved.store.log_encounter(&e).unwrap();
    }
    let change_bytes: usize = moved.store.export_changes().unwrap()[before..]
        .iter()
        .map(|c| c.bytes.len())
        .sum();
    let batch = moved.store.outbox_batch(&m.space, 256).unwrap().unwrap();
    let body = allervers_protocol::encode(&batch.push).len();
    proxy.reset();
    let round = allervers_client::sync(&moved.store, &HttpClient::default(), &mut |_| {}).unwrap();
    let (up, down) = proxy.bytes();
    let changes = batch.push.envelopes.len();
    println!(
        "{changes} new changes (50 encounters) in one sync: Automerge changes {change_bytes} B; push body {body} B (ratio {:.2}; bound 1.3 x changes + 64 B per change = {:.0} B, ratio {:.2}); all bytes sent on the wire by the round ({} requests, headers included) {up} B (ratio {:.2}); received {down} B",
        body as f64 / change_bytes as f64,
        1.3 * change_bytes as f64 + 64.0 * changes as f64,
        body as f64 / (1.3 * change_bytes as f64 + 64.0 * changes as f64),
        round.requests,
        up as f64 / change_bytes as f64
    );

    // 3. A sync with nothing new.
    proxy.reset();
    let idle = allervers_client::sync(&moved.store, &HttpClient::default(), &mut |_| {}).unwrap();
    let (up, down) = proxy.bytes();
    println!("sync with nothing new: {} request(s), {up} B sent + {down} B received = {} B on the wire (bound 1 KB)", idle.requests, up + down);

    // 4. The relay under 200 concurrent simulated devices pushing and pulling.
    let spaces = 20;
    let per_space = 10;
    let devices =
        simulated_devices::register(&HttpClient::default(), &relay.url, 0..spaces, per_space);
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<u32>::new()));
    let deadline = Instant::now() + Duration::from_secs(load_secs);
    let t = Instant::now();
    let threads: Vec<_> = devices
        .into_iter()
        .map(|mut device| {
            let (url, stop, errors, latencies) = (
                relay.url.clone(),
                stop.clone(),
                errors.clone(),
                latencies.clone(),
            );
            std::thread::spawn(move || {
                let client = HttpClient::new(Duration::from_secs(30));
                let mut local = Vec::new();
                while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                    for request in device.sync(&client, &url) {
                        if request.error.is_some() {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                        local.push(request.took.as_micros() as u32);
                    }
                }
                latencies.lock().unwrap().extend(local);
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = t.elapsed().as_secs_f64();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_unstable();
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q) as usize] as f64 / 1000.0;
    println!(
        "relay under {} concurrent devices for {elapsed:.0} s: {} requests, {:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms, errors {}",
        spaces * per_space,
        lat.len(),
        lat.len() as f64 / elapsed,
        p(0.5),
        p(0.99),
        errors.load(Ordering::Relaxed)
    );
    drop(relay);
}
