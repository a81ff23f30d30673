//! Relay at scale: how many simulated devices, each syncing once a second (push one envelope,
//! then pull what is new after its cursor), (a) one relay on SQLite and (b) two relays on one
//! PostgreSQL database behind nginx serve with a p99 of at most 100 ms per request (a push and a
//! pull each count) and no error. Prints the figures recorded in BENCHMARKS.md ("Relay at
//! scale").
//!
//! `cargo bench -p allervers-e2e --bench relay_scale` (release). Steps of 250, 500, 1,000, 2,000
//! and 4,000 devices, in spaces of 10; a backend's ladder stops at the first step out of the
//! bound. Each step warms up for 5 s, then measures for 20 s (`ALLERVERS_BENCH_SECS`);
//! `ALLERVERS_BENCH_QUICK=1` runs the 250-device step alone, measured for 3 s, on both backends;
//! `ALLERVERS_BENCH_BACKEND=sqlite` (or `postgres`) runs one backend's ladder alone.
//!
//! Each step has fresh storage: a new SQLite relay in a new folder, or a new database in the
//! backend's own PostgreSQL cluster (`scripts/postgres.sh`) with two new relays and a new nginx.
//! Each device is one thread of this process with its own keep-alive connection, asleep between
//! its syncs; a sync starts a second after the previous one started, or when it ended if it took
//! longer. Everything listens on 127.0.0.1; every device stops at the step's deadline, and every
//! request gives up after 10 s.

mod process_cpu;
mod simulated_devices;

use std::time::{Duration, Instant};

use allervers_client::HttpClient;
use allervers_e2e::{psql, Nginx, PostgresCluster, RelayProcess};
use process_cpu::{Groups, Process};
use simulated_devices::SimulatedDevice;

const STEPS: [usize; 5] = [250, 500, 1_000, 2_000, 4_000];
const PER_SPACE: u32 = 10;
const P99_BOUND_MS: f64 = 100.0;
const PERIOD: Duration = Duration::from_secs(1);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Each device's thread: its stack is small (blocking HTTP on loopback, buffers on the heap).
const DEVICE_STACK: usize = 256 * 1024;
/// The relay's pool of PostgreSQL connections per instance (its default, `--db-connections`).
const DB_CONNECTIONS: u32 = 16;
const RELAYS_ON_POSTGRES: usize = 2;

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    PostgresBehindNginx,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "one relay on SQLite",
            Backend::PostgresBehindNginx => "two relays on PostgreSQL behind nginx",
        }
    }
}

/// What serves one step, stopped when dropped: nginx first, then the relays, then their folder.
struct Deployment {
    url: String,
    cpu: Groups,
    _nginx: Option<Nginx>,
    _relays: Vec<RelayProcess>,
    _data: Option<tempfile::TempDir>,
}

fn deploy(backend: Backend, cluster: Option<&PostgresCluster>, devices: usize) -> Deployment {
    let bench = Process::Alone(std::process::id());
    match backend {
        Backend::Sqlite => {
            let data = tempfile::tempdir().unwrap();
            let relay = RelayProcess::start(data.path());
            Deployment {
                url: relay.url.clone(),
                cpu: Groups(vec![
                    ("relay", vec![Process::Tree(relay.pid())]),
                    ("bench", vec![bench]),
                ]),
                _nginx: None,
                _relays: vec![relay],
                _data: Some(data),
            }
        }
        Backend::PostgresBehindNginx => {
            let cluster = cluster.expect("a PostgreSQL cluster");
            let database = cluster.fresh_database("relay_scale");
            let relays: Vec<_> = (0..RELAYS_ON_POSTGRES)
                .map(|_| RelayProcess::start_postgres(&database))
                .collect();
            let ports: Vec<_> = relays.iter().map(|r| r.port).collect();
            // Each device's connection, and one to a relay per request in flight.
            let nginx = Nginx::start_with_worker_connections(&ports, 2 * devices + 256);
            let nginx_pid = read_pid(&nginx.prefix.path().join("nginx.pid"));
            let postmaster = read_pid(&cluster.dir.path().join("data/postmaster.pid"));
            Deployment {
                url: nginx.url.clone(),
                cpu: Groups(vec![
                    (
                        "relays",
                        relays.iter().map(|r| Process::Tree(r.pid())).collect(),
                    ),
                    ("postgres", vec![Process::Tree(postmaster)]),
                    ("nginx", vec![Process::Tree(nginx_pid)]),
                    ("bench", vec![bench]),
                ]),
                _nginx: Some(nginx),
                _relays: relays,
                _data: None,
            }
        }
    }
}

/// The process id on the first line of a pid file (nginx's, PostgreSQL's postmaster.pid).
fn read_pid(path: &std::path::Path) -> u32 {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no process id in {}", path.display()))
}

