//! One ranking group's overall rank keys in memory, so that the rank a caller is shown after
//! each answer write (and a what-if's rank) is a binary search instead of a count over the
//! group's score rows (about 2 ms at 3,400 units, a quarter of a write).
//!
//! The copy is exact or not used. It carries the group's score stamp
//! (`period_groups.scores_version`), which the database draws afresh on every statement that
//! writes score rows of the group (migration `ranks_and_best`): a copy whose stamp is the table's
//! holds what the table holds. A write that knows every row it changed (one unit's rescore, and
//! the units that followed a moved best) brings a current copy along under the group's lock;
//! any other write (a group rescore, a delete, another replica, a rolled-back transaction)
//! leaves it behind, and the next reader loads the group's keys again, with their stamp, in
//! one statement.
//!
//! The ranking rule is the one of [`crate::db::models::scores::rank`]: competition ranking on
//! the overall rounded index among the ranked units; an excluded unit or one without an index
//! has no rank and counts in no one's rank or tie. `tests/api/ranking.rs` checks this spelling
//! against the definition, through a real database, with the SQL ones.

use crate::cache::lock_slot;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use diesel::PgConnection;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::models::scores::RankKey;
use crate::error::AppResult;

/// One unit's overall standing: its rank (`None`: excluded or without an index) and whether
/// another ranked unit has the same index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub rank: Option<i32>,
    pub tied: bool,
}

/// A row that followed a moved best (its participation unchanged): its new overall rounded
/// index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MovedKey {
    pub assessment_id: Uuid,
    pub key: Option<Decimal>,
}

/// The overall rank keys of one group's score rows, current for `version`.
pub struct GroupRanks {
    version: Option<Uuid>,
    /// Per assessment: whether it is ranked, and its overall rounded index.
    keys: HashMap<Uuid, (bool, Option<Decimal>)>,
    /// The indices of the ranked units that have one, ascending.
    sorted: Vec<Decimal>,
}

impl GroupRanks {
    pub fn new(version: Option<Uuid>, rows: Vec<RankKey>) -> GroupRanks {
        let mut sorted: Vec<Decimal> = rows
            .iter()
            .filter(|r| r.ranked)
            .filter_map(|r| r.key)
            .collect();
        sorted.sort_unstable();
        GroupRanks {
            version,
            keys: rows
                .into_iter()
                .map(|r| (r.assessment_id, (r.ranked, r.key)))
                .collect(),
            sorted,
        }
    }

    /// Ranked units whose index is above `value`, and those equal to it.
    fn around(&self, value: Decimal) -> (usize, usize) {
        let below_or_equal = self.sorted.partition_point(|k| *k <= value);
        let below = self.sorted.partition_point(|k| *k < value);
        (self.sorted.len() - below_or_equal, below_or_equal - below)
    }

    /// The standing of one assessment (`None`: the group has no score row for it).
    pub fn standing(&self, assessment: Uuid) -> Option<Standing> {
        let &(ranked, key) = self.keys.get(&assessment)?;
        Some(match key {
            Some(value) if ranked => {
                let (ahead, equal) = self.around(value);
                Standing {
                    rank: Some(1 + ahead as i32),
                    // itself is one of the equal
                    tied: equal > 1,
                }
            }
            _ => Standing {
                rank: None,
                tied: false,
            },
        })
    }

    /// The rank `value` would have among the ranked units other than `except`.
    pub fn rank_of(&self, value: Decimal, except: Uuid) -> i32 {
        let (mut ahead, _) = self.around(value);
        if let Some(&(true, Some(own))) = self.keys.get(&except)
            && own > value
        {
            ahead -= 1;
        }
        1 + ahead as i32
    }

    /// Sets the key of one row a write changed (`false`: the order did not hold the row's
    /// old key, so the copy is not what it claims to be).
    fn set(&mut self, r: &RankKey) -> bool {
        let old = self.keys.insert(r.assessment_id, (r.ranked, r.key));
        if let Some((true, Some(old))) = old {
            let at = self.sorted.partition_point(|k| *k < old);
            if self.sorted.get(at) != Some(&old) {
                return false;
            }
            self.sorted.remove(at);
        }
        if let (true, Some(new)) = (r.ranked, r.key) {
            let at = self.sorted.partition_point(|k| *k < new);
            self.sorted.insert(at, new);
        }
        true
    }

