//! Helpers for end-to-end scenarios: a real relay process on a loopback port (on SQLite, or on
//! PostgreSQL: `postgres`), nginx in front of several (`nginx`), and devices (stores in
//! temporary folders) enrolled in one space through it. The scenarios live in `tests/tests/`;
//! the command line's own tests use the relay helper too.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use allervers_client::HttpClient;
use allervers_core::{ManualClock, Membership, RawKey, Store, StoreOptions};
use chrono::{TimeZone, Utc};

pub mod nginx;
pub mod postgres;
pub mod sim;

pub use nginx::Nginx;
pub use postgres::{fresh_database, postgres_url, psql, PostgresCluster};

pub const ADMIN_TOKEN: &str = "end-to-end-admin-token";

/// The relay binary of this workspace, built by cargo when it is missing or older than the
/// relay's or the protocol's sources (`cargo test` and `cargo bench` of one crate do not build
/// other crates' binaries, and a stale relay would speak an older protocol); a benchmark
/// (release) always has cargo bring it up to date. Checked once per test process.
pub fn relay_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test executable");
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("target/<profile>");
            let bin = profile_dir.join(format!("allervers-relay{}", std::env::consts::EXE_SUFFIX));
            let release = profile_dir.file_name().is_some_and(|n| n == "release");
            let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            let sources = ["sync-server", "protocol"]
                .iter()
                .flat_map(|c| {
                    [
                        workspace.join(c).join("src"),
                        workspace.join(c).join("Cargo.toml"),
                    ]
                })
                .map(|p| newest_file(&p))
                .max()
                .flatten();
            if release || built.is_none() || built < sources {
                let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
                let mut cmd = Command::new(cargo);
                cmd.args(["build", "-p", "allervers-relay", "--bin", "allervers-relay"]);
                if release {
                    cmd.arg("--release");
                }
                let status = cmd.status().expect("run cargo build");
                assert!(status.success(), "building the relay failed");
            }
            bin
        })
        .clone()
}

/// The newest modification time of `path`, or of the files below it.
fn newest_file(path: &Path) -> Option<std::time::SystemTime> {
    if !path.is_dir() {
        return std::fs::metadata(path).and_then(|m| m.modified()).ok();
    }
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| newest_file(&entry.path()))
        .max()
        .flatten()
}

/// A free loopback port (bound and released: good enough for tests on one machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A relay process with its own data folder (on PostgreSQL, a throwaway one it does not use).
pub struct RelayProcess {
    child: Child,
    pub url: String,
    pub port: u16,
    pub data: PathBuf,
    /// The throwaway data folder of a relay on PostgreSQL.
    _scratch: Option<tempfile::TempDir>,
    /// The last lines the relay logged (warnings and errors), drained by a thread so that a
    /// chatty relay never blocks on a full pipe.
    log: Arc<Mutex<VecDeque<String>>>,
}

/// What erasure orders left in the database of a relay on SQLite: how many `(epoch, blinded
/// record)` pairs it keeps refusing, and how many envelopes it still stores under one of them
/// (none, when it obeyed).
pub fn relay_erasures(relay: &RelayProcess) -> (usize, usize) {
    let db = rusqlite::Connection::open_with_flags(
        relay.data.join("relay.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the relay's database");
    let count = |sql: &str| -> usize {
        db.query_row(sql, [], |r| r.get::<_, i64>(0))
            .expect("a count") as usize
    };
    (
        count("SELECT count(*) FROM erased"),
        count(
            "SELECT count(*) FROM envelopes e JOIN erased x
                ON x.space = e.space AND x.record = e.record AND x.epoch = e.epoch",
        ),
    )
}

impl RelayProcess {
    pub fn start(data: &Path) -> RelayProcess {
        Self::start_on(data, free_port())
    }

    /// Starts on a given port (a restarted relay keeps its address).
    pub fn start_on(data: &Path, port: u16) -> RelayProcess {
        Self::spawn(port, data.to_path_buf(), None, &[])
    }

    /// A relay on the PostgreSQL database of `database_url` (`--database`); several of them on
    /// one database serve the same spaces.
    pub fn start_postgres(database_url: &str) -> RelayProcess {
        Self::start_postgres_on(database_url, free_port())
    }

    /// A relay on PostgreSQL, on a given port.
    pub fn start_postgres_on(database_url: &str, port: u16) -> RelayProcess {
        Self::start_postgres_with(database_url, port, &[])
    }

    /// A relay on PostgreSQL, on a given port, with more flags.
    pub fn start_postgres_with(database_url: &str, port: u16, flags: &[&str]) -> RelayProcess {
        let scratch = tempfile::tempdir().unwrap();
        let args: Vec<&str> = ["--database", database_url]
            .into_iter()
            .chain(flags.iter().copied())
            .collect();
        Self::spawn(port, scratch.path().to_path_buf(), Some(scratch), &args)
    }

    fn spawn(
        port: u16,
        data: PathBuf,
        scratch: Option<tempfile::TempDir>,
        extra: &[&str],
    ) -> RelayProcess {
        let mut child = Command::new(relay_binary())
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data")
            .arg(&data)
            .args(["--admin-token", ADMIN_TOKEN])
            .args(extra)
            // Only what the arguments say: not a database named in the tests' environment.
            .env_remove("ALLERVERS_RELAY_DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the relay");
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let stderr = child.stderr.take().unwrap();
        let drain = {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                    if log.len() == 200 {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            })
        };
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            // It stopped before listening: what it said on the way out tells why.
            let _ = child.kill();
            let status = child.wait();
            let _ = drain.join();
            let log = Vec::from(log.lock().unwrap().clone()).join("\n");
            panic!("relay said: {line:?} ({status:?}); its log:\n{log}");
        };
        RelayProcess {
            child,
            url: url.to_string(),
            port,
            data,
            _scratch: scratch,
            log,
        }
    }

    /// The last lines the relay logged.
    pub fn log(&self) -> String {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        Vec::from(log.clone()).join("\n")
    }

    /// The relay's process id (benchmarks read its CPU time in /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, and waits: the relay shuts down as its operator stops it (its database closed,
    /// its log checkpointed into the file).
    pub fn stop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// SIGKILL: no chance to flush or say goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Every file of a stopped relay's data folder (`relay.db`, and its `-wal` and `-shm` that hold
