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
const CHILDREN: usize = 40;
const THREADS: usize = 24;

/// In a child: every thread waits at a barrier, then opens the store the parent made (opening
/// keys the process's first connections, as creating does, at a fraction of the cost).
fn race_first_opens(path: &std::path::Path, key: &RawKey) -> Vec<String> {
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let barrier = barrier.clone();
            let path = path.to_path_buf();
            let key = key.clone();
            std::thread::spawn(move || {
                barrier.wait();
                Store::open(&path, &key)
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
    if let Some(path) = std::env::var_os(CHILD) {
        let key = std::env::var("ALLERVERS_STARTUP_RACE_KEY").expect("key");
        let key = RawKey::from_slice(&hex::decode(key).expect("hex key")).expect("key");
        let failures = race_first_opens(std::path::Path::new(&path), &key);
        assert!(
            failures.is_empty(),
            "stores that failed to open: {failures:?}"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    let key = RawKey::generate();
    drop(Store::create(&path, &key, "Téléphone A", "Camille").expect("create"));
    let key_hex = hex::encode(key.as_bytes());
    let exe = std::env::current_exe().expect("test binary");
    let mut failed = Vec::new();
    for child in 0..CHILDREN {
        let out = Command::new(&exe)
            .args([
                "--exact",
                "startup::stores_opened_from_many_threads_at_start_up_all_open",
                "--test-threads=1",
            ])
            .env(CHILD, &path)
            .env("ALLERVERS_STARTUP_RACE_KEY", &key_hex)
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