    /// Sets the rows a write changed: `own` whole, and the new overall index of each of
    /// `moved` (rows whose participation did not change). `false` when a moved row is not in
    /// the copy (the copy cannot be right: it is dropped).
    fn apply(&mut self, own: &RankKey, moved: &[MovedKey]) -> bool {
        // a few rows are moved in place; many (the group following a moved best) are set in
        // the map and the order rebuilt once, not one shift of the whole order per row
        if moved.len() < 32 {
            if !self.set(own) {
                return false;
            }
            for m in moved {
                let Some(&(ranked, _)) = self.keys.get(&m.assessment_id) else {
                    return false;
                };
                let row = RankKey {
                    assessment_id: m.assessment_id,
                    ranked,
                    key: m.key,
                };
                if !self.set(&row) {
                    return false;
                }
            }
            return true;
        }
        self.keys.insert(own.assessment_id, (own.ranked, own.key));
        for m in moved {
            match self.keys.get_mut(&m.assessment_id) {
                Some(entry) => entry.1 = m.key,
                None => return false,
            }
        }
        self.sorted = self
            .keys
            .values()
            .filter(|(ranked, _)| *ranked)
            .filter_map(|(_, key)| *key)
            .collect();
        self.sorted.sort_unstable();
        true
    }
}

/// One group's slot in [`super::scoring::Caches`].
pub type RanksSlot = Arc<Mutex<Option<GroupRanks>>>;

/// `f` over the group's current rank keys: the slot's copy when its stamp is the table's, else
/// read again (keys and stamp in one statement, so they belong together).
pub fn with_current<T>(
    conn: &mut PgConnection,
    slot: &RanksSlot,
    period: Uuid,
    group: Uuid,
    f: impl FnOnce(&GroupRanks) -> T,
) -> AppResult<T> {
    let version = RankKey::group_version(conn, period, group)?;
    let mut copy = lock_slot(slot);
    match copy.as_ref() {
        Some(c) if c.version == version => {}
        _ => {
            let (version, rows) = RankKey::of_group(conn, period, group)?;
            *copy = Some(GroupRanks::new(version, rows));
        }
    }
    Ok(f(copy.as_ref().expect("loaded above")))
}

/// The group's score stamp after a write, as far as the write learnt it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampAfter {
    /// Read by a statement after the write's last change to the group's score rows.
    Read(Option<Uuid>),
    /// Not read: [`follow_write`] reads it when it needs it.
    Unread,
}

