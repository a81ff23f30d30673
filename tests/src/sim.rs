//! The deterministic simulation: 3 to 8 devices and an in-memory relay, driven from one seed.
//!
//! A schedule writes records of every kind on random devices (new persons, concurrent edits of
//! the same fields, appends, conflict resolutions, the organisation's codes), syncs random
//! devices in random orders through the core's `SyncRound` while the network loses requests
//! and answers and replays stale pages, partitions devices, takes the relay down, and drops and
//! reopens devices between any two steps (mid-round included). Time and randomness come from
//! the seed: each device has a stepped clock and a seeded `Entropy` kept across its reopenings,
//! so a seed replays the same schedule.
//!
//! At one step in twelve the first device, a coordinator, erases one of the persons it knows
//! (an erasure order, which the simulated relay carries out as the real one: the listed
//! envelopes deleted, a later push of one refused).
//!
//! Checked at every step: a device's pull cursor never goes back, its records never disappear
//! (but for erased ones), and no device pushes an erased record.
//! Checked at quiescence (network healed, every device synced until nothing moves): every
//! replica holds the same documents (heads), the same index rows, person list, conflict queue
//! (fields, values, authors, in order) and report; every change any device wrote is on every
//! replica; and no write to a field is lost (every write that no later write saw is still one
//! of the field's values), writes to records erased since left out; no replica holds a record
//! erased on any of them, or one that refers to an erased person.
//!
//! In a third of the schedules one more member of the space misbehaves (`adversary.rs`): at
//! random steps it pushes forged changes and random envelopes into the relay. The honest devices
//! must still converge and lose nothing, and at quiescence each of them holds every forgery set
//! aside as expected (the same sequence numbers quarantined, and held, on every honest device,
//! and nothing else), has applied no forged change, and shows every honest device's roster entry
//! as its device wrote it. In those schedules the first device founds the space, adds every
//! other device with a worker's grant (the adversary is a member) and makes the other honest
//! devices coordinators, so that roles are enforced.

mod adversary;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use allervers_core::seed as gen;
use allervers_core::vocab::Vocab;
use allervers_core::{
    Concerns, CoreError, DeviceId, Edit, Kind, ManualClock, Membership, NewAction, NewConsent,
    NewObservation, NewPeriod, NewReferral, PersonQuery, PersonSort, RawKey, RecordId, Request,
    Response, SeededEntropy, Store, StoreOptions, SyncRound, Value, Via,
};
use allervers_protocol::{
    BlindedRecord, Control, ControlBody, ControlPage, Page, PostControl, Push, Pushed, Stored,
};
use automerge::{AutoCommit, ChangeHash, ReadDoc, ScalarValue, ROOT};
use chrono::{NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use adversary::Expect;

/// What one schedule found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Replicas that disagree at quiescence, or a step that failed unexpectedly.
    pub divergence: Option<String>,
    /// Writes missing somewhere at quiescence.
    pub lost: Vec<String>,
    /// With an adversary: how many forged envelopes the relay stored.
    pub forged: Option<usize>,
    /// Erasure orders the coordinator's device made.
    pub erasures: usize,
    /// Persons merged (and merges undone) by the devices, and the merges of one person made
    /// apart on two devices, a conflict at quiescence.
    pub merges: usize,
    pub merge_conflicts: usize,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.divergence.is_none() && self.lost.is_empty()
    }
}

/// The relay: one space's log, idempotent on the sealed bytes, as the real one; and its control
/// log, which holds the erasure orders (the space's key is handed out here, so there are no key
/// deliveries): an order deletes the envelopes it lists, and a push carrying one of them is
/// refused, as the real relay does.
#[derive(Default)]
struct Relay {
    log: Vec<Stored>,
    by_digest: HashMap<Vec<u8>, u64>,
    /// The last sequence number handed out (a deleted envelope keeps its number).
    last_seq: u64,
    control: Vec<Control>,
    erased: HashSet<BlindedRecord>,
    now_ms: i64,
    /// Sync attempts left while the relay is down.
    down_for: u32,
}

impl Relay {
    /// Stores a push; `None` (refused, nothing stored) when it carries an erased record.
    fn push(&mut self, push: &Push) -> Option<Pushed> {
        if push.envelopes.iter().any(|e| {
            self.erased.contains(&BlindedRecord {
                epoch: e.epoch,
                record: e.record,
            })
        }) {
            return None;
        }
        let mut seqs = Vec::new();
        for e in &push.envelopes {
            let seq = match self.by_digest.get(&e.sealed) {
                Some(seq) => *seq,
                None => {
                    self.last_seq += 1;
                    let seq = self.last_seq;
                    self.log.push(Stored {
                        seq,
                        received_at_ms: self.now_ms,
                        clock_offset_ms: self.now_ms - push.sent_at_ms,
                        envelope: e.clone(),
                    });
                    self.by_digest.insert(e.sealed.clone(), seq);
                    seq
                }
            };
            seqs.push(seq);
        }
        Some(Pushed { seqs })
    }

    /// Posted control items: erasure orders are kept (and carried out); anything else is
    /// acknowledged and dropped, as before.
    /// Returns the acknowledgement and the sequence numbers of the envelopes deleted.
    fn post_control(&mut self, post: &PostControl) -> (Pushed, Vec<u64>) {
        let mut seqs = Vec::new();
        let mut deleted = Vec::new();
        for item in &post.items {
            if let ControlBody::Erase { records, .. } = item {
                let listed: HashSet<BlindedRecord> = records.iter().copied().collect();
                self.log.retain(|s| {
                    let keep = !listed.contains(&BlindedRecord {
                        epoch: s.envelope.epoch,
                        record: s.envelope.record,
                    });
                    if !keep {
                        deleted.push(s.seq);
                    }
                    keep
                });
                self.erased.extend(listed);
                let seq = self.control.len() as u64 + 1;
                self.control.push(Control {
                    seq,
                    body: item.clone(),
                });
                seqs.push(seq);
            } else {
                seqs.push(0);
            }
        }
        (Pushed { seqs }, deleted)
    }

    fn pull(&self, after: u64, limit: usize, control_after: Option<u64>) -> Page {
        let mut rest = self.log.iter().filter(|s| s.seq > after);
        let envelopes: Vec<Stored> = rest.by_ref().take(limit).cloned().collect();
        let next = envelopes.last().map_or(after, |e| e.seq);
        let control = control_after.map(|c| {
            let items: Vec<Control> = self.control.iter().skip(c as usize).cloned().collect();
            ControlPage {
                next: items.last().map_or(c, |i| i.seq),
                items,
                more: false,
            }
        });
        Page {
            more: rest.next().is_some(),
            envelopes,
            next,
            control,
        }
    }

