//! End to end: several relay processes behind nginx (round robin, with the rules of
//! `sync-server/deploy/nginx-relay.conf`). The scenarios on one PostgreSQL database come with
//! the relay's PostgreSQL backend.

use allervers_e2e::{Nginx, RelayProcess};

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
