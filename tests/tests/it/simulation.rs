//! The deterministic simulation, 1,000 seeded schedules on every run of the test command (the
//! same seeds every time; CI runs 10,000 more from a seed of its commit: `scripts/simulate.sh`).

use allervers_e2e::sim;

/// Run by `a_thousand_simulated_schedules_converge_and_lose_nothing` (`main.rs`).
pub(crate) fn a_thousand_schedules() {
    let summary = sim::run_many(1, 1_000, 1_000, None, 2, &|_| {});
    let failures: Vec<String> = summary
        .failures
        .iter()
        .map(|(seed, what)| {
            format!(
                "seed {seed} (replay: scripts/simulate.sh --schedules 1 --seed {seed}):\n{what}"
            )
        })
        .collect();
    assert_eq!(summary.schedules, 1_000);
    assert!(
        summary.divergent == 0 && summary.lost == 0,
        "{} schedules, {} divergent, {} lost\n{}",
        summary.schedules,
        summary.divergent,
        summary.lost,
        failures.join("\n\n")
    );
    // The schedules merge persons, and some merge one person apart on two devices.
    assert!(
        summary.merging > 0 && summary.merge_conflicts > 0,
        "{} schedules with a merge, {} merges of one person apart",
        summary.merging,
        summary.merge_conflicts
    );
}

/// The same seed replays the same schedule: the same records, with the same ids, written in
/// the same order.
#[test]
fn a_seed_replays_the_same_schedule() {
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            sim::fingerprint(7, dir.path())
        })
        .collect();
    assert!(!runs[0].is_empty());
    assert_eq!(runs[0], runs[1]);
}