/// what a killed relay committed) copied to `to`: a relay started from the copy is the relay as
/// its operator moved it, with the same spaces, device tokens and sequence numbers.
pub fn copy_relay_data(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// One device: a store in its own folder, with a stepped clock (and the store's key, to open it
/// again).
pub struct Device {
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    pub key: RawKey,
}

pub fn device(name: &str, worker: &str) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 2, 10, 20, 0, 0).unwrap(),
    ));
    let key = RawKey::generate();
    let store = Store::create_with(
        &dir.path().join("store.db"),
        &key,
        name,
        worker,
        StoreOptions::with_clock(clock.clone()),
    )
    .unwrap();
    Device {
        store,
        clock,
        dir,
        key,
    }
}

/// Registers a space at the relay with `coordinator` as its first device.
pub fn create_space(relay: &RelayProcess, coordinator: &Store, name: &str) -> Membership {
    create_space_at(&relay.url, coordinator, name)
}

/// Registers a space at the relay reached at `url` (a relay, or nginx in front of several):
/// the devices of the space will use that address.
pub fn create_space_at(url: &str, coordinator: &Store, name: &str) -> Membership {
    allervers_client::create_space(coordinator, &HttpClient::default(), url, ADMIN_TOKEN, name)
        .unwrap()
}

/// A coordinator's invite code, registered at the relay for a day.
pub fn invite(coordinator: &Store) -> String {
    let expires_at_ms = chrono::Utc::now().timestamp_millis() + 86_400_000;
    allervers_client::invite(coordinator, &HttpClient::default(), expires_at_ms)
        .unwrap()
        .code()
}

/// A coordinator's device and the devices that just joined sync in turn: the coordinator's
/// delivers the space's key, and the others receive it (until then they hold what they pull and
/// push nothing).
pub fn welcome(coordinator: &Store, joined: &[&Store]) {
    let http = HttpClient::default();
    allervers_client::sync(coordinator, &http, &mut |_| {}).unwrap();
    for store in joined {
        let summary = allervers_client::sync(store, &http, &mut |_| {}).unwrap();
        assert!(summary.keys_received > 0, "{summary:?}");
    }
}

/// Redeems an invite code for `store`.
pub fn join(store: &Store, code: &str) -> Result<(), allervers_core::CoreError> {
    allervers_client::join(store, &HttpClient::default(), code).map(|_| ())
}

/// A person known by a name only, as a worker records someone met for the first time.
pub fn person(store: &Store, name: &str) -> allervers_core::RecordId {
    store
        .add_person(&allervers_core::NewPerson {
            name: Some(name.into()),
            ..Default::default()
        })
        .unwrap()
}

/// Same records, same heads, on every store.
pub fn assert_identical(stores: &[&Store]) {
    let ids = stores[0].record_ids().unwrap();
    for s in &stores[1..] {
        assert_eq!(s.record_ids().unwrap(), ids);
        for (id, _) in &ids {
            assert_eq!(
                s.record_heads(*id).unwrap(),
                stores[0].record_heads(*id).unwrap(),
                "{id}"
            );
        }
    }
}
