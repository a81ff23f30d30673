//! `simulate [--schedules N] [--seed S] [--minutes M] [--min N]`: runs seeded schedules of the
//! deterministic simulation and ends with one line `N schedules, D divergent, L lost`. A failure
//! prints its seed and the command that replays it, and the exit status is 1.

use std::time::{Duration, Instant};

use allervers_e2e::sim;

fn main() {
    let mut schedules: u64 = 1_000;
    let mut seed: u64 = 1;
    let mut minutes: Option<f64> = None;
    let mut min: u64 = 0;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().map(String::as_str).unwrap_or("");
        let bad = || -> ! {
            eprintln!("error: {flag} needs a number (--schedules N --seed S --minutes M --min N)");
            std::process::exit(2)
        };
        match flag.as_str() {
            "--schedules" => schedules = value.parse().unwrap_or_else(|_| bad()),
            "--seed" => {
                seed = match value.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16).unwrap_or_else(|_| bad()),
                    None => value.parse().unwrap_or_else(|_| bad()),
                }
            }
            "--minutes" => minutes = Some(value.parse().unwrap_or_else(|_| bad())),
            "--min" => min = value.parse().unwrap_or_else(|_| bad()),
            _ => bad(),
        }
    }
    let start = Instant::now();
    let deadline = minutes.map(|m| start + Duration::from_secs_f64(m * 60.0));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!("simulating up to {schedules} schedules from seed {seed} on {threads} threads");
    let summary = sim::run_many(seed, schedules, min, deadline, threads, &|done| {
        if done % 500 == 0 {
            println!("  {done} schedules, {:.0} s", start.elapsed().as_secs_f64());
        }
    });
    for (failed, what) in &summary.failures {
        println!("\nschedule seed {failed} failed:\n{what}");
        println!("replay: scripts/simulate.sh --schedules 1 --seed {failed}");
    }
    println!(
        "{} schedules in {:.0} s ({} with an adversary, {} forged envelopes; {} with an erasure, {} erasure orders; {} with a merge, {} merges and unmerges, {} merges of one person apart)",
        summary.schedules,
        start.elapsed().as_secs_f64(),
        summary.adversarial,
        summary.forged,
        summary.erasing,
        summary.erasures,
        summary.merging,
        summary.merges,
        summary.merge_conflicts
    );
    println!(
        "{} schedules, {} divergent, {} lost",
        summary.schedules, summary.divergent, summary.lost
    );
    if summary.divergent + summary.lost > 0 {
        std::process::exit(1);
    }
}