    /// The last sequence number of an envelope the relay still holds.
    fn top(&self) -> u64 {
        self.log.last().map_or(0, |s| s.seq)
    }
}

struct Device {
    path: PathBuf,
    key: RawKey,
    options: StoreOptions,
    clock: Arc<ManualClock>,
    store: Option<Store>,
    partitioned: bool,
    cursor: u64,
    records: HashSet<RecordId>,
    /// The last page this device received, replayed by a faulty network.
    last_page: Option<Page>,
}

impl Device {
    fn store(&self) -> &Store {
        self.store.as_ref().expect("device is open")
    }

    fn reopen(&mut self) -> Result<(), String> {
        self.store = None;
        let store = Store::open_with(&self.path, &self.key, self.options.clone())
            .map_err(|e| format!("reopening failed: {e}"))?;
        self.store = Some(store);
        Ok(())
    }
}

/// One write to a scalar field (or an entry of a set), remembered to check that no decision is
/// lost: the record, the field path, the value written (`None` where the write cleared the
/// field, as an unmerge does: it supersedes what it saw but leaves no value to find, and a value
/// put apart wins over it) and the change that wrote it.
struct Write {
    record: RecordId,
    path: String,
    value: Option<String>,
    change: ChangeHash,
}

struct Sim {
    rng: StdRng,
    relay: Relay,
    /// The honest devices, then the adversary if the schedule has one.
    devices: Vec<Device>,
    /// How many devices are honest.
    honest: usize,
    /// What the adversary pushed that the relay stored: how every honest device must end up
    /// holding it, by sequence number.
    forged: BTreeMap<u64, Expect>,
    /// The changes the adversary forged: applied on no honest device.
    forged_changes: Vec<(RecordId, ChangeHash)>,
    /// Each honest device's roster entry as it wrote it: (device, name, worker).
    entries: Vec<(DeviceId, String, String)>,
    writes: Vec<Write>,
    /// Every change a device wrote, by record.
    changes: Vec<(RecordId, ChangeHash)>,
    /// The heads of the record about to be edited.
    heads_before: Option<Vec<String>>,
    /// Erasure orders the coordinator's device made.
    erasures: usize,
    /// Merges and unmerges written, and conflicts between merges of one person settled.
    merges: usize,
    merge_conflicts: usize,
    /// Whether this schedule merges often.
    merging: bool,
    log: Vec<String>,
}

/// The space every simulated device belongs to.
const SPACE: [u8; 16] = [0x5e; 16];

const SITUATIONS: &[&str] = &["street", "squat", "car", "emergency_shelter", "hotel"];
const ALERTS: &[&str] = &["none", "watch", "very_vulnerable"];
const PERIODS: &[&str] = &["street", "emergency_shelter", "chrs", "social_housing"];
const NEEDS: &[&str] = &["housing", "health", "papers", "food"];
const PHONES: &[&str] = &["06 11 22 33 44", "07 55 66 77 88", "06 99 88 77 66"];
/// The choices of the organisation's field `custom.logement` that coordinators define apart.
const HOUSING: &[&str] = &["t1", "t2", "foyer"];

/// The organisation's field the coordinators define (its label one of two, so that two
/// coordinators defining it apart leave the roster a conflict every replica settles alike).
fn housing_field(label: &str) -> allervers_core::CustomField {
    allervers_core::CustomField {
        kind: allervers_core::Kind::Person,
        name: "logement".into(),
        ty: allervers_core::CustomType::Choice,
        fr: label.into(),
        en: None,
        min: None,
        max: None,
        choices: HOUSING
            .iter()
            .map(|c| allervers_core::Choice {
                code: c.to_string(),
                fr: c.to_uppercase(),
                en: None,
            })
            .collect(),
        sensitive: false,
        retired: false,
    }
}

/// Runs the schedule of `seed` with its stores under `dir`.
pub fn run(seed: u64, dir: &Path) -> Outcome {
    let mut sim = match Sim::new(seed, dir) {
        Ok(sim) => sim,
        Err(e) => {
            return Outcome {
                divergence: Some(format!("setting up: {e}")),
                ..Default::default()
            }
        }
    };
    // A morning at the office: two persons known to every phone before the day starts.
    for _ in 0..2 {
        if let Err(e) = sim.write(0) {
            return Outcome {
                divergence: Some(format!("setting up: {e}")),
                ..Default::default()
            };
        }
    }
    for d in 0..sim.devices.len() {
        if let Err(e) = sim.sync(d, false) {
            return Outcome {
                divergence: Some(format!("setting up: {e}")),
                ..Default::default()
            };
        }
    }
    if let Err(e) = sim.grant_roles() {
        return Outcome {
            divergence: Some(format!("setting up: {e}")),
            ..Default::default()
        };
    }
    let steps = sim.rng.gen_range(15..45);
    for step in 0..steps {
        if let Err(e) = sim.step() {
            return Outcome {
                divergence: Some(format!("step {step}: {e}\n{}", sim.log.join("\n"))),
                ..Default::default()
            };
        }
    }
    match sim.quiesce() {
        Err(e) => Outcome {
            divergence: Some(format!("at quiescence: {e}\n{}", sim.log.join("\n"))),
            ..Default::default()
        },
        Ok(()) => Outcome {
            forged: (sim.devices.len() > sim.honest).then_some(sim.forged.len()),
            erasures: sim.erasures,
            merges: sim.merges,
            merge_conflicts: sim.merge_conflicts
                + sim.devices[0]
                    .store()
                    .conflicts()
                    .map(|c| c.iter().filter(|c| c.field == "merged_into").count())
                    .unwrap_or(0),
            ..sim.compare()
        },
    }
}