/// `devices` simulated devices registered at `url`, by four threads (spaces split between them).
fn register(url: &str, devices: usize) -> Vec<SimulatedDevice> {
    let spaces = devices.div_ceil(PER_SPACE as usize) as u32;
    let threads = 4u32;
    let chunk = spaces.div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let url = url.to_string();
            let range = (t * chunk).min(spaces)..((t + 1) * chunk).min(spaces);
            std::thread::spawn(move || {
                simulated_devices::register(&HttpClient::default(), &url, range, PER_SPACE)
            })
        })
        .collect();
    let mut all: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.truncate(devices);
    all
}

/// What one device saw during a step.
#[derive(Default)]
struct DeviceReport {
    /// Microseconds of each request whose sync was due within the measured window.
    latencies: Vec<u32>,
    errors: u64,
    warmup_errors: u64,
    first_error: Option<String>,
    /// Microseconds between when a sync was due and when its thread started it, for syncs due
    /// within the window whose previous sync had ended in time: the load generator's own delay
    /// (a thread waiting for a core).
    wake_lags: Vec<u32>,
    /// Syncs due within the window that started late because the previous one was still running.
    late_syncs: u64,
}

/// One step's figures.
struct StepResult {
    devices: usize,
    requests: usize,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    warmup_errors: u64,
    first_error: Option<String>,
    wake_lag_p99_ms: f64,
    late_syncs: u64,
    cpu: process_cpu::Split,
    registration_secs: f64,
}

impl StepResult {
    fn within_bound(&self) -> bool {
        self.p99_ms <= P99_BOUND_MS && self.errors + self.warmup_errors == 0
    }
}

/// The `q` quantile of sorted microseconds, in milliseconds (nearest rank).
fn quantile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

/// One device's loop: a sync due every second from `first`, measured when due in
/// `[measure_from, end)`, none started from `end` on.
fn run_device(
    mut device: SimulatedDevice,
    url: &str,
    first: Instant,
    measure_from: Instant,
    end: Instant,
) -> DeviceReport {
    let client = HttpClient::new(REQUEST_TIMEOUT);
    let mut report = DeviceReport::default();
    let mut due = first;
    let mut previous_overran = false;
    while due < end {
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let started = Instant::now();
        let measured = due >= measure_from;
        if measured && !previous_overran {
            report
                .wake_lags
                .push((started - due).as_micros().min(u32::MAX as u128) as u32);
        }
        for request in device.sync(&client, url) {
            if let Some(error) = request.error {
                if measured {
                    report.errors += 1;
                } else {
                    report.warmup_errors += 1;
                }
                report.first_error.get_or_insert(error);
            }
            if measured {
                report
                    .latencies
                    .push(request.took.as_micros().min(u32::MAX as u128) as u32);
            }
        }
        due += PERIOD;
        let ended = Instant::now();
        previous_overran = ended > due;
        if previous_overran {
            if due >= measure_from {
                report.late_syncs += 1;
            }
            due = ended;
        }
    }
    report
}

fn run_step(
    backend: Backend,
    cluster: Option<&PostgresCluster>,
    devices: usize,
    warmup: Duration,
    measure: Duration,
    cores: f64,
) -> StepResult {
    let deployment = deploy(backend, cluster, devices);
    let t = Instant::now();
    let registered = register(&deployment.url, devices);
    let registration_secs = t.elapsed().as_secs_f64();
    assert_eq!(registered.len(), devices);

    // Time to start every thread (half a second, and 100 µs each) before the first syncs, which
    // are spread evenly over a second.
    let start =
        Instant::now() + Duration::from_millis(500) + Duration::from_micros(100) * devices as u32;
    let measure_from = start + warmup;
    let end = measure_from + measure;
    let threads: Vec<_> = registered
        .into_iter()
        .enumerate()
        .map(|(i, device)| {
            let url = deployment.url.clone();
            let first = start + PERIOD.mul_f64(i as f64 / devices as f64);
            std::thread::Builder::new()
                .name(format!("device {i}"))
                .stack_size(DEVICE_STACK)
                .spawn(move || run_device(device, &url, first, measure_from, end))
                .expect("start a device's thread")
        })
        .collect();
    std::thread::sleep(measure_from.saturating_duration_since(Instant::now()));
    let before = deployment.cpu.sample();
    std::thread::sleep(end.saturating_duration_since(Instant::now()));
    let after = deployment.cpu.sample();
    let cpu = deployment.cpu.split(&before, &after, cores);

    let mut latencies = Vec::new();
    let mut wake_lags = Vec::new();
    let (mut errors, mut warmup_errors, mut late_syncs) = (0, 0, 0);
    let mut first_error = None;
    for thread in threads {
        let report = thread.join().expect("a device's thread panicked");
        latencies.extend(report.latencies);
        wake_lags.extend(report.wake_lags);
        errors += report.errors;
        warmup_errors += report.warmup_errors;
        late_syncs += report.late_syncs;
        if first_error.is_none() {
            first_error = report.first_error;
        }
    }
    latencies.sort_unstable();
    wake_lags.sort_unstable();
    drop(deployment);
    StepResult {
        devices,
        requests: latencies.len(),
        secs: measure.as_secs_f64(),
        p50_ms: quantile_ms(&latencies, 0.50),
        p99_ms: quantile_ms(&latencies, 0.99),
        errors,
        warmup_errors,
        first_error,
        wake_lag_p99_ms: quantile_ms(&wake_lags, 0.99),
        late_syncs,
        cpu,
        registration_secs,
    }
}

