//! Duplicate persons merged at the office. Merging OTHER into KEEP is a change like any other:
//! OTHER's `merged_into` register names KEEP (two concurrent merges of one person are a
//! conflict to settle), and unmerging clears it. Nothing else is rewritten: OTHER's history
//! stays readable, and its records keep pointing to it.
//!
//! The identity a person resolves to (`persons.merged_root`, NULL for a person who stands for
//! themselves) is a function of the registers alone, computed the same way on every replica
//! (`resolve`): follow `merged_into` to a person who is merged into no one; a register naming a
//! person this store does not hold (not received yet, or erased) is ignored; a cycle (two offline
//! merges in opposite directions) resolves to its smallest id. The lists keep the persons who
//! stand for themselves and count each group once; a group's view (`merged_person`) combines
//! its members.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::{ReadDoc, ROOT};
use rusqlite::{params, Connection, OptionalExtension};

use super::changes::load_doc;
use super::changes::record_kind;
use super::Store;
use crate::doc::{Edit, Reader};
use crate::model::fields::{Kind, Value};
use crate::model::{Person, PersonSummary};
use crate::{CoreError, RecordId, Result};

/// The field that merges a person into another.
pub(crate) const MERGED_INTO: &str = "merged_into";

/// Whether a person's register names `id` (its identity may change with `id`'s row).
pub(crate) fn is_merge_target(conn: &Connection, id: RecordId) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM persons WHERE merged_into = ?1 LIMIT 1")?
        .query_row([id.as_bytes()], |_| Ok(()))
        .optional()?
        .is_some())
}

pub(super) fn id_of(bytes: &[u8]) -> Result<RecordId> {
    RecordId::from_slice(bytes).ok_or_else(|| CoreError::corrupt("bad record id"))
}

/// The identity each person with a register resolves to, from `(person, merged_into)` pairs
/// whose target this store holds: a function of the pairs alone. Each person is walked once
/// (a walk stops at a person resolved already): linear in the pairs, however long a chain.
fn roots(edges: &BTreeMap<RecordId, RecordId>) -> BTreeMap<RecordId, RecordId> {
    let mut out: BTreeMap<RecordId, RecordId> = BTreeMap::new();
    for &start in edges.keys() {
        if out.contains_key(&start) {
            continue;
        }
        let mut path: Vec<RecordId> = Vec::new();
        let mut on_path: HashMap<RecordId, usize> = HashMap::new();
        let mut at = start;
        let root = loop {
            if let Some(&root) = out.get(&at) {
                break root;
            }
            if let Some(&i) = on_path.get(&at) {
                // A cycle: its smallest id stands for it.
                break *path[i..].iter().min().unwrap_or(&at);
            }
            match edges.get(&at) {
                None => break at,
                Some(&next) => {
                    on_path.insert(at, path.len());
                    path.push(at);
                    at = next;
                }
            }
        };
        for p in path {
            out.insert(p, root);
        }
    }
    out
}

/// Computes every person's `merged_root` again from the registers (a few rows: the merged
/// persons only).
pub(crate) fn resolve(tx: &Connection) -> Result<()> {
    let mut edges = BTreeMap::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT p.record_id, p.merged_into FROM persons p
             JOIN persons t ON t.record_id = p.merged_into
             WHERE p.merged_into IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        for row in rows {
            let (from, to) = row?;
            let (from, to) = (id_of(&from)?, id_of(&to)?);
            if from != to {
                edges.insert(from, to);
            }
        }
    }
    let roots = roots(&edges);
    let stale: Vec<Vec<u8>> = {
        let mut stmt =
            tx.prepare_cached("SELECT record_id FROM persons WHERE merged_root IS NOT NULL")?;
        let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    let mut clear =
        tx.prepare_cached("UPDATE persons SET merged_root = NULL WHERE record_id = ?1")?;
    for id in stale {
        let id = id_of(&id)?;
        if roots.get(&id).is_none_or(|r| *r == id) {
            clear.execute([id.as_bytes()])?;
        }
    }
    let mut set = tx.prepare_cached(
        "UPDATE persons SET merged_root = ?2 WHERE record_id = ?1 AND merged_root IS NOT ?2",
    )?;
    for (id, root) in roots.iter().filter(|(id, root)| id != root) {
        set.execute(params![id.as_bytes(), root.as_bytes()])?;
    }
    Ok(())
}