/// After a write under the group's lock that changed exactly `own` and the overall indices of
/// `moved` (and nothing else of the group's score rows since `stamps.0`, the stamp read when
/// the lock was taken): a copy current for that stamp takes the changes and the stamp the write
/// left (`stamps.1`, read here when the write did not), and `own`'s standing in it is returned
/// (the standing at commit: the lock is held until then); any other copy is left as it is
/// (stale: the next reader loads the group again), and `None` is returned.
pub fn follow_write(
    conn: &mut PgConnection,
    slot: Option<RanksSlot>,
    (period, group): (Uuid, Uuid),
    (before, after): (Option<Uuid>, StampAfter),
    own: &RankKey,
    moved: &[MovedKey],
) -> AppResult<Option<Standing>> {
    let Some(slot) = slot else {
        return Ok(None);
    };
    let mut copy = lock_slot(&slot);
    if copy.as_ref().is_none_or(|c| c.version != before) {
        return Ok(None);
    }
    let after = match after {
        StampAfter::Read(stamp) => stamp,
        StampAfter::Unread => RankKey::group_version(conn, period, group)?,
    };
    let Some(c) = copy.as_mut() else {
        return Ok(None);
    };
    if c.apply(own, moved) {
        c.version = after;
        Ok(c.standing(own.assessment_id))
    } else {
        *copy = None;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u128, ranked: bool, key: Option<i64>) -> RankKey {
        RankKey {
            assessment_id: Uuid::from_u128(n),
            ranked,
            key: key.map(|k| Decimal::new(k, 2)),
        }
    }

    fn moved(n: u128, key: Option<i64>) -> MovedKey {
        MovedKey {
            assessment_id: Uuid::from_u128(n),
            key: key.map(|k| Decimal::new(k, 2)),
        }
    }

    #[test]
    fn competition_ranks_with_ties_exclusions_and_missing_indices() {
        let g = GroupRanks::new(
            None,
            vec![
                key(1, true, Some(90)),
                key(2, true, Some(80)),
                key(3, true, Some(80)),
                key(4, true, Some(70)),
                key(5, false, Some(95)),
                key(6, true, None),
            ],
        );
        let at = |n| g.standing(Uuid::from_u128(n)).unwrap();
        assert_eq!(at(1).rank, Some(1));
        assert_eq!((at(2).rank, at(2).tied), (Some(2), true));
        assert_eq!((at(3).rank, at(3).tied), (Some(2), true));
        assert_eq!((at(4).rank, at(4).tied), (Some(4), false));
        assert_eq!((at(5).rank, at(5).tied), (None, false));
        assert_eq!((at(6).rank, at(6).tied), (None, false));
        assert_eq!(g.standing(Uuid::from_u128(7)), None);
        // a what-if of unit 1: its own row does not count
        assert_eq!(g.rank_of(Decimal::new(85, 2), Uuid::from_u128(1)), 1);
        assert_eq!(g.rank_of(Decimal::new(85, 2), Uuid::from_u128(4)), 2);
        assert_eq!(g.rank_of(Decimal::new(80, 2), Uuid::from_u128(4)), 2);
    }

    #[test]
    fn applied_changes_give_what_a_fresh_load_gives() {
        let mut g = GroupRanks::new(
            None,
            vec![
                key(1, true, Some(90)),
                key(2, true, Some(80)),
                key(3, false, Some(80)),
            ],
        );
        // unit 3 joins the ranking, unit 4 is new, units 1 and 2 follow a moved best
        let own = key(3, true, Some(75));
        assert!(g.apply(&own, &[]));
        assert!(g.set(&key(4, true, Some(80))));
        assert!(g.apply(
            &key(4, true, Some(80)),
            &[moved(1, Some(70)), moved(2, None)]
        ));
        let fresh = GroupRanks::new(
            None,
            vec![
                key(1, true, Some(70)),
                key(2, true, None),
                own.clone(),
                key(4, true, Some(80)),
            ],
        );
        for n in 1..=4 {
            let id = Uuid::from_u128(n);
            assert_eq!(g.standing(id), fresh.standing(id), "unit {n}");
        }
        assert_eq!(g.sorted, fresh.sorted);
        // many moved rows at once: the same as one by one
        let mut many = GroupRanks::new(
            None,
            (0..100)
                .map(|n| key(n, n % 7 != 0, Some(n as i64 % 13)))
                .collect(),
        );
        let all: Vec<MovedKey> = (1..100)
            .map(|n| moved(n, (n % 5 != 0).then_some(n as i64 % 11)))
            .collect();
        assert!(many.apply(&key(0, true, Some(5)), &all));
        let one_by_one = {
            let mut g = GroupRanks::new(
                None,
                (0..100)
                    .map(|n| key(n, n % 7 != 0, Some(n as i64 % 13)))
                    .collect(),
            );
            assert!(g.apply(&key(0, true, Some(5)), &[]));
            for chunk in all.chunks(10) {
                assert!(g.apply(&key(0, true, Some(5)), chunk));
            }
            g
        };
        assert_eq!(many.sorted, one_by_one.sorted);
        for n in 0..100 {
            let id = Uuid::from_u128(n);
            assert_eq!(many.standing(id), one_by_one.standing(id), "unit {n}");
        }
        // a moved row the copy does not hold: it cannot be right
        assert!(!g.apply(&own, &[moved(9, None)]));
    }
}
