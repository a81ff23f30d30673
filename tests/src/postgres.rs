//! PostgreSQL for the relay's end-to-end tests: the shared cluster that `scripts/test.sh` starts
//! (its URL in `ALLERVERS_TEST_POSTGRES`), a fresh database in it per test, and a cluster of a
//! test's own (`PostgresCluster`) for the tests that crash and restart PostgreSQL. Everything
//! goes through `scripts/postgres.sh` and `psql`, as an operator would.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The shared test cluster's URL. Tests that need PostgreSQL fail here, loudly, when there is
/// none: they are never skipped.
pub fn postgres_url() -> String {
    match std::env::var("ALLERVERS_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => url.trim().to_string(),
        _ => panic!(
            "ALLERVERS_TEST_POSTGRES is not set: run scripts/test.sh, or \
             `export ALLERVERS_TEST_POSTGRES=$(scripts/postgres.sh start DIR)` first"
        ),
    }
}

/// A new, empty database in the shared test cluster, under a name no other test uses; its URL.
pub fn fresh_database(prefix: &str) -> String {
    create_database(&postgres_url(), prefix)
}

/// A new, empty database on the server of `server_url` (any database's URL on it); its URL.
pub fn create_database(server_url: &str, prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let prefix: String = prefix
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '_',
        })
        .take(32)
        .collect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    psql(server_url, &format!("CREATE DATABASE \"{name}\""));
    with_database(server_url, &name)
}

/// The URL of database `name` on the server of `url`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// Runs `sql` with psql (stopping at the first error) and returns what it printed, unaligned
/// and without headers (`SELECT count(*)...` gives the number alone). Panics on failure with
/// psql's message.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("run psql (postgresql-client: scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "psql {sql:?} on {url}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `scripts/postgres.sh` of this repository.
fn postgres_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/postgres.sh")
}

/// Runs `scripts/postgres.sh ARGS`; its standard output, trimmed.
fn run_script(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new("bash")
        .arg(postgres_script())
        .args(args)
        .output()
        .expect("run scripts/postgres.sh");
    assert!(
        out.status.success(),
        "scripts/postgres.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A PostgreSQL cluster of one test's own, in a temporary folder, on a loopback port kept across
/// restarts: for the tests that crash PostgreSQL (the shared cluster serves other tests running
/// at the same time). Dropping it stops it and removes the folder.
pub struct PostgresCluster {
    /// `postgres://allervers@127.0.0.1:PORT/postgres`
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl PostgresCluster {
    pub fn start() -> PostgresCluster {
        let dir = tempfile::tempdir().unwrap();
        let url = run_script(&["start".as_ref(), dir.path().as_os_str()]);
        PostgresCluster { url, dir }
    }

    /// `pg_ctl stop -m immediate`: every server process ends at once, nothing is flushed or
    /// checkpointed (what a power cut leaves, minus the disk's cache); the next start recovers
    /// from the write-ahead log.
    pub fn stop_immediate(&self) {
        run_script(&[
            "stop".as_ref(),
            self.dir.path().as_os_str(),
            "immediate".as_ref(),
        ]);
    }

    /// Starts it again, on the same port (`pg_ctl -w start`: back when it accepts connections).
    pub fn restart(&self) {
        let url = run_script(&["start".as_ref(), self.dir.path().as_os_str()]);
        assert_eq!(url, self.url, "the cluster came back on another port");
    }

    /// A new, empty database in this cluster; its URL.
    pub fn fresh_database(&self, prefix: &str) -> String {
        create_database(&self.url, prefix)
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(postgres_script())
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}
