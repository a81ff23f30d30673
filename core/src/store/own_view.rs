//! The person's own view of the support (their voice): after a step (a home found, six months
//! in it, the end of the support), how satisfied they are, what helped, what was missing, their
//! own words and the answers to the organisation's own questions (its fields of `own_view`).
//! The report gives them in aggregate only.

use crate::model::fields::Kind;
use crate::model::housing::{NewOwnView, OwnView};
use crate::{CoreError, RecordId, Result};

use super::housing::id_of;
use super::Store;

impl Store {
    /// Records a person's own view.
    pub fn record_own_view(&self, view: &NewOwnView) -> Result<RecordId> {
        if self.kind_of(view.person)? != Kind::Person {
            return Err(CoreError::invalid("person", "is not a person"));
        }
        self.create_record(Kind::OwnView, view.edits(self.now().date_naive()))
    }

    pub fn own_view(&self, id: RecordId) -> Result<OwnView> {
        self.read(id, Kind::OwnView, |r| OwnView::read(id, r))
    }

    /// A person's own views (every record merged into them), the latest first.
    pub fn own_views(&self, person: RecordId) -> Result<Vec<OwnView>> {
        let ids: Vec<RecordId> = {
            let conn = self.lock();
            let mut ids = Vec::new();
            for member in super::merge::Groups::load(&conn)?.group(person) {
                let mut stmt =
                    conn.prepare_cached("SELECT record_id FROM own_views WHERE person_id = ?1")?;
                for r in stmt.query_map([member.as_bytes()], |r| r.get::<_, Vec<u8>>(0))? {
                    ids.push(id_of(&r?)?);
                }
            }
            ids
        };
        let mut out: Vec<OwnView> = ids
            .into_iter()
            .map(|id| self.own_view(id))
            .collect::<Result<_>>()?;
        out.sort_by_key(|v| (std::cmp::Reverse(v.on), v.id));
        Ok(out)
    }
}
