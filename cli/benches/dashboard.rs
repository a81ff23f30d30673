//! Dashboard benchmark: the server time of a person's page (read from the `Server-Timing`
//! header the dashboard sets), of the person list and of the report page, on a seeded store.
//!
//! `cargo bench -p allervers --bench dashboard` (release; `ALLERVERS_BENCH_QUICK=1` for a
//! 1,000-person store). The store is made and filled with the command line itself.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_allervers");

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--data")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env("ALLERVERS_KEY", "benchmark passphrase")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn server_ms(agent: &ureq::Agent, url: &str) -> f64 {
    let response = agent.get(url).call().unwrap();
    assert_eq!(response.status(), 200);
    let timing = response
        .headers()
        .get("server-timing")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    timing.trim_start_matches("app;dur=").parse().unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::var_os("ALLERVERS_BENCH_QUICK").is_some();
    let (persons, encounters) = if quick {
        ("1000", "10000")
    } else {
        ("10000", "100000")
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(
        d,
        &[
            "init",
            "--device-name",
            "Poste bureau",
            "--worker",
            "Sophie",
        ],
    );
    let t = Instant::now();
    run(
        d,
        &["seed", "--persons", persons, "--encounters", encounters],
    );
    println!(
        "seeded {persons} persons and {encounters} encounters with the command line in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let added = run(
        d,
        &["person", "add", "--name", "Karim", "--nickname", "le Grand"],
    );
    let id = added
        .split("\"id\": \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    for i in 0..200 {
        let at = format!("2026-0{}-{:02} 21:{:02}", 1 + i % 9, 1 + i % 28, i % 60);
        run(
            d,
            &[
                "encounter",
                "log",
                "--person",
                &id,
                "--at",
                &at,
                "--place",
                "Gare du Nord",
                "--service",
                "drink",
            ],
        );
    }
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(d)
        .arg("dashboard")
        .env("ALLERVERS_KEY", "benchmark passphrase")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().trim_start_matches("Dashboard: ").to_string();
    let (base, token) = url.split_once("/?token=").unwrap();
    let agent = ureq::Agent::new_with_config(ureq::Agent::config_builder().build());
    let page = |path: &str| {
        format!(
            "{base}{path}{}token={token}",
            if path.contains('?') { "&" } else { "?" }
        )
    };
    let person: Vec<f64> = (0..30)
        .map(|_| server_ms(&agent, &page(&format!("/person/{id}"))))
        .collect();
    let list: Vec<f64> = (0..15).map(|_| server_ms(&agent, &page("/"))).collect();
    let report: Vec<f64> = (0..7)
        .map(|_| server_ms(&agent, &page("/report")))
        .collect();
    println!(
        "dashboard server time, person page with 200 encounters: median {:.2} ms (bound 100 ms)",
        median(person)
    );
    println!(
        "dashboard server time, person list (200 most recently seen): median {:.2} ms",
        median(list)
    );
    println!(
        "dashboard server time, report page (this month and the one before): median {:.2} ms",
        median(report)
    );
    let _ = child.kill();
    let _ = child.wait();
}
