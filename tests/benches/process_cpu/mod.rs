//! Where the cores went during a load benchmark's measured window: CPU time of processes (or of
//! process trees: nginx's master and worker, PostgreSQL's postmaster and backends), of every
//! other process, and how long runnable tasks waited for a core, read from Linux's /proc before
//! and after the window. (The machine-wide counters of /proc/stat are not used: on this
//! benchmark's virtual machine they miss most of the short bursts a relay's requests are.)

use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// A process to account for.
#[derive(Clone, Copy)]
pub enum Process {
    /// This process alone (its threads; not the children it started, such as relays).
    Alone(u32),
    /// This process and every process below it, with the time of those that ended (counted in
    /// their parent's once it reaped them).
    Tree(u32),
}

/// Named groups of processes (`relay`, `postgres`...), sampled together.
pub struct Groups(pub Vec<(&'static str, Vec<Process>)>);

/// One reading: each group's CPU ticks, every process's own ticks, and the CPU pressure.
pub struct Sample {
    at: Instant,
    groups: Vec<u64>,
    /// Own ticks (its threads, not its children) of every process.
    processes: HashMap<u32, u64>,
    /// The processes of the groups.
    ours: HashSet<u32>,
    /// Microseconds during which some runnable task waited for a core (/proc/pressure/cpu).
    pressure_us: Option<u64>,
}

/// What a window cost, in percent of one core (the machine has `cores` × 100): each group's
/// share, what every other process used (those alive at the end of the window: the kernel's
/// threads, builds...), what is left (idle, or processes that ended within the window), and the
/// share of the window during which some runnable task waited for a core.
pub struct Split {
    pub groups: Vec<(&'static str, f64)>,
    pub other: f64,
    pub idle: f64,
    pub pressure: Option<f64>,
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, percent) in &self.groups {
            write!(f, "{name} {percent:.0}, ")?;
        }
        write!(
            f,
            "other processes {:.0}, idle {:.0}",
            self.other, self.idle
        )?;
        if let Some(p) = self.pressure {
            write!(f, "; a task waited for a core {p:.0} % of the time")?;
        }
        Ok(())
    }
}

/// Fields of /proc/PID/stat after the state letter (the command name before it may hold
/// spaces): ppid is [0], utime [10], stime [11], cutime [12], cstime [13].
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(
        rest.split_whitespace()
            .skip(1)
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

/// CPU ticks, user and system, of the process's threads, and of the children it reaped.
fn ticks(fields: &[u64], with_children: bool) -> u64 {
    let field = |i: usize| *fields.get(i).unwrap_or(&0);
    let own = field(10) + field(11);
    if with_children {
        own + field(12) + field(13)
    } else {
        own
    }
}

/// Every process's fields, by pid.
fn all_processes() -> HashMap<u32, Vec<u64>> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, stat_fields(pid)?)))
        .collect()
}

/// The processes of the tree under `root` (itself included), and their ticks with those of the
/// children they reaped.
fn tree(root: u32, all: &HashMap<u32, Vec<u64>>) -> (Vec<u32>, u64) {
    let mut members = Vec::new();
    let mut total = 0;
    let mut pending = vec![root];
    while let Some(pid) = pending.pop() {
        if let Some(fields) = all.get(&pid) {
            members.push(pid);
            total += ticks(fields, true);
            pending.extend(
                all.iter()
                    .filter(|(_, f)| f.first() == Some(&(pid as u64)))
                    .map(|(child, _)| *child),
            );
        }
    }
    (members, total)
}

/// `total=` of the `some` line of /proc/pressure/cpu, in microseconds.
fn cpu_pressure_us() -> Option<u64> {
    std::fs::read_to_string("/proc/pressure/cpu")
        .ok()?
        .lines()
        .find(|l| l.starts_with("some"))?
        .split_whitespace()
        .find_map(|f| f.strip_prefix("total="))?
        .parse()
        .ok()
}

/// Clock ticks per second of /proc's figures (`getconf CLK_TCK`; 100 on Linux).
fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

impl Groups {
    pub fn sample(&self) -> Sample {
        let all = all_processes();
        let mut ours = HashSet::new();
        let groups = self
            .0
            .iter()
            .map(|(_, processes)| {
                processes
                    .iter()
                    .map(|p| match *p {
                        Process::Alone(pid) => {
                            ours.insert(pid);
                            all.get(&pid).map_or(0, |f| ticks(f, false))
                        }
                        Process::Tree(pid) => {
                            let (members, ticks) = tree(pid, &all);
                            ours.extend(members);
                            ticks
                        }
                    })
                    .sum()
            })
            .collect();
        Sample {
            at: Instant::now(),
            groups,
            processes: all.iter().map(|(pid, f)| (*pid, ticks(f, false))).collect(),
            ours,
            pressure_us: cpu_pressure_us(),
        }
    }

    /// The split between two samples, for a machine of `cores` cores.
    pub fn split(&self, before: &Sample, after: &Sample, cores: f64) -> Split {
        let secs = (after.at - before.at).as_secs_f64();
        let hz = ticks_per_second();
        let percent = |ticks: u64| ticks as f64 / hz / secs * 100.0;
        let groups: Vec<_> = self
            .0
            .iter()
            .zip(before.groups.iter().zip(&after.groups))
            .map(|((name, _), (b, a))| (*name, percent(a.saturating_sub(*b))))
            .collect();
        let other_ticks: u64 = after
            .processes
            .iter()
            .filter(|(pid, _)| !after.ours.contains(pid) && !before.ours.contains(pid))
            .map(|(pid, t)| t.saturating_sub(*before.processes.get(pid).unwrap_or(&0)))
            .sum();
        let other = percent(other_ticks);
        let ours: f64 = groups.iter().map(|(_, p)| p).sum();
        let pressure = before
            .pressure_us
            .zip(after.pressure_us)
            .map(|(b, a)| a.saturating_sub(b) as f64 / 1e6 / secs * 100.0);
        Split {
            groups,
            other,
            idle: (cores * 100.0 - ours - other).max(0.0),
            pressure,
        }
    }
}