/// The merged persons of this store: who resolves to whom, and each group's members.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    root_of: HashMap<RecordId, RecordId>,
    members: BTreeMap<RecordId, BTreeSet<RecordId>>,
}

impl Groups {
    pub(crate) fn load(conn: &Connection) -> Result<Groups> {
        let mut groups = Groups::default();
        let mut stmt = conn.prepare_cached(
            "SELECT record_id, merged_root FROM persons WHERE merged_root IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        for row in rows {
            let (id, root) = row?;
            let (id, root) = (id_of(&id)?, id_of(&root)?);
            groups.root_of.insert(id, root);
            groups.members.entry(root).or_default().insert(id);
        }
        Ok(groups)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.root_of.is_empty()
    }

    /// The person `id` stands as in the lists.
    pub(crate) fn root(&self, id: RecordId) -> RecordId {
        self.root_of.get(&id).copied().unwrap_or(id)
    }

    /// Whether `id` is merged into another person.
    pub(crate) fn is_merged(&self, id: RecordId) -> bool {
        self.root_of.contains_key(&id)
    }

    /// The persons merged into `root` (empty for most).
    pub(crate) fn members(&self, root: RecordId) -> impl Iterator<Item = RecordId> + '_ {
        self.members.get(&root).into_iter().flatten().copied()
    }

    /// `root` and the persons merged into it, `root` first.
    pub(crate) fn group(&self, id: RecordId) -> Vec<RecordId> {
        let root = self.root(id);
        std::iter::once(root).chain(self.members(root)).collect()
    }

    /// Whether others are merged into `id`.
    pub(crate) fn heads_group(&self, id: RecordId) -> bool {
        self.members.contains_key(&id)
    }

    /// Completes summaries of persons standing for a group with what their members add: the
    /// latest meeting of any of them, the highest alert level, a situation when the root has
    /// none.
    pub(crate) fn complete(&self, conn: &Connection, rows: &mut [PersonSummary]) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let mut stmt = conn.prepare_cached(
            "SELECT p.situation, p.alert_level,
                (SELECT max(occurred_at) FROM encounter_persons e WHERE e.person_id = p.record_id)
             FROM persons p WHERE p.record_id = ?1",
        )?;
        for row in rows.iter_mut().filter(|r| self.heads_group(r.id)) {
            for member in self.members(row.id) {
                let found = stmt
                    .query_row([member.as_bytes()], |r| {
                        Ok((
                            r.get::<_, Option<String>>(0)?,
                            r.get::<_, Option<String>>(1)?,
                            r.get::<_, Option<i64>>(2)?,
                        ))
                    })
                    .optional()?;
                let Some((situation, alert, seen)) = found else {
                    continue;
                };
                if row.situation.is_none() {
                    row.situation = situation;
                }
                row.alert_level = higher_alert(row.alert_level.take(), alert);
                if let Some(seen) = seen.and_then(chrono::DateTime::from_timestamp_millis) {
                    if row.last_seen_at.is_none_or(|s| s < seen) {
                        row.last_seen_at = Some(seen);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The rank of an alert level: `none` (or nothing) lowest, then the list's order; a code of
/// the organisation's own ranks above `watch`.
fn alert_rank(level: Option<&str>) -> usize {
    match level {
        None | Some("") | Some("none") => 0,
        Some("watch") => 1,
        Some("very_vulnerable") => 3,
        Some(_) => 2,
    }
}

fn higher_alert(a: Option<String>, b: Option<String>) -> Option<String> {
    if alert_rank(b.as_deref()) > alert_rank(a.as_deref()) {
        b
    } else {
        a
    }
}

/// The more restrictive of two consents: a refusal wins, then a consent given.
fn restrictive(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), _) | (_, Some(true)) => Some(true),
        _ => None,
    }
}

/// The fields of a merged person's document changed by changes its merge did not know of
/// (made offline after the merge, or concurrently): they land on the merged person.
fn changed_after_merge(doc: &mut automerge::AutoCommit) -> Result<BTreeSet<String>> {
    let Some((_, automerge::ObjId::Id(counter, actor, _))) = doc.get(ROOT, MERGED_INTO)? else {
        return Ok(BTreeSet::new());
    };
    let Some(merge) = doc
        .get_changes_meta(&[])
        .into_iter()
        .find(|c| *c.actor == actor && c.start_op <= counter && counter <= c.max_op)
        .map(|c| c.hash)
    else {
        return Ok(BTreeSet::new());
    };
    let at_merge = doc.hydrate(ROOT, Some(&[merge]))?;
    let now = doc.hydrate(ROOT, None)?;
    let (automerge::hydrate::Value::Map(then), automerge::hydrate::Value::Map(now)) =
        (at_merge, now)
    else {
        return Ok(BTreeSet::new());
    };
    Ok(now
        .iter()
        .filter(|(k, v)| then.get(k.as_str()) != Some(&v.value))
        .map(|(k, _)| k.to_string())
        .chain(
            then.iter()
                .filter(|(k, _)| now.get(k.as_str()).is_none())
                .map(|(k, _)| k.to_string()),
        )
        .collect())
}

/// `into` completed with what `member` adds to it (see [`Store::merged_person`]).
fn combine(into: &mut Person, member: Person, changed: &BTreeSet<String>) {
    macro_rules! scalar {
        ($($f:ident),*) => {$(
            if member.$f.is_some() && (into.$f.is_none() || changed.contains(stringify!($f))) {
                into.$f = member.$f.clone();
            }
        )*};
    }
    let (old_name, old_nickname) = (into.name.clone(), into.nickname.clone());
    scalar!(
        name,
        nickname,
        birth_year,
        birth_date,
        gender,
        phone,
        description,
        on_street_since,
        situation,
        consent_date,
        consent_by,
        followed_since,
        status,
        status_reason,
        status_date,
        household
    );
    into.alert_level = higher_alert(into.alert_level.take(), member.alert_level.clone());
    into.consent_record = restrictive(into.consent_record, member.consent_record);
    into.consent_share = restrictive(into.consent_share, member.consent_share);
    let mut other_names: Vec<String> = std::mem::take(&mut into.other_names);
    // A name either of them was known by, and is not shown as theirs now, stays searchable.
    for n in member
        .other_names
        .into_iter()
        .chain(member.name)
        .chain(member.nickname)
        .chain(old_name)
        .chain(old_nickname)
    {
        if into.name.as_ref() != Some(&n)
            && into.nickname.as_ref() != Some(&n)
            && !other_names.contains(&n)
        {
            other_names.push(n);
        }
    }
    into.other_names = other_names;
    for (list, more) in [
        (&mut into.languages, member.languages),
        (&mut into.teams, member.teams),
        (&mut into.needs, member.needs),
    ] {
        for v in more {
            if !list.contains(&v) {
                list.push(v);
            }
        }
    }
    into.needs.sort();
    for (k, v) in member.custom {
        into.custom.entry(k).or_insert(v);
    }
    for c in member.conflicts {
        let c = format!("{}:{c}", member.id);
        if !into.conflicts.contains(&c) {
            into.conflicts.push(c);
        }
    }
}

impl Store {
    /// Merges `other` into `keep` (two records of one person): `other` leaves the lists, its
    /// history stays readable, and every list, timeline and report counts them as one. Refused
    /// when they are one already, when either is not a person, or when `keep` is itself merged
    /// into someone (merge into that person instead).
    pub fn merge_persons(&self, keep: RecordId, other: RecordId) -> Result<()> {
        self.refuse_unless_merger()?;
        if keep == other {
            return Err(CoreError::invalid("other", "is the person kept"));
        }
        {
            let conn = self.lock();
            for id in [keep, other] {
                let kind = record_kind(&conn, id)?;
                if kind != Kind::Person {
                    return Err(CoreError::WrongKind {
                        id,
                        expected: Kind::Person.name(),
                        actual: kind.name().to_string(),
                    });
                }
            }
            let groups = Groups::load(&conn)?;
            if groups.is_merged(keep) {
                return Err(CoreError::invalid(
                    "keep",
                    "is merged into another person: merge into that person",
                ));
            }
            if groups.root(other) == keep {
                return Err(CoreError::invalid(
                    "other",
                    "is merged into this person already",
                ));
            }
        }
        self.edit_kind_unchecked(
            other,
            Some(Kind::Person),
            &[Edit::Set(MERGED_INTO.into(), Value::Ref(keep))],
        )
    }

    /// Undoes a merge: `other` stands for themselves again, with their own records.
    pub fn unmerge_person(&self, other: RecordId) -> Result<()> {
        self.refuse_unless_merger()?;
        if self.person(other)?.merged_into.is_none() {
            return Err(CoreError::invalid("other", "is not merged into anyone"));
        }
        self.edit_kind_unchecked(
            other,
            Some(Kind::Person),
            &[Edit::Clear(MERGED_INTO.into())],
        )
    }

    /// A merge is a coordinator's decision (outside a space, the store's own): it takes a
    /// person off the lists and into another's erasure. Received merges are checked the same
    /// way (`COORDINATOR_FIELDS`).
    fn refuse_unless_merger(&self) -> Result<()> {
        if self.acts_as_coordinator()? {
            Ok(())
        } else {
            Err(CoreError::invalid(
                "merge",
                "only a coordinator's device merges or unmerges persons",
            ))
        }
    }

    /// The person `id` stands as in the lists: itself, or the person it is merged into.
    pub fn resolved_person(&self, id: RecordId) -> Result<RecordId> {
        Ok(Groups::load(&self.lock())?.root(id))
    }

    /// The records of one person: the one `id` resolves to first, then those merged into it.
    pub fn person_group(&self, id: RecordId) -> Result<Vec<RecordId>> {
        Ok(Groups::load(&self.lock())?.group(id))
    }

    /// The consent now of the person `id` resolves to, over every record merged into them:
    /// for each partner and category decided, a refusal on any record wins over a consent
    /// given on another (the more restrictive), as [`Store::current_consents`] gives each.
    pub fn merged_consents(&self, id: RecordId) -> Result<Vec<crate::model::Consent>> {
        let group = self.person_group(id)?;
        let mut by: BTreeMap<(Option<String>, Option<String>), crate::model::Consent> =
            BTreeMap::new();
        for member in group {
            for c in self.current_consents(member)? {
                match by.entry((c.partner.clone(), c.category.clone())) {
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(c);
                    }
                    std::collections::btree_map::Entry::Occupied(mut e) => {
                        if e.get().given == Some(true) && c.given != Some(true) {
                            e.insert(c);
                        }
                    }
                }
            }
        }
        Ok(by.into_values().collect())
    }

    /// A person as the office and the phones see them: the person `id` resolves to, completed
    /// by those merged into them (needs combined, the higher alert level, the more restrictive
    /// consent, a field known by one only, other names; what was changed on a merged record
    /// after its merge wins). `merged` lists the records merged in.
    pub fn merged_person(&self, id: RecordId) -> Result<Person> {
        let group = self.person_group(id)?;
        let mut person = self.person(group[0])?;
        for &member in &group[1..] {
            let (found, changed) = {
                let conn = self.lock();
                let Some(mut doc) = load_doc(&conn, member)? else {
                    continue;
                };
                let changed = changed_after_merge(&mut doc)?;
                (Person::read(member, &Reader::new(&doc)), changed)
            };
            combine(&mut person, found, &changed);
            person.merged.push(member);
        }
        Ok(person)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> RecordId {
        RecordId::from_slice(&[n; 16]).expect("16 bytes")
    }

    #[test]
    fn a_chain_resolves_to_its_end_and_a_cycle_to_its_smallest_id() {
        let edges = BTreeMap::from([
            (id(1), id(2)),
            (id(2), id(3)),
            (id(5), id(4)),
            (id(4), id(5)),
        ]);
        let found = roots(&edges);
        assert_eq!(found[&id(1)], id(3));
        assert_eq!(found[&id(2)], id(3));
        assert_eq!(found[&id(4)], id(4));
        assert_eq!(found[&id(5)], id(4));
        // A person leading into a cycle resolves to the cycle's smallest id too.
        let edges = BTreeMap::from([(id(9), id(7)), (id(7), id(8)), (id(8), id(7))]);
        assert_eq!(roots(&edges)[&id(9)], id(7));
    }

    #[test]
    fn a_refusal_and_the_higher_alert_win() {
        assert_eq!(restrictive(Some(true), Some(false)), Some(false));
        assert_eq!(restrictive(None, Some(true)), Some(true));
        assert_eq!(restrictive(None, None), None);
        assert_eq!(
            higher_alert(Some("watch".into()), Some("very_vulnerable".into())).as_deref(),
            Some("very_vulnerable")
        );
        assert_eq!(
            higher_alert(Some("watch".into()), Some("none".into())).as_deref(),
            Some("watch")
        );
    }
}