impl Sim {
    fn new(seed: u64, dir: &Path) -> Result<Sim, String> {
        let mut rng = StdRng::seed_from_u64(seed);
        let count = if rng.gen_bool(0.8) {
            rng.gen_range(3..=4)
        } else {
            rng.gen_range(5..=8)
        };
        // A third of the schedules have one more device, a member that misbehaves.
        let adversary = rng.gen_ratio(1, 3);
        // One schedule in five is an office day of duplicates: a quarter of the writes merge,
        // and every honest device is a coordinator's (a merge is a coordinator's decision; with
        // an adversary, `grant_roles` makes them so).
        let merging = rng.gen_ratio(1, 5);
        let start = Utc.with_ymd_and_hms(2026, 1, 12, 20, 0, 0).unwrap();
        // The space's key is handed to every device here: the simulated relay keeps no control
        // log (key deliveries are tested against the real relay).
        let space_key = RawKey::from_bytes(rng.gen());
        let mut membership = Membership {
            space: SPACE,
            name: "Maraude simulée".into(),
            relay: "sim://relay".into(),
            token: "jeton".into(),
            epoch: 0,
            coordinator: true,
            root: None,
            founder: None,
        };
        let mut devices = Vec::new();
        let mut entries = Vec::new();
        for i in 0..count + usize::from(adversary) {
            let clock = Arc::new(ManualClock::new(
                start + chrono::Duration::seconds(rng.gen_range(-300..300)),
            ));
            let options = StoreOptions {
                clock: clock.clone(),
                entropy: Arc::new(SeededEntropy::new(rng.gen())),
            };
            let path = dir.join(format!("device-{i}.db"));
            let key = RawKey::from_bytes(rng.gen());
            let worker = gen::WORKERS[i % gen::WORKERS.len()];
            let store = Store::create_with(
                &path,
                &key,
                &format!("Téléphone {i}"),
                worker,
                options.clone(),
            )
            .map_err(|e| e.to_string())?;
            if i == 0 && adversary {
                // The first device founded the space: roles are read from its keys (only where
                // an adversary tries them: the other schedules run in a space without roles, as
                // one made by an older version).
                membership.founder = store
                    .new_space("http://sim.invalid", &membership.name)
                    .map_err(|e| e.to_string())?
                    .founder;
            }
            store
                .join_space(&Membership {
                    coordinator: i == 0 || (merging && i < count),
                    ..membership.clone()
                })
                .map_err(|e| e.to_string())?;
            store
                .keep_space_key(&SPACE, 0, &space_key)
                .map_err(|e| e.to_string())?;
            if i == 0 {
                // The other devices trust the first one's orders (erasures) as their root's.
                membership.root = Some(store.identity().device.clone());
            }
            if i < count {
                let me = store.identity();
                entries.push((me.device.clone(), me.device_name.clone(), me.worker.clone()));
            }
            devices.push(Device {
                path,
                key,
                options,
                clock,
                store: Some(store),
                partitioned: false,
                cursor: 0,
                records: HashSet::new(),
                last_page: None,
            });
        }
        if adversary {
            // The founder adds every other device, the adversary included, with a worker's
            // grant, as its approval of their enrolment would.
            for d in &devices[1..] {
                allervers_core::fuzzing::admit(devices[0].store(), d.store())
                    .map_err(|e| format!("admitting a device: {e}"))?;
            }
        }
        Ok(Sim {
            rng,
            relay: Relay {
                now_ms: start.timestamp_millis(),
                ..Default::default()
            },
            devices,
            honest: count,
            forged: BTreeMap::new(),
            forged_changes: Vec::new(),
            entries,
            writes: Vec::new(),
            changes: Vec::new(),
            heads_before: None,
            erasures: 0,
            merges: 0,
            merge_conflicts: 0,
            merging,
            log: Vec::new(),
        })
    }

    fn step(&mut self) -> Result<(), String> {
        for d in &self.devices {
            d.clock.advance_ms(self.rng.gen_range(1_000..600_000));
        }
        self.relay.now_ms += self.rng.gen_range(1_000..600_000);
        if self.devices.len() > self.honest && self.rng.gen_ratio(1, 6) {
            self.misbehave()?;
        }
        if self.rng.gen_ratio(1, 12) {
            self.erase()?;
        }
        let d = self.rng.gen_range(0..self.honest);
        match self.rng.gen_range(0..100) {
            0..=49 => self.write(d)?,
            50..=79 => self.sync(d, true)?,
            80..=87 => {
                self.log.push(format!("reopen {d}"));
                self.devices[d].reopen()?;
            }
            88..=95 => {
                let p = !self.devices[d].partitioned;
                self.log.push(format!("partition {d} {p}"));
                self.devices[d].partitioned = p;
            }
            _ => {
                self.log.push("relay down".into());
                self.relay.down_for = self.rng.gen_range(1..4);
            }
        }
        self.check_step(d)
    }

    /// With an adversary, the founder (device 0), which has learnt every device's keys at the first syncs, makes
    /// every other honest device a coordinator and pushes the grants; the devices receive them
    /// with their next syncs. The adversary is a member, never a coordinator.
    fn grant_roles(&mut self) -> Result<(), String> {
        if self.devices.len() == self.honest {
            return Ok(());
        }
        self.sync(0, false)?;
        for (device, _, _) in &self.entries[1..] {
            self.devices[0]
                .store()
                .make_coordinator(device)
                .map_err(|e| format!("granting {device}: {e}"))?;
        }
        self.sync(0, false)
    }

    /// The adversary's turn: it syncs as any device, or pushes one or two forgeries.
    fn misbehave(&mut self) -> Result<(), String> {
        let a = self.honest;
        if self.rng.gen_bool(0.2) {
            return self.sync(a, true);
        }
        let honest: Vec<DeviceId> = self.entries.iter().map(|e| e.0.clone()).collect();
        let mut forgeries = Vec::new();
        for _ in 0..self.rng.gen_range(1..=2) {
            let f = adversary::forge(&mut self.rng, self.devices[a].store(), &honest)
                .map_err(|e| format!("forging: {e}"))?;
            self.log.push(format!("adversary pushes {}", f.what));
            forgeries.push(f);
        }
        let Some(pushed) = self.relay.push(&Push {
            envelopes: forgeries.iter().map(|f| f.envelope.clone()).collect(),
            sent_at_ms: self.devices[a].store().now().timestamp_millis(),
        }) else {
            self.log.push("  refused: an erased record".into());
            return Ok(());
        };
        for (seq, f) in pushed.seqs.into_iter().zip(forgeries) {
            self.forged.insert(seq, f.expect);
            self.forged_changes.extend(f.change);
        }
        Ok(())
    }

    /// The coordinator's device (the first) erases one of the persons it knows, at a person's
    /// request: the order goes out with its next sync.
    fn erase(&mut self) -> Result<(), String> {
        let persons = self.persons(0)?;
        if persons.len() < 3 {
            return Ok(());
        }
        let person = persons[self.rng.gen_range(0..persons.len())];
        let keep_notes = self.rng.gen_bool(0.5);
        let done = self.devices[0]
            .store()
            .erase_person(person, "demande de la personne", keep_notes)
            .map_err(|e| format!("erasing {person}: {e}"))?;
        self.erasures += 1;
        self.log.push(format!(
            "0 erases {person}: {} records, {} re-issued",
            done.records, done.reissued
        ));
        Ok(())
    }