fn print_step(r: &StepResult) {
    println!(
        "  {:>5} devices: {:>6.0} requests/s (due {}), p50 {:.1} ms, p99 {:.1} ms, errors {}{} -> {}",
        r.devices,
        r.requests as f64 / r.secs,
        2 * r.devices,
        r.p50_ms,
        r.p99_ms,
        r.errors,
        if r.warmup_errors > 0 {
            format!(" (+{} while warming up)", r.warmup_errors)
        } else {
            String::new()
        },
        if r.within_bound() {
            "within bound"
        } else {
            "OUT OF BOUND"
        }
    );
    println!("         CPU, % of one core: {}", r.cpu);
    println!(
        "         load generator: p99 wake-up delay {:.1} ms, {} syncs started late (previous still running); registration {:.1} s",
        r.wake_lag_p99_ms, r.late_syncs, r.registration_secs
    );
    if let Some(e) = &r.first_error {
        println!("         first error: {e}");
    }
}

/// The soft limit of open files this process has (and the relays and nginx it starts inherit).
fn open_files_limit() -> Option<u64> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

fn main() {
    let quick = std::env::var_os("ALLERVERS_BENCH_QUICK").is_some();
    let secs: u64 = std::env::var("ALLERVERS_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 3 } else { 20 });
    let (warmup, steps): (_, &[usize]) = if quick {
        (Duration::from_secs(1), &STEPS[..1])
    } else {
        (Duration::from_secs(5), &STEPS[..])
    };
    let measure = Duration::from_secs(secs);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let open_files = open_files_limit();
    println!(
        "allervers relay at scale ({} build): {cores} cores, open files {}, devices in spaces of {PER_SPACE} syncing every {} s, warm-up {} s, measured {secs} s; bound p99 <= {P99_BOUND_MS} ms, no error",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        open_files.map_or("unknown".into(), |n| n.to_string()),
        PERIOD.as_secs(),
        warmup.as_secs(),
    );
    let backends: &[Backend] = match std::env::var("ALLERVERS_BENCH_BACKEND").as_deref() {
        Ok("sqlite") => &[Backend::Sqlite],
        Ok("postgres") => &[Backend::PostgresBehindNginx],
        Ok(other) => panic!("ALLERVERS_BENCH_BACKEND={other}: sqlite or postgres"),
        Err(_) => &[Backend::Sqlite, Backend::PostgresBehindNginx],
    };
    let mut largest = Vec::new();
    for &backend in backends {
        let cluster = (backend == Backend::PostgresBehindNginx).then(PostgresCluster::start);
        println!("{}:", backend.name());
        if let Some(cluster) = &cluster {
            let max: u32 = psql(&cluster.url, "SHOW max_connections").parse().unwrap();
            let needed = RELAYS_ON_POSTGRES as u32 * DB_CONNECTIONS;
            assert!(
                max > needed,
                "PostgreSQL's max_connections {max} must exceed {needed}"
            );
            println!(
                "  (PostgreSQL: max_connections {max}, {RELAYS_ON_POSTGRES} relays x {DB_CONNECTIONS} pooled connections; nginx: one worker, worker_connections 2 x devices + 256)"
            );
        }
        let mut best = None;
        for &devices in steps {
            // This process holds a connection per device; nginx holds two.
            let needed = 2 * devices as u64 + 512;
            if open_files.is_some_and(|limit| limit < needed) {
                println!("  {devices:>5} devices: not run, the open-file limit is under {needed} (raise `ulimit -n`)");
                break;
            }
            let result = run_step(backend, cluster.as_ref(), devices, warmup, measure, cores);
            print_step(&result);
            if !result.within_bound() {
                break;
            }
            best = Some(devices);
        }
        largest.push((backend, best));
    }
    for (backend, best) in largest {
        match best {
            Some(n) => println!("largest step within bound, {}: {n} devices", backend.name()),
            None => println!("largest step within bound, {}: none", backend.name()),
        }
    }
}
