//! The first stores of a process, opened from many threads at once, all open.
//!
//! SQLite marks itself initialised before SQLCipher's own start-up has run, so a thread could
//! key its first connection while SQLCipher was not ready yet and fail with "An error occurred
//! with PRAGMA key". Only the first opens of a process can meet this, so the test runs its race
//! in fresh child processes of this same binary. Without the fix, about one child in thirty
//! failed on this machine, and two of three runs of this test failed: a regression is likely,
//! not certain, to show on any one run.

use std::process::Command;
use std::sync::{Arc, Barrier};

use allervers_core::{RawKey, Store};

const CHILD: &str = "ALLERVERS_STARTUP_RACE_CHILD";
const CHILDREN: usize = 80;
const THREADS: usize = 32;

/// In a child: every thread waits at a barrier, then creates its own store.
fn race_first_opens() -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let barrier = barrier.clone();
            let path = dir.path().join(format!("store-{i}.db"));
            std::thread::spawn(move || {
                let key = RawKey::generate();
                barrier.wait();
                Store::create(&path, &key, &format!("Téléphone {i}"), "Camille")
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    handles
        .into_iter()
        .filter_map(|h| h.join().expect("thread").err())
        .collect()
}

#[test]
fn stores_opened_from_many_threads_at_start_up_all_open() {
    if std::env::var_os(CHILD).is_some() {
        let failures = race_first_opens();
        assert!(
            failures.is_empty(),
            "stores that failed to open: {failures:?}"
        );
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let mut failed = Vec::new();
    for child in 0..CHILDREN {
        let out = Command::new(&exe)
            .args([
                "--exact",
                "stores_opened_from_many_threads_at_start_up_all_open",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .expect("run child");
        if !out.status.success() {
            let stdout = String::from_utf8_lossy(&out.stdout);
            let reason = stdout
                .lines()
                .find(|l| l.contains("failed to open"))
                .unwrap_or("no reason printed")
                .to_string();
            failed.push(format!("child {child}: {reason}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {CHILDREN} processes could not open their first stores:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