    /// Invariants checked after every step on the device that acted.
    fn check_step(&mut self, d: usize) -> Result<(), String> {
        let dev = &mut self.devices[d];
        let store = dev.store();
        let cursor = store.pull_cursor(&SPACE).map_err(|e| e.to_string())?;
        if cursor < dev.cursor {
            return Err(format!(
                "device {d}'s pull cursor went back from {} to {cursor}",
                dev.cursor
            ));
        }
        let records: HashSet<RecordId> = store
            .record_ids()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        for gone in dev.records.difference(&records) {
            // Only an erasure takes a record away.
            if !store.is_erased(*gone).map_err(|e| e.to_string())? {
                return Err(format!("device {d} lost record {gone}"));
            }
        }
        dev.cursor = cursor;
        dev.records = records;
        Ok(())
    }

    fn persons(&self, d: usize) -> Result<Vec<RecordId>, String> {
        Ok(self.devices[d]
            .store()
            .list_persons(&PersonQuery {
                sort: PersonSort::Name,
                limit: 1_000,
                include_inactive: true,
                ..Default::default()
            })
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|p| p.id)
            .collect())
    }

    fn records_of(&self, d: usize, kind: Kind) -> Result<Vec<RecordId>, String> {
        Ok(self.devices[d]
            .store()
            .record_ids()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|(_, k)| *k == kind)
            .map(|(id, _)| id)
            .collect())
    }

    /// Remembers the change a write made (the writer's single head right after it); a write
    /// that left the heads as they were changed nothing (the value was already there).
    fn wrote(
        &mut self,
        d: usize,
        record: RecordId,
        field: Option<(String, Option<String>)>,
    ) -> Result<(), String> {
        let heads = self.devices[d]
            .store()
            .record_heads(record)
            .map_err(|e| e.to_string())?;
        if self.heads_before.as_ref() == Some(&heads) {
            return Ok(());
        }
        let [head] = heads.as_slice() else {
            return Err(format!("a local write left {} heads", heads.len()));
        };
        let change: ChangeHash = head.parse().map_err(|_| "bad head".to_string())?;
        self.changes.push((record, change));
        if let Some((path, value)) = field {
            self.writes.push(Write {
                record,
                path,
                value,
                change,
            });
        }
        Ok(())
    }

    fn write(&mut self, d: usize) -> Result<(), String> {
        let persons = self.persons(d)?;
        let pick = self.rng.gen_range(0..100);
        let store_err = |e: CoreError| e.to_string();
        if persons.len() < 2 || pick < 8 {
            let new = gen::person(&mut self.rng);
            let id = self.devices[d]
                .store()
                .add_person(&new)
                .map_err(store_err)?;
            self.log.push(format!("{d} adds person {id}"));
            return self.wrote(d, id, None);
        }
        // Most edits go to a few persons, so that devices often edit the same fields apart, and
        // a device that shows conflicts often resolves one.
        let person = persons[self.rng.gen_range(0..persons.len().min(3))];
        if self.rng.gen_bool(0.3)
            && !self.devices[d]
                .store()
                .conflicts()
                .map_err(store_err)?
                .is_empty()
        {
            return self.resolve(d);
        }
        if self.merging && self.rng.gen_ratio(1, 4) {
            return self.merge(d, &persons);
        }
        let store = self.devices[d].store.as_ref().expect("open");
        self.heads_before = store.record_heads(person).ok();
        match pick {
            8..=49 => {
                // A value of the organisation's field, once this device holds its definition.
                let defined = !store.custom_fields(None).map_err(store_err)?.is_empty();
                let (path, edit, value) = match self.rng.gen_range(0..7) {
                    6 if defined => {
                        let v = HOUSING[self.rng.gen_range(0..HOUSING.len())];
                        (
                            "custom.logement".to_string(),
                            Edit::Put("custom".into(), "logement".into(), v.into()),
                            v.to_string(),
                        )
                    }
                    0 | 1 => {
                        let v = SITUATIONS[self.rng.gen_range(0..SITUATIONS.len())];
                        (
                            "situation".to_string(),
                            Edit::Set("situation".into(), Value::Code(v.into())),
                            v.to_string(),
                        )
                    }
                    2 => {
                        let v = PHONES[self.rng.gen_range(0..PHONES.len())];
                        (
                            "phone".to_string(),
                            Edit::Set("phone".into(), Value::Text(v.into())),
                            v.to_string(),
                        )
                    }
                    3 => {
                        let v = ALERTS[self.rng.gen_range(0..ALERTS.len())];
                        (
                            "alert_level".to_string(),
                            Edit::Set("alert_level".into(), Value::Code(v.into())),
                            v.to_string(),
                        )
                    }
                    _ => {
                        // (6 on a device that holds no definition of the field yet: a need.)
                        let need = NEEDS[self.rng.gen_range(0..NEEDS.len())];
                        let on = self.rng.gen_bool(0.6);
                        let edit = if on {
                            Edit::Add("needs".into(), Value::Code(need.into()))
                        } else {
                            Edit::Remove("needs".into(), Value::Code(need.into()))
                        };
                        (format!("needs.{need}"), edit, on.to_string())
                    }
                };
                self.log.push(format!("{d} sets {person} {path} = {value}"));
                store.edit(person, &[edit]).map_err(store_err)?;
                self.wrote(d, person, Some((path, Some(value))))
            }
            50..=51 => {
                // A period of the person's housing journey: an open one is their situation now,
                // and ends the open one before it (several records in one write).
                let situation = PERIODS[self.rng.gen_range(0..PERIODS.len())];
                let from =
                    store.now().date_naive() - chrono::Duration::days(self.rng.gen_range(0..40));
                let id = store
                    .add_period(
                        &NewPeriod {
                            concerns: Concerns::Person(person),
                            situation: situation.into(),
                            started_on: from,
                            ended_on: None,
                            place: None,
                            end_reason: None,
                            notes: None,
                        },
                        Some("moved_on"),
                    )
                    .map_err(store_err)?;
                self.log.push(format!(
                    "{d} adds period {id} {situation} from {from} to {person}"
                ));
                // The person's situation, when the period is their situation now: a write of
                // the field like any other.
                self.wrote(
                    d,
                    person,
                    Some(("situation".into(), Some(situation.into()))),
                )?;
                self.wrote(d, id, None)
            }
            52..=53 => {
                // The place of a period, often edited apart on two devices: a conflict.
                let periods = self.records_of(d, Kind::JourneyPeriod)?;
                let Some(&period) = periods.get(self.rng.gen_range(0..periods.len().max(1))) else {
                    return Ok(());
                };
                let place = gen::STREETS[self.rng.gen_range(0..gen::STREETS.len())];
                let store = self.devices[d].store();
                self.heads_before = store.record_heads(period).ok();
                self.log.push(format!("{d} sets {period} place = {place}"));
                store
                    .edit(
                        period,
                        &[Edit::Set("place".into(), Value::Text(place.into()))],
                    )
                    .map_err(store_err)?;
                self.wrote(d, period, Some(("place".into(), Some(place.into()))))
            }
            54 => {
                let name = gen::NICKNAMES[self.rng.gen_range(0..gen::NICKNAMES.len())];
                self.log.push(format!("{d} adds other name to {person}"));
                store
                    .edit(
                        person,
                        &[Edit::Add("other_names".into(), Value::Text(name.into()))],
                    )
                    .map_err(store_err)?;
                self.wrote(d, person, None)
            }
            55..=69 => {
                let mut met = vec![person];
                if persons.len() > 1 && self.rng.gen_bool(0.3) {
                    let other = persons[self.rng.gen_range(0..persons.len())];
                    if other != person {
                        met.push(other);
                    }
                }
                let mut encounter = gen::encounter(&mut self.rng, met, store.now());
                encounter.anonymous_count = self.rng.gen_range(0..3);
                let id = store.log_encounter(&encounter).map_err(store_err)?;
                self.log.push(format!("{d} logs encounter {id}"));
                self.wrote(d, id, None)
            }
            70..=76 => {
                let id = store
                    .add_action(&NewAction {
                        person,
                        title: "Rappeler le 115".into(),
                        category: "siao_referral".into(),
                        due_at: Some(store.now().date_naive()),
                        assigned_to: None,
                    })
                    .map_err(store_err)?;
                self.log.push(format!("{d} adds action {id}"));
                self.wrote(d, id, None)
            }
            77..=80 => {
                let actions = self.records_of(d, Kind::Action)?;
                let Some(&action) = actions.get(self.rng.gen_range(0..actions.len().max(1))) else {
                    return Ok(());
                };
                let store = self.devices[d].store();
                self.heads_before = store.record_heads(action).ok();
                store
                    .complete_action(action, Some("Fait, appel passé"))
                    .map_err(store_err)?;
                self.log.push(format!("{d} completes {action}"));
                self.wrote(d, action, None)
            }
            81..=83 => {
                // A consent decision, given or refused, often on the same day on two devices.
                let categories = ["identity_contact", "situation_journey", "shared_assessment"];
                let category = categories[self.rng.gen_range(0..categories.len())];
                let given = self.rng.gen_bool(0.6);
                let ids = store
                    .record_consents(&[NewConsent {
                        person,
                        partner: "siao".into(),
                        category: category.into(),
                        given,
                        decided_on: Some(store.now().date_naive()),
                        how: "oral".into(),
                        note: None,
                    }])
                    .map_err(store_err)?;
                self.log.push(format!(
                    "{d} records consent {category}={given} for {person}"
                ));
                match ids.first() {
                    Some(&id) => self.wrote(d, id, None),
                    None => Err("a consent decision was recorded and not returned".into()),
                }
            }
            84..=85 => {
                let id = store
                    .add_referral(&NewReferral {
                        person,
                        target: "siao_115".into(),
                        target_name: None,
                        date: None,
                        status: Some("sent".into()),
                        household: None,
                    })
                    .map_err(store_err)?;
                self.log.push(format!("{d} adds referral {id}"));
                self.wrote(d, id, None)
            }
            86..=88 => {
                let id = store
                    .add_observation(&NewObservation {
                        territory: gen::STREETS[self.rng.gen_range(0..gen::STREETS.len())].into(),
                        team: None,
                        date: None,
                        counts: BTreeMap::from([("tentes".to_string(), self.rng.gen_range(0..9))]),
                        notes: None,
                    })
                    .map_err(store_err)?;
                self.log.push(format!("{d} observes {id}"));
                self.wrote(d, id, None)
            }
            89..=90 => {
                let code = format!("maraude_{}", self.rng.gen_range(0..4));
                // A device whose grant has not reached it yet is offered no such thing.
                let me = store.identity().device.clone();
                if store.is_coordinator(&me).map_err(store_err)? == Some(false) {
                    self.log.push(format!("{d} is no coordinator yet"));
                    return Ok(());
                }
                if self.rng.gen_bool(0.5) {
                    let label = ["Logement souhaité", "Logement visé"][self.rng.gen_range(0..2)];
                    self.log
                        .push(format!("{d} defines custom.logement ({label})"));
                    return store.define_field(&housing_field(label)).map_err(store_err);
                }
                self.log.push(format!("{d} adds code {code}"));
                store
                    .add_term(Vocab::Service, &code, "Service maison", "House service")
                    .map_err(store_err)
            }
            91..=93 => {
                // A worker opens the person's file or timeline: logged in the device's access
                // log of the day, a record that every replica must end with too.
                self.log.push(format!("{d} reads {person}"));
                if self.rng.gen_bool(0.5) {
                    store.open_person(person, Via::App).map(|_| ())
                } else {
                    store.open_timeline(person, Via::App).map(|_| ())
                }
                .map_err(store_err)
            }
            94..=97 => self.merge(d, &persons),
            _ => self.resolve(d),
        }
    }

    /// Merges two listed persons (one recorded twice), or undoes a merge this device knows of:
    /// devices that have not heard of a merge go on editing and meeting the merged record, and
    /// two devices merging one person apart make a conflict.
    fn merge(&mut self, d: usize, persons: &[RecordId]) -> Result<(), String> {
        let store_err = |e: CoreError| e.to_string();
        let store = self.devices[d].store.as_ref().expect("open");
        let merged: Vec<RecordId> = self
            .records_of(d, Kind::Person)?
            .into_iter()
            .filter(|id| !persons.contains(id))
            .collect();
        // A merge writes the field `merged_into`, an unmerge clears it: both supersede the
        // merges and resolutions the device saw.
        let (record, outcome, value) = if !merged.is_empty() && self.rng.gen_ratio(1, 4) {
            let other = merged[self.rng.gen_range(0..merged.len())];
            self.heads_before = store.record_heads(other).ok();
            self.log.push(format!("{d} unmerges {other}"));
            (other, store.unmerge_person(other), None)
        } else {
            // Among the few persons most edits go to: two devices often merge one apart.
            let few = persons.len().min(4);
            let keep = persons[self.rng.gen_range(0..few)];
            let other = persons[self.rng.gen_range(0..few.min(2))];
            self.heads_before = store.record_heads(other).ok();
            self.log.push(format!("{d} merges {other} into {keep}"));
            (
                other,
                store.merge_persons(keep, other),
                Some(keep.to_string()),
            )
        };
        match outcome {
            Ok(()) => {
                self.merges += 1;
                self.wrote(d, record, Some(("merged_into".into(), value)))
            }
            // The same person twice, or one merged already: refused, nothing written.
            Err(CoreError::InvalidInput { .. }) => Ok(()),
            Err(e) => Err(store_err(e)),
        }
    }

    /// Resolves a conflict the device shows, to one of its values.
    fn resolve(&mut self, d: usize) -> Result<(), String> {
        let conflicts = self.devices[d]
            .store()
            .conflicts()
            .map_err(|e| e.to_string())?;
        if conflicts.is_empty() {
            return Ok(());
        }
        let c = &conflicts[self.rng.gen_range(0..conflicts.len())];
        let value = c.values[self.rng.gen_range(0..c.values.len())]
            .value
            .to_string();
        self.log.push(format!(
            "{d} resolves {} {} = {value}",
            c.record_id, c.field
        ));
        let (record, field) = (c.record_id, c.field.clone());
        if field == "merged_into" {
            self.merge_conflicts += 1;
        }
        self.heads_before = self.devices[d].store().record_heads(record).ok();
        match self.devices[d].store().resolve(record, &field, &value) {
            Ok(()) => {}
            // A merge is settled by a coordinator's device (another's is refused), and never
            // into a person erased here since (that value is refused): nothing is written.
            Err(CoreError::InvalidInput { .. } | CoreError::RecordNotFound(_))
                if field == "merged_into" =>
            {
                return Ok(())
            }
            Err(e) => return Err(e.to_string()),
        }
        // A set entry's values show as yes / no and are stored as booleans.
        let stored = match value.as_str() {
            "yes" => "true".to_string(),
            "no" => "false".to_string(),
            _ => value,
        };
        self.wrote(d, record, Some((field, Some(stored))))
    }

    /// One sync round of device `d`, through the faulty network when `faults`.
    fn sync(&mut self, d: usize, faults: bool) -> Result<(), String> {
        self.log.push(format!("sync {d}"));
        let dev = &mut self.devices[d];
        if faults && (dev.partitioned || self.relay.down_for > 0) {
            self.relay.down_for = self.relay.down_for.saturating_sub(1);
            return Ok(()); // unreachable: the round ends before it starts
        }
        let store = dev.store.as_ref().expect("open");
        let mut round = SyncRound::new(store).map_err(|e| e.to_string())?;
        let mut replay_next = false;
        loop {
            let request = match round.poll() {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(()),
                Err(e) => return Err(format!("poll: {e}")),
            };
            let fault = if faults {
                self.rng.gen_range(0..100)
            } else {
                100
            };
            if fault < 4 {
                self.log.push("  request lost".into());
                return Ok(());
            }
            let response = match &request {
                Request::PostControl(post) => {
                    let (posted, deleted) = self.relay.post_control(post);
                    // A forgery under an erased record's blinded id is gone from the relay, and
                    // from wherever it was set aside.
                    for seq in deleted {
                        self.forged.remove(&seq);
                    }
                    Response::Posted(posted)
                }
                Request::Push(push) => match self.relay.push(push) {
                    Some(pushed) => Response::Pushed(pushed),
                    // A round reads the control log before it pushes: an honest device never
                    // pushes a record erased before it.
                    None => return Err(format!("device {d} pushed an erased record")),
                },
                Request::Pull {
                    after,
                    limit,
                    control_after,
                } => {
                    let page = self.relay.pull(*after, *limit, *control_after);
                    match (replay_next, &dev.last_page) {
                        (true, Some(stale)) => {
                            self.log.push("  stale page replayed".into());
                            Response::Page(stale.clone())
                        }
                        _ => Response::Page(page),
                    }
                }
            };
            if fault < 8 {
                self.log.push("  answer lost".into());
                return Ok(());
            }
            if fault < 10 {
                // The app is killed while the answer is on its way.
                self.log.push("  device dropped mid-round".into());
                drop(round);
                return dev.reopen();
            }
            replay_next = fault < 14;
            // What a later stale replay serves: a page as the relay sent it (damage on the way
            // is never the same twice, so it is not what is replayed).
            if let Response::Page(page) = &response {
                if !page.envelopes.is_empty() {
                    dev.last_page = Some(page.clone());
                }
            }
            let mut response = response;
            if let (Response::Page(page), true) = (&mut response, fault < 17) {
                // Bytes damaged on the way (a random run of them: damage on the way is never
                // the same twice): the envelope is quarantined, and asked for again at the
                // next round, since the relay's copy may be intact.
                if let Some(stored) = page.envelopes.last_mut() {
                    let n = stored.envelope.sealed.len();
                    let at = self.rng.gen_range(0..n.saturating_sub(8).max(1));
                    for byte in stored.envelope.sealed[at..].iter_mut().take(8) {
                        *byte ^= self.rng.gen_range(1..=255u8);
                    }
                    self.log.push("  page tampered with".into());
                }
            }
            match round.handle(response) {
                Ok(_) => {}
                Err(CoreError::ChangesRefused(why)) if faults => {
                    self.log.push(format!("  refused: {why}"));
                    return Ok(());
                }
                Err(e) => return Err(format!("handle: {e}")),
            }
        }
    }

    /// Heals the network and syncs every device until a whole pass moves nothing.
    fn quiesce(&mut self) -> Result<(), String> {
        self.log.push("quiesce".into());
        for d in &mut self.devices {
            d.partitioned = false;
        }
        self.relay.down_for = 0;
        for _ in 0..6 {
            let before = (self.relay.last_seq, self.relay.control.len());
            let mut cursors = Vec::new();
            for d in 0..self.honest {
                self.sync(d, false)?;
                cursors.push(
                    self.devices[d]
                        .store()
                        .pull_cursor(&SPACE)
                        .map_err(|e| e.to_string())?,
                );
            }
            let top = self.relay.top();
            let posted = self.devices[..self.honest].iter().all(|d| {
                d.store()
                    .control_cursor(&SPACE)
                    .is_ok_and(|c| c == self.relay.control.len() as u64)
            });
            if (self.relay.last_seq, self.relay.control.len()) == before
                && cursors.iter().all(|c| *c >= top)
                && posted
            {
                return Ok(());
            }
        }
        Err("the devices did not settle in six passes".into())
    }

    fn compare(&self) -> Outcome {
        let mut outcome = Outcome::default();
        let mut views = Vec::new();
        for (i, d) in self.devices[..self.honest].iter().enumerate() {
            match view(d.store()) {
                Ok(v) => views.push(v),
                Err(e) => {
                    outcome.divergence = Some(format!("reading device {i}: {e}"));
                    return outcome;
                }
            }
        }
        for (i, v) in views.iter().enumerate().skip(1) {
            if let Some(what) = views[0].differs(v) {
                outcome.divergence = Some(format!(
                    "device 0 and device {i} differ in {what}\n{}",
                    self.log.join("\n")
                ));
                return outcome;
            }
        }
        if let Err(what) = self.check_adversary() {
            outcome.divergence = Some(format!("{what}\n{}", self.log.join("\n")));
            return outcome;
        }
        if let Err(what) = self.check_erased() {
            outcome.divergence = Some(format!("{what}\n{}", self.log.join("\n")));
            return outcome;
        }
        // Every change written is on every replica, and no write to a field is lost (but for
        // records erased since, on every replica alike).
        let store = self.devices[0].store();
        // Erased on one replica: a record its author erased before it ever left is known to it
        // alone.
        let erased = |record: &RecordId| {
            self.devices[..self.honest]
                .iter()
                .any(|d| d.store().is_erased(*record).unwrap_or(false))
        };
        let mut docs: HashMap<RecordId, AutoCommit> = HashMap::new();
        for (record, change) in self.changes.iter().filter(|(r, _)| !erased(r)) {
            let doc = match docs.entry(*record) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let loaded = store
                        .record_document(*record)
                        .ok()
                        .and_then(|bytes| AutoCommit::load(&bytes).ok());
                    match loaded {
                        Some(doc) => e.insert(doc),
                        None => {
                            outcome.lost.push(format!("record {record} is missing"));
                            continue;
                        }
                    }
                }
            };
            if doc.get_change_by_hash(change).is_none() {
                outcome
                    .lost
                    .push(format!("change {change} of {record} is missing"));
            }
        }
        for w in &self.writes {
            let Some(doc) = docs.get_mut(&w.record) else {
                continue;
            };
            let superseded = self.writes.iter().any(|later| {
                later.record == w.record
                    && later.path == w.path
                    && later.change != w.change
                    && !doc
                        .get_changes(&[later.change])
                        .iter()
                        .any(|c| c.hash() == w.change)
            });
            if superseded {
                continue;
            }
            let Some(value) = &w.value else {
                continue;
            };
            let values = field_values(doc, &w.path);
            if !values.contains(value) {
                outcome.lost.push(format!(
                    "{} {} = {} was lost (the field holds {values:?})\n{}",
                    w.record,
                    w.path,
                    value,
                    self.log.join("\n")
                ));
            }
        }
        outcome
    }

    /// No replica holds an erased record (erased on any of them), and no record left refers to an
    /// erased person.
    fn check_erased(&self) -> Result<(), String> {
        let stores: Vec<&Store> = self.devices[..self.honest]
            .iter()
            .map(|d| d.store())
            .collect();
        for (i, store) in stores.iter().enumerate() {
            let err = |e: CoreError| e.to_string();
            for (id, kind) in store.record_ids().map_err(err)? {
                for (j, other) in stores.iter().enumerate() {
                    if other.is_erased(id).map_err(err)? {
                        return Err(format!("device {i} holds {id}, erased on device {j}"));
                    }
                }
                let persons = match kind {
                    Kind::Encounter => store.encounter(id).map_err(err)?.persons,
                    Kind::Action => store.action(id).map_err(err)?.person.into_iter().collect(),
                    Kind::Consent => store.consent(id).map_err(err)?.person.into_iter().collect(),
                    Kind::Referral => store
                        .referral(id)
                        .map_err(err)?
                        .person
                        .into_iter()
                        .collect(),
                    _ => Vec::new(),
                };
                for p in persons {
                    if store.is_erased(p).map_err(err)? {
                        return Err(format!("device {i}'s {id} refers to the erased {p}"));
                    }
                }
            }
        }
        Ok(())
    }

    /// What the adversary pushed, as every honest device must hold it at quiescence: each
    /// forgery set aside as expected and nothing else set aside (so the same sequence numbers
    /// on every device), no forged change applied, every honest device's roster entry as its
    /// device wrote it.
    fn check_adversary(&self) -> Result<(), String> {
        let expected = |e: Expect| -> BTreeSet<u64> {
            self.forged
                .iter()
                .filter(|(_, x)| **x == e)
                .map(|(seq, _)| *seq)
                .collect()
        };
        let (quarantine, hold) = (expected(Expect::Quarantined), expected(Expect::Held));
        for (i, d) in self.devices[..self.honest].iter().enumerate() {
            let store = d.store();
            let set_aside = store.set_aside(&SPACE).map_err(|e| e.to_string())?;
            let seqs = |q: bool| -> BTreeSet<u64> {
                set_aside
                    .iter()
                    .filter(|s| s.quarantined == q)
                    .map(|s| s.seq)
                    .collect()
            };
            if seqs(true) != quarantine || seqs(false) != hold {
                return Err(format!(
                    "device {i} sets aside {set_aside:?}; expected quarantined {quarantine:?}, \
                     held {hold:?}"
                ));
            }
            let mut docs: HashMap<RecordId, Option<AutoCommit>> = HashMap::new();
            for (record, change) in &self.forged_changes {
                let doc = docs.entry(*record).or_insert_with(|| {
                    store
                        .record_document(*record)
                        .ok()
                        .and_then(|bytes| AutoCommit::load(&bytes).ok())
                });
                if doc
                    .as_mut()
                    .is_some_and(|doc| doc.get_change_by_hash(change).is_some())
                {
                    return Err(format!(
                        "device {i} applied the forged change {change} of {record}"
                    ));
                }
            }
            let devices = store.devices().map_err(|e| e.to_string())?;
            for (device, name, worker) in &self.entries {
                let entry = devices
                    .iter()
                    .find(|e| e.device == *device)
                    .map(|e| (&e.name, &e.worker));
                if entry != Some((name, worker)) {
                    return Err(format!(
                        "device {i} shows {device}'s roster entry as {entry:?}, not ({name:?}, \
                         {worker:?})"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Every value a field (or a set entry, `needs.health`) holds at the document's heads.
fn field_values(doc: &AutoCommit, path: &str) -> Vec<String> {
    let (obj, key) = match path.split_once('.') {
        Some((field, key)) => match doc.get(ROOT, field) {
            Ok(Some((automerge::Value::Object(_), id))) => (id, key),
            _ => return Vec::new(),
        },
        None => (ROOT, path),
    };
    doc.get_all(&obj, key)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(v, _)| match v {
            automerge::Value::Scalar(s) => Some(scalar_text(s.as_ref())),
            _ => None,
        })
        .collect()
}

/// A stored value as the sim records a written one: texts and codes as they are, numbers as
/// numbers, booleans as true / false, times to the minute (as a resolution typed from a
/// conflict's shown value is).
fn scalar_text(s: &ScalarValue) -> String {
    match s {
        ScalarValue::Str(s) => s.to_string(),
        ScalarValue::Int(i) => i.to_string(),
        ScalarValue::Uint(u) => u.to_string(),
        ScalarValue::F64(x) => x.to_string(),
        ScalarValue::Boolean(b) => b.to_string(),
        ScalarValue::Timestamp(ms) => chrono::DateTime::from_timestamp_millis(*ms)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
        other => other.to_string(),
    }
}

/// What two replicas must agree on.
struct View {
    heads: Vec<(RecordId, Vec<String>)>,
    index: Vec<String>,
    persons: String,
    conflicts: String,
    report: String,
    /// Every person's consent now.
    consents: String,
    /// Every person as the office sees them, with the records merged into them.
    merged: String,
}

impl View {
    fn differs(&self, other: &View) -> Option<&'static str> {
        if self.heads != other.heads {
            Some("documents (heads)")
        } else if self.index != other.index {
            Some("index rows")
        } else if self.persons != other.persons {
            Some("person list")
        } else if self.conflicts != other.conflicts {
            Some("conflict queue")
        } else if self.report != other.report {
            Some("report")
        } else if self.consents != other.consents {
            Some("consents")
        } else if self.merged != other.merged {
            Some("merged persons")
        } else {
            None
        }
    }
}

fn view(store: &Store) -> Result<View, CoreError> {
    let mut heads = Vec::new();
    for (id, _) in store.record_ids()? {
        heads.push((id, store.record_heads(id)?));
    }
    let mut persons = String::new();
    for sort in [PersonSort::RecentlySeen, PersonSort::Name] {
        persons.push_str(&format!(
            "{:?}",
            store.list_persons(&PersonQuery {
                sort,
                limit: 1_000,
                include_inactive: true,
                ..Default::default()
            })?
        ));
    }
    let conflicts: Vec<_> = store
        .conflicts()?
        .into_iter()
        .map(|mut c| {
            c.since = Default::default(); // when this device first saw it: its own
            c
        })
        .collect();
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("date");
    let mut consents = String::new();
    let mut merged = String::new();
    for (id, kind) in store.record_ids()? {
        if kind == Kind::Person {
            consents.push_str(&format!("{id}: {:?}\n", store.current_consents(id)?));
            merged.push_str(&format!("{id}: {:?}\n", store.merged_person(id)?));
        }
    }
    Ok(View {
        heads,
        index: store.index_rows()?,
        persons,
        conflicts: format!("{conflicts:?}"),
        report: format!("{:?}", store.report(day(1, 1), day(2, 28), None)?),
        consents,
        merged,
    })
}

/// What a run of many schedules found.
#[derive(Debug, Default)]
pub struct Summary {
    pub schedules: u64,
    pub divergent: u64,
    pub lost: u64,
    /// Schedules with an adversary, and the forged envelopes they pushed.
    pub adversarial: u64,
    pub forged: u64,
    /// Schedules with at least one erasure, and the erasure orders made.
    pub erasing: u64,
    pub erasures: u64,
    /// Schedules with a merge of persons, the merges and unmerges, and the merges of one person
    /// made apart (conflicts at quiescence).
    pub merging: u64,
    pub merges: u64,
    pub merge_conflicts: u64,
    /// The seeds that failed, with what was found (the first few).
    pub failures: Vec<(u64, String)>,
}

/// The seed of schedule `i` of a run started from `seed`.
pub fn schedule_seed(seed: u64, i: u64) -> u64 {
    seed.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Runs schedules `0..count` of `seed` on `threads` threads, until all are run or `deadline`
/// passes (at least `min` of them in any case), with stores in a RAM folder where there is one.
pub fn run_many(
    seed: u64,
    count: u64,
    min: u64,
    deadline: Option<std::time::Instant>,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Summary {
    let next = std::sync::atomic::AtomicU64::new(0);
    let summary = std::sync::Mutex::new(Summary::default());
    let root = if Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm")
    } else {
        tempfile::tempdir()
    }
    .expect("a folder for the simulated stores");
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let late = deadline.is_some_and(|d| std::time::Instant::now() > d);
                if i >= count || (i >= min && late) {
                    break;
                }
                let seed = schedule_seed(seed, i);
                let dir = root.path().join(format!("s{seed:016x}"));
                std::fs::create_dir_all(&dir).expect("schedule folder");
                let outcome = run(seed, &dir);
                let _ = std::fs::remove_dir_all(&dir);
                let mut summary = summary.lock().unwrap_or_else(|p| p.into_inner());
                summary.schedules += 1;
                if outcome.divergence.is_some() {
                    summary.divergent += 1;
                }
                if !outcome.lost.is_empty() {
                    summary.lost += 1;
                }
                if outcome.erasures > 0 {
                    summary.erasing += 1;
                    summary.erasures += outcome.erasures as u64;
                }
                if outcome.merges > 0 {
                    summary.merging += 1;
                    summary.merges += outcome.merges as u64;
                    summary.merge_conflicts += outcome.merge_conflicts as u64;
                }
                if let Some(forged) = outcome.forged {
                    summary.adversarial += 1;
                    summary.forged += forged as u64;
                }
                if !outcome.ok() && summary.failures.len() < 5 {
                    let what = outcome
                        .divergence
                        .unwrap_or_else(|| outcome.lost.join("\n"));
                    summary.failures.push((seed, what));
                }
                progress(summary.schedules);
            });
        }
    });
    summary.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// What the schedule of `seed` left on its first device: every record id with its heads, and
/// its index rows (two runs of one seed must give the same).
pub fn fingerprint(seed: u64, dir: &Path) -> Vec<String> {
    let mut sim = match Sim::new(seed, dir) {
        Ok(sim) => sim,
        Err(e) => return vec![e],
    };
    for _ in 0..30 {
        if let Err(e) = sim.step() {
            return vec![e];
        }
    }
    let store = sim.devices[0].store();
    let mut out: Vec<String> = store
        .record_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|(id, _)| format!("{id} {:?}", store.record_heads(id).unwrap_or_default()))
        .collect();
    out.extend(store.index_rows().unwrap_or_default());
    out
}
