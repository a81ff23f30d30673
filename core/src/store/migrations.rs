//! The SQL schema of the local store, as numbered migrations. `PRAGMA user_version` holds the
//! number of migrations applied; the pending migrations run in the transaction that bumps it. A
//! new store is made with the schema the migrations lead to, read from a database in memory that
//! ran them once per process, rather than by replaying their table rebuilds.

use std::sync::OnceLock;

use rusqlite::{Connection, TransactionBehavior};

use crate::{CoreError, Result};

/// Migrations in order; migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
-- Store-wide settings: this device's id and names.
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;

-- Every Automerge change, local or received: the source of truth. `seq` is the local arrival
-- order (snapshots and the outbox refer to it); idempotent on (record_id, hash).
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY,
    record_id BLOB NOT NULL,
    hash BLOB NOT NULL,
    bytes BLOB NOT NULL,
    local INTEGER NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX changes_by_record ON changes(record_id, hash);

-- One row a record whose kind is known.
CREATE TABLE records (
    record_id BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- A compacted save of a record, covering its changes up to `upto_seq`; refreshed lazily.
CREATE TABLE snapshots (
    record_id BLOB PRIMARY KEY,
    upto_seq INTEGER NOT NULL,
    bytes BLOB NOT NULL
);

-- Sync cursors. The outbox is the local changes (`changes.local = 1`) past `push_cursor`, so
-- that a write adds no outbox row of its own.
CREATE TABLE sync_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;

-- The devices of the roster: actor id -> device name and worker.
CREATE TABLE devices (
    device BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    worker TEXT NOT NULL
) WITHOUT ROWID;

-- Index tables: what lists, search, due lists, timelines and reports read without loading
-- Automerge documents. They are derived from the documents and rebuilt from them.
CREATE TABLE persons (
    record_id BLOB PRIMARY KEY,
    name TEXT,
    nickname TEXT,
    other_names TEXT NOT NULL,
    search TEXT NOT NULL,
    situation TEXT,
    alert_level TEXT,
    status TEXT,
    birth_year INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Keyed by time, so that reports read a period and the recent-persons list walks back from now
-- with no secondary index: logging an encounter writes this row, its links, and nothing about
-- the persons themselves (their "last seen" is read from here).
CREATE TABLE encounters (
    occurred_at INTEGER NOT NULL,
    record_id BLOB NOT NULL,
    recorded_at INTEGER,
    device BLOB NOT NULL,
    team TEXT,
    place TEXT,
    territory TEXT,
    encounter_kind TEXT,
    anonymous_count INTEGER NOT NULL,
    services TEXT NOT NULL,
    workers TEXT NOT NULL,
    persons TEXT NOT NULL,
    notes TEXT,
    follow_up INTEGER NOT NULL,
    PRIMARY KEY (occurred_at, record_id)
) WITHOUT ROWID;

CREATE TABLE encounter_persons (
    person_id BLOB NOT NULL,
    occurred_at INTEGER NOT NULL,
    encounter_id BLOB NOT NULL,
    PRIMARY KEY (person_id, occurred_at, encounter_id)
) WITHOUT ROWID;

CREATE TABLE actions (
    record_id BLOB PRIMARY KEY,
    person_id BLOB,
    title TEXT,
    category TEXT,
    due_at TEXT,
    status TEXT,
    assigned_to TEXT,
    done_at INTEGER,
    created_at INTEGER NOT NULL,
    device BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX actions_by_person ON actions(person_id);
CREATE INDEX actions_by_due ON actions(status, due_at);

CREATE TABLE referrals (
    record_id BLOB PRIMARY KEY,
    person_id BLOB,
    target TEXT,
    target_name TEXT,
    date TEXT,
    status TEXT,
    outcome TEXT,
    created_at INTEGER NOT NULL,
    device BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX referrals_by_person ON referrals(person_id);

CREATE TABLE observations (
    record_id BLOB PRIMARY KEY,
    territory TEXT,
    team TEXT,
    date TEXT,
    total INTEGER NOT NULL,
    notes TEXT
) WITHOUT ROWID;

-- Fields holding concurrent values, until someone resolves them.
CREATE TABLE conflicts (
    record_id BLOB NOT NULL,
    field TEXT NOT NULL,
    since INTEGER NOT NULL,
    PRIMARY KEY (record_id, field)
) WITHOUT ROWID;

-- The organisation's extra codes for the code lists.
CREATE TABLE vocab_extra (
    vocab TEXT NOT NULL,
    code TEXT NOT NULL,
    fr TEXT NOT NULL,
    en TEXT NOT NULL,
    PRIMARY KEY (vocab, code)
) WITHOUT ROWID;
"#,
    r#"
-- The space this store syncs with (one for now) and its credentials.
CREATE TABLE space (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    space BLOB NOT NULL,
    name TEXT NOT NULL,
    relay TEXT NOT NULL,
    token TEXT NOT NULL,
    key BLOB NOT NULL,
    epoch INTEGER NOT NULL,
    coordinator INTEGER NOT NULL,
    joined_at INTEGER NOT NULL
);

-- Record keys, by the blinded id the relay sees.
CREATE TABLE record_keys (
    blind BLOB PRIMARY KEY,
    record_id BLOB NOT NULL,
    key BLOB NOT NULL
) WITHOUT ROWID;
"#,
    r#"
-- What the supervisor's report and exports read without loading documents.
ALTER TABLE persons ADD COLUMN teams TEXT NOT NULL DEFAULT '';
ALTER TABLE persons ADD COLUMN needs TEXT NOT NULL DEFAULT '';
-- Each change of a person's situation (street -> shelter...), when it was written.
CREATE TABLE situation_changes (
    at INTEGER NOT NULL,
    person_id BLOB NOT NULL,
    from_situation TEXT NOT NULL,
    to_situation TEXT NOT NULL,
    PRIMARY KEY (at, person_id, to_situation)
) WITHOUT ROWID;
-- The relay's time for changes received through it, and how far the writing device's clock
-- was from the relay's when it sent the change (relay time minus device time at sending).
ALTER TABLE changes ADD COLUMN relay_at INTEGER;
ALTER TABLE changes ADD COLUMN clock_offset INTEGER;
"#,
    r#"
-- A record's kind moves onto its changes (set on each of them once known; none on a change
-- that waits for the one saying what its record is). Creating a record then writes one b-tree
-- fewer: each page a write dirties is encrypted and authenticated at commit. The table is
-- rebuilt so that the small columns come before the change bytes: reading a change's kind or
-- relay time never follows the overflow pages of a large change.
CREATE TABLE changes4 (
    seq INTEGER PRIMARY KEY,
    record_id BLOB NOT NULL,
    hash BLOB NOT NULL,
    kind TEXT,
    local INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    relay_at INTEGER,
    clock_offset INTEGER,
    bytes BLOB NOT NULL
);
INSERT INTO changes4 (seq, record_id, hash, kind, local, received_at, relay_at, clock_offset, bytes)
    SELECT c.seq, c.record_id, c.hash, r.kind, c.local, c.received_at, c.relay_at,
        c.clock_offset, c.bytes
    FROM changes c LEFT JOIN records r ON r.record_id = c.record_id;
DROP TABLE changes;
ALTER TABLE changes4 RENAME TO changes;
CREATE UNIQUE INDEX changes_by_record ON changes(record_id, hash);
DROP TABLE records;
-- Situation changes become one row per change that moved a situation; two concurrent moves in
-- the same millisecond to the same place from different ones are two rows. The rows are
-- rebuilt from the documents after this migration.
DROP TABLE situation_changes;
CREATE TABLE situation_changes (
    at INTEGER NOT NULL,
    person_id BLOB NOT NULL,
    from_situation TEXT NOT NULL,
    to_situation TEXT NOT NULL,
    PRIMARY KEY (at, person_id, from_situation, to_situation)
) WITHOUT ROWID;
"#,
    r#"
-- A store may belong to several spaces (a team and its partnerships), each with its own relay,
-- key and cursors: the space row and the two cursors move into one table keyed by space.
CREATE TABLE spaces (
    space BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    relay TEXT NOT NULL,
    token TEXT NOT NULL,
    key BLOB NOT NULL,
    epoch INTEGER NOT NULL,
    coordinator INTEGER NOT NULL,
    joined_at INTEGER NOT NULL,
    push_cursor INTEGER NOT NULL DEFAULT 0,
    pull_cursor INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO spaces (space, name, relay, token, key, epoch, coordinator, joined_at, push_cursor,
        pull_cursor)
    SELECT space, name, relay, token, key, epoch, coordinator, joined_at,
        coalesce((SELECT value FROM sync_state WHERE key = 'push_cursor'), 0),
        coalesce((SELECT value FROM sync_state WHERE key = 'pull_cursor'), 0)
    FROM space;
DROP TABLE space;
DELETE FROM sync_state WHERE key IN ('push_cursor', 'pull_cursor');
-- A change is sealed once for a space, when it first leaves the device for it, and its envelope
-- is kept until that space's relay acknowledges it: a retried push sends the very same bytes.
CREATE TABLE sealed (
    space BLOB NOT NULL,
    seq INTEGER NOT NULL,
    envelope BLOB NOT NULL,
    PRIMARY KEY (space, seq)
) WITHOUT ROWID;
"#,
    r#"
-- Signed authorship. A change's signature is made when it first leaves its device and kept
-- with it (NULL on a local change not sent yet); the public keys of the devices whose
-- signatures this store has checked, learnt from their roster changes.
ALTER TABLE changes ADD COLUMN signature BLOB;
CREATE TABLE device_keys (
    device BLOB PRIMARY KEY,
    sign BLOB NOT NULL,
    agree BLOB NOT NULL
) WITHOUT ROWID;
-- Envelopes set aside so that none stops a space: held ones wait for a key this store does not
-- have yet (an epoch's, an author's) and are tried again when one arrives (`generation` is the
-- count of keys known when it was held); quarantined ones failed a check that gives the same
-- answer on every device, and are tried again only by a build with newer checks (and once
-- more as the relay serves them again, until it served the same bytes twice: `confirmed`).
CREATE TABLE held (
    space BLOB NOT NULL,
    seq INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    clock_offset INTEGER NOT NULL,
    envelope BLOB NOT NULL,
    reason TEXT NOT NULL,
    generation INTEGER NOT NULL,
    PRIMARY KEY (space, seq)
) WITHOUT ROWID;
CREATE TABLE quarantine (
    space BLOB NOT NULL,
    seq INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    clock_offset INTEGER NOT NULL,
    envelope BLOB NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL,
    checks INTEGER NOT NULL,
    confirmed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (space, seq)
) WITHOUT ROWID;
"#,
    r#"
-- Keys by epoch. A space's key is no longer in its row (a device that joined holds none until
-- a coordinator delivers it); every epoch's key it received is kept, to open what was sealed
-- under it. `root` is the coordinator this device trusts for key deliveries and wipe orders
-- (its own id for the space's creator), `founder` the public keys of the space's creator (the
-- anchor of coordinators' grants); `control_cursor` is where its control log was read to.
CREATE TABLE space_keys (
    space BLOB NOT NULL,
    epoch INTEGER NOT NULL,
    key BLOB NOT NULL,
    PRIMARY KEY (space, epoch)
) WITHOUT ROWID;
INSERT INTO space_keys (space, epoch, key) SELECT space, epoch, key FROM spaces;
CREATE TABLE spaces7 (
    space BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    relay TEXT NOT NULL,
    token TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    coordinator INTEGER NOT NULL,
    root BLOB,
    founder BLOB,
    joined_at INTEGER NOT NULL,
    push_cursor INTEGER NOT NULL DEFAULT 0,
    pull_cursor INTEGER NOT NULL DEFAULT 0,
    control_cursor INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO spaces7 (space, name, relay, token, epoch, coordinator, joined_at, push_cursor,
        pull_cursor)
    SELECT space, name, relay, token, epoch, coordinator, joined_at, push_cursor, pull_cursor
    FROM spaces;
DROP TABLE spaces;
ALTER TABLE spaces7 RENAME TO spaces;
-- The invites a coordinator's device issued, with their secrets: the key of an enrolment's MAC
-- is derived from them.
CREATE TABLE invites (
    hash BLOB PRIMARY KEY,
    space BLOB NOT NULL,
    secret BLOB NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
-- Devices that redeemed an invite, as the control log said, and what became of them here
-- ('approved': keys delivered; 'pending': waiting for `approve`; 'refused': the MAC did not
-- match, someone swapped the keys).
CREATE TABLE enrolments (
    space BLOB NOT NULL,
    device BLOB NOT NULL,
    sign BLOB NOT NULL,
    agree BLOB NOT NULL,
    status TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (space, device)
) WITHOUT ROWID;
-- Control items to post at the next sync (key deliveries), until the relay acknowledges them.
CREATE TABLE control_out (
    space BLOB NOT NULL,
    n INTEGER NOT NULL,
    item BLOB NOT NULL,
    PRIMARY KEY (space, n)
) WITHOUT ROWID;
"#,
    r#"
-- Membership by grants: the chain of grants a coordinator delivered with this device's first
-- key (postcard), which its roster changes carry until the roster's own grants prove it.
ALTER TABLE spaces ADD COLUMN credentials BLOB;
-- The secret of the recovery code a device recovered the space with, kept only until it has
-- read the key deliveries sealed to the recovery identity.
ALTER TABLE spaces ADD COLUMN recovery BLOB;
"#,
    r#"
-- Consent decisions (one record each), for a person's current consent per partner and category:
-- the latest decision, by its date, then by its record id (time-ordered).
CREATE TABLE consents (
    record_id BLOB PRIMARY KEY,
    person_id BLOB,
    partner TEXT,
    category TEXT,
    given INTEGER,
    decided_on TEXT,
    how TEXT,
    created_at INTEGER NOT NULL,
    device BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX consents_by_person ON consents(person_id);
"#,
    r#"
-- The access log (index tables, derived from each device's log record of the day): which
-- device's log a record is, and for which day (how a device finds today's record to append to).
CREATE TABLE access_logs (
    record_id BLOB PRIMARY KEY,
    device BLOB NOT NULL,
    day TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX access_logs_by_device_day ON access_logs(device, day);
-- One row per entry: when, which device and worker, through what, what was read (a person's
-- file, timeline or dossier) or exported (kind, period, pseudonymised or not).
CREATE TABLE access_log (
    record_id BLOB NOT NULL,
    n INTEGER NOT NULL,
    at INTEGER NOT NULL,
    device BLOB NOT NULL,
    worker TEXT NOT NULL,
    via TEXT NOT NULL,
    what TEXT NOT NULL,
    person_id BLOB,
    export_kind TEXT,
    period_from TEXT,
    period_to TEXT,
    pseudonymised INTEGER,
    PRIMARY KEY (record_id, n)
) WITHOUT ROWID;
CREATE INDEX access_log_by_at ON access_log(at);
CREATE INDEX access_log_by_person ON access_log(person_id, at);
"#,
    r#"
-- The retention review: when a coordinator last decided to keep a person's file (the person's
-- `retention_kept_at`), and the organisation's settings read from the roster's `setting:`
-- entries (`retention_months`), both derived from the documents like every index table.
ALTER TABLE persons ADD COLUMN kept_at INTEGER;
CREATE TABLE settings (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
"#,
    r#"
-- Erasure (GDPR article 17). A tombstone per erased record: a change for it received later (a
-- relay's page, a bundle, a device that had not seen the order) is dropped, or set aside for
-- review when the record was shared with other persons (`shared`), never applied again.
-- `person` is the erased person's id: a record received later that refers to them is set aside.
CREATE TABLE erased (
    record_id BLOB PRIMARY KEY,
    person BLOB NOT NULL,
    shared INTEGER NOT NULL,
    at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX erased_by_person ON erased(person);
-- The erasure orders read from a space's control log and what became of each here: 'done',
-- 'refused' (with the reason) or 'waiting' (sealed under a key epoch this device has not
-- received yet: tried again when a key arrives). The order stays sealed as it came.
CREATE TABLE erasure_orders (
    space BLOB NOT NULL,
    seq INTEGER NOT NULL,
    body BLOB NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (space, seq)
) WITHOUT ROWID;
"#,
    // 13: health and statistics. A health space's notes and health details (read by health
    // professionals' devices only) and what the team sees of them: a contact on a day, without
    // content; the reports a statistics space receives.
    r#"
CREATE TABLE health_notes (
    record_id BLOB PRIMARY KEY,
    person_id BLOB,
    on_day TEXT,
    category TEXT,
    created_at INTEGER,
    device BLOB
) WITHOUT ROWID;
CREATE INDEX health_notes_by_person ON health_notes(person_id);
CREATE TABLE health_contacts (
    record_id BLOB PRIMARY KEY,
    person_id BLOB,
    on_day TEXT,
    created_at INTEGER,
    device BLOB
) WITHOUT ROWID;
CREATE INDEX health_contacts_by_person ON health_contacts(person_id);
CREATE TABLE health_profiles (
    record_id BLOB PRIMARY KEY,
    person_id BLOB,
    created_at INTEGER
) WITHOUT ROWID;
CREATE INDEX health_profiles_by_person ON health_profiles(person_id);
CREATE TABLE published_reports (
    record_id BLOB PRIMARY KEY,
    period_from TEXT,
    period_to TEXT,
    team TEXT,
    created_at INTEGER
) WITHOUT ROWID;
"#,
    // 14: partnerships. A partnership space's projections of persons, the shared assessments
    // (`person_id` is the projection they are about: erasing a projection erases them) and the
    // partner devices' acknowledgements of erasure orders; on the association's office, the
    // person each projection shows and what was last published of them (kept in that
    // partnership's store, never synced); and the partner and categories of a publication in
    // the access log.
    r#"
CREATE TABLE projections (
    record_id BLOB PRIMARY KEY,
    created_at INTEGER,
    device BLOB
) WITHOUT ROWID;
CREATE TABLE shared_assessments (
    record_id BLOB PRIMARY KEY,
    person_id BLOB,
    created_at INTEGER,
    device BLOB
) WITHOUT ROWID;
CREATE INDEX shared_assessments_by_projection ON shared_assessments(person_id);
CREATE TABLE erasure_acks (
    record_id BLOB PRIMARY KEY,
    order_seq INTEGER,
    device TEXT,
    at INTEGER,
    created_at INTEGER
) WITHOUT ROWID;
CREATE TABLE published (
    person_id BLOB PRIMARY KEY,
    projection BLOB NOT NULL,
    assessment BLOB,
    categories TEXT NOT NULL,
    fields TEXT NOT NULL,
    at INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE access_log ADD COLUMN partner TEXT;
ALTER TABLE access_log ADD COLUMN categories TEXT;
"#,
    r#"
-- An erasure acknowledgement's device is its record's author, no longer the text it holds:
-- the rows are written again from the documents.
DELETE FROM erasure_acks;
"#,
    // 16: duplicate persons merged. `merged_into` is the person's register as the document holds
    // it; `merged_root` the identity it resolves to when that is another person (`merge.rs`),
    // NULL for a person who stands for themselves: the lists keep those only.
    r#"
ALTER TABLE persons ADD COLUMN merged_into BLOB;
ALTER TABLE persons ADD COLUMN merged_root BLOB;
CREATE INDEX persons_merged_into ON persons(merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX persons_merged_root ON persons(merged_root) WHERE merged_root IS NOT NULL;
"#,
    // 17: the housing journey. Households and their members (a person's membership, with its
    // dates), the periods of a person's or a household's journey, and housing applications.
    // The periods before this version are read from `situation_changes`, the same on every
    // replica (`journey.rs`): nothing is written for them; a person's journey reads their rows
    // by person.
    r#"
CREATE TABLE households (
    record_id BLOB PRIMARY KEY,
    label TEXT,
    unrecorded_members INTEGER,
    unrecorded_children INTEGER,
    created_at INTEGER,
    device BLOB
) WITHOUT ROWID;
CREATE TABLE household_members (
    record_id BLOB PRIMARY KEY,
    household_id BLOB,
    person_id BLOB,
    relation TEXT,
    joined_on TEXT,
    left_on TEXT,
    created_at INTEGER,
    device BLOB
) WITHOUT ROWID;
CREATE INDEX household_members_by_person ON household_members(person_id);
CREATE INDEX household_members_by_household ON household_members(household_id);
CREATE TABLE journey_periods (
    record_id BLOB PRIMARY KEY,
    person_id BLOB,
    household_id BLOB,
    situation TEXT,
    started_on TEXT,
    ended_on TEXT,
    place TEXT,
    end_reason TEXT,
    created_at INTEGER,
    device BLOB
) WITHOUT ROWID;
CREATE INDEX journey_periods_by_person ON journey_periods(person_id) WHERE person_id IS NOT NULL;
CREATE INDEX journey_periods_by_household ON journey_periods(household_id)
    WHERE household_id IS NOT NULL;
CREATE INDEX journey_periods_by_start ON journey_periods(started_on);
CREATE TABLE housing_applications (
    record_id BLOB PRIMARY KEY,
    person_id BLOB,
    household_id BLOB,
    application_kind TEXT,
    number TEXT,
    filed_on TEXT,
    renew_by TEXT,
    status TEXT,
    created_at INTEGER,
    device BLOB
) WITHOUT ROWID;
CREATE INDEX housing_applications_by_person ON housing_applications(person_id)
    WHERE person_id IS NOT NULL;
CREATE INDEX housing_applications_by_household ON housing_applications(household_id)
    WHERE household_id IS NOT NULL;
CREATE INDEX situation_changes_by_person ON situation_changes(person_id, at);
"#,
    // 18: support at home and housing offers. Homes, the risks raised about them, offers of
    // homes and their proposals to persons or households; the areas a housing application
    // wishes for.
    r#"
CREATE TABLE homes (
    record_id BLOB PRIMARY KEY,
    person_id BLOB,
    household_id BLOB,
    landlord TEXT,
    entered_on TEXT,
    left_on TEXT,
    lease_kind TEXT,
    created_at INTEGER,
    device BLOB
) WITHOUT ROWID;
CREATE INDEX homes_by_person ON homes(person_id) WHERE person_id IS NOT NULL;
CREATE INDEX homes_by_household ON homes(household_id) WHERE household_id IS NOT NULL;
CREATE TABLE risk_signals (
    record_id BLOB PRIMARY KEY,
    home_id BLOB,
    person_id BLOB,
    household_id BLOB,
    risk TEXT,
    raised_on TEXT,
    status TEXT,
    resolved_on TEXT,
    created_at INTEGER,
    device BLOB
) WITHOUT ROWID;
CREATE INDEX risk_signals_by_home ON risk_signals(home_id);
CREATE INDEX risk_signals_by_person ON risk_signals(person_id) WHERE person_id IS NOT NULL;
CREATE TABLE housing_offers (
    record_id BLOB PRIMARY KEY,
    home_kind TEXT,
    rooms INTEGER,
    rent INTEGER,
    area TEXT,
    accessible INTEGER,
    available_from TEXT,
    status TEXT,
    created_at INTEGER,
    device BLOB
) WITHOUT ROWID;
CREATE TABLE proposals (
    record_id BLOB PRIMARY KEY,
    offer_id BLOB,
    person_id BLOB,
    household_id BLOB,
    proposed_on TEXT,
    outcome TEXT,
    created_at INTEGER,
    device BLOB
) WITHOUT ROWID;
CREATE INDEX proposals_by_offer ON proposals(offer_id);
CREATE INDEX proposals_by_person ON proposals(person_id) WHERE person_id IS NOT NULL;
ALTER TABLE housing_applications ADD COLUMN areas TEXT;
"#,
    // 19: the organisation's own fields: their definitions, derived from the roster's
    // `field:<kind>:<name>` entries (`custom_fields.rs`), and each person's and encounter's
    // values (their `custom` map as JSON text), which the report and exports read.
    r#"
CREATE TABLE custom_fields (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (kind, name)
) WITHOUT ROWID;
ALTER TABLE persons ADD COLUMN custom TEXT;
ALTER TABLE encounters ADD COLUMN custom TEXT;
ALTER TABLE households ADD COLUMN custom TEXT;
ALTER TABLE homes ADD COLUMN custom TEXT;
"#,
    // 20: the person's own view of the support, after a step, with the organisation's own
    // questions answered (`custom`, as JSON).
    r#"
CREATE TABLE own_views (
    record_id BLOB PRIMARY KEY,
    person_id BLOB,
    step TEXT,
    on_day TEXT,
    satisfaction INTEGER,
    custom TEXT,
    created_at INTEGER,
    device BLOB
) WITHOUT ROWID;
CREATE INDEX own_views_by_person ON own_views(person_id);
CREATE INDEX own_views_by_day ON own_views(on_day);
-- A search reads every person's folded names: from this index, a few entries to a page,
-- rather than from the rows, which edits leave spread over half-full pages.
CREATE INDEX persons_search ON persons(search, status);
"#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Versions whose migration adds or redefines index columns or tables (3: persons' teams and
/// needs, situation changes; 4: situation changes, one row per change; 9: consents; 10: the
/// access log; 11: persons' `kept_at` and the settings; 13: health notes and contacts; 14:
/// partnerships and the access log's publications; a device of an earlier version kept records
/// of the kinds of 9, 10, 13 and 14 without a kind; 15: erasure acknowledgements by their
/// author; 16: merged persons, which a device of an earlier version may have received; 17: the
/// housing journey's records, which it kept without a kind; 18: homes, risks, offers and
/// proposals, the same; 19: the organisation's fields, from the roster, and the persons' and
/// encounters' values; 20: the persons' own views): migrating past one rebuilds the index
/// tables from the documents, kinds first.
const REINDEX_AT: &[i64] = &[3, 4, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20];

/// Brings the schema up to date; refuses a store written by a newer build. Every pending
/// migration and, when one of them needs it, the rebuild of the index tables (`reindex`) run in
/// one transaction: a store is never left migrated but not indexed.
pub fn migrate(
    conn: &mut Connection,
    reindex: impl FnOnce(&Connection) -> Result<()>,
) -> Result<()> {
    let version = |c: &Connection| -> Result<i64> {
        Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    };
    let found = version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(CoreError::NewerSchema {
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    // Another process may be migrating the same store: take the write lock first, then read the
    // version again under it.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = version(&tx)?;
    if found >= SCHEMA_VERSION {
        return Ok(());
    }
    if found == 0 {
        for sql in final_schema()? {
            tx.execute_batch(sql)?;
        }
    } else {
        for sql in &MIGRATIONS[found as usize..] {
            tx.execute_batch(sql)?;
        }
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    // A new store (version 0) has no records to index.
    if found > 0 && REINDEX_AT.iter().any(|v| *v > found) {
        reindex(&tx)?;
    }
    tx.commit()?;
    Ok(())
}

/// The statements that make, on an empty database, the schema every migration leads to: the
/// definitions `sqlite_master` holds (tables, then their indexes, in the order they were made)
/// after running `MIGRATIONS` on a database in memory, once per process. A new store made with
/// them has the same tables, columns and indexes as one migrated from the first version (a test
/// compares the two), without the migrations' rebuilds of tables, which cost most of making it.
fn final_schema() -> Result<&'static [String]> {
    static SCHEMA: OnceLock<std::result::Result<Vec<String>, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let run = || -> rusqlite::Result<Vec<String>> {
                let conn = Connection::open_in_memory()?;
                for sql in MIGRATIONS {
                    conn.execute_batch(sql)?;
                }
                let mut stmt = conn.prepare(
                    "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid",
                )?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                rows.collect()
            };
            run().map_err(|e| e.to_string())
        })
        .as_deref()
        .map_err(|e| CoreError::Storage(format!("the store's schema: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every object of a database's schema: type, name, table and definition, by name.
    fn schema(conn: &Connection) -> Vec<(String, String, String, Option<String>)> {
        let mut stmt = conn
            .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn a_new_store_has_the_schema_the_migrations_lead_to() {
        let mut migrated = Connection::open_in_memory().unwrap();
        {
            let tx = migrated.transaction().unwrap();
            for sql in MIGRATIONS {
                tx.execute_batch(sql).unwrap();
            }
            tx.commit().unwrap();
        }
        let mut new = Connection::open_in_memory().unwrap();
        migrate(&mut new, |_| panic!("a new store has nothing to index")).unwrap();
        let (a, b) = (schema(&migrated), schema(&new));
        assert!(a.len() > 40, "{} objects", a.len());
        assert_eq!(a, b);
        let version: i64 = new
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[test]
    fn a_store_of_an_earlier_version_is_migrated_the_long_way() {
        let mut old = Connection::open_in_memory().unwrap();
        old.execute_batch(MIGRATIONS[0]).unwrap();
        old.pragma_update(None, "user_version", 1).unwrap();
        let reindexed = std::cell::Cell::new(false);
        migrate(&mut old, |_| {
            reindexed.set(true);
            Ok(())
        })
        .unwrap();
        assert!(reindexed.get());
        let mut new = Connection::open_in_memory().unwrap();
        migrate(&mut new, |_| Ok(())).unwrap();
        assert_eq!(schema(&old), schema(&new));
    }
}
