//! The bridge between stored inputs and the pure [`crate::scoring`] module: load inputs, score,
//! store, inside the caller's transaction.
//!
//! Every write that can move a number calls [`rescore_assessment`] or [`rescore_group`]. Both
//! lock the group's `period_groups` row first, so concurrent writers to one group are
//! serialised and no stored number is ever computed from a mix of states.
//!
//! What a write costs (docs/architecture.md; migration 6 has the layout):
//! - one unit is scored from its own inputs and the group's best values, read as the extremes
//!   of the stored candidates (`relative_values`, by index probes), and its one score row —
//!   totals and every ranking scope's value — is rewritten. Ranks are read with `RANK()` over
//!   the stored rounded indices, so no other unit's row changes; the rank shown after the write
//!   comes from the group's rank keys in memory ([`super::ranks`]), which the write brings
//!   along.
//! - when the write moves a group best, every other unit of the group is re-evaluated from its
//!   stored [`Basis`] (only the nodes that follow the best) and all rows are rewritten in one
//!   statement. The bases come from this server's memory when its copy carries the version
//!   stamp the group row holds (see `GroupBases`), else from `assessment_bases`.
//!
//! [`recompute_period`] rebuilds everything from inputs; the stored result must not change
//! (the invariant the tests check).
//!
//! # Lock order
//!
//! Every transaction that takes more than one of these row locks takes them in this order, so
//! that no two can wait for each other (no deadlock):
//!
//! 1. the `Idempotency-Key` row of a keyed request (claimed before the write runs);
//! 2. the unit row (`PATCH /units`, before the unit's open assessments are rescored);
//! 3. the period row (`Period::find_for_update`: phase changes, publications, reopen;
//!    opening a draft period then reads its units `FOR SHARE`, see `Unit::find_many_for_share`);
//! 4. group rows (`Period::lock_group`), several in (period id, group id) order;
//! 5. assessment rows (`Assessment::find_for_update`), after their group's (an answers import
//!    longer than one chunk locks every group of the period first, then the assessments chunk
//!    by chunk as their units appear: `services::imports`);
//! 6. clarification threads, answers, evidence, score rows.
//!
//! One lock comes before all of these: the content lock of an evidence file (a transaction
//! advisory lock keyed by its SHA-256, `Blob::lock_content`). An upload takes it first and
//! writes the file before it locks the group, so that no group waits on file storage; the
//! collector of unreferenced files takes it alone, in its own transaction. No transaction takes
//! it while holding any lock of the list, so it cannot close a cycle.
//!
//! A write that can move a score locks through [`lock_assessment`] (group, then assessment);
//! a rescore or recompute locks the group before it reads or writes anything of it. Period and
//! assessment locks are `FOR NO KEY UPDATE`: the foreign-key checks of score rows take `KEY
//! SHARE` on the period and the assessment, which such a lock never blocks. Any deadlock or
//! serialization failure that still happens is a 503 with `Retry-After` (`crate::error`).
//!
//! # What moves a number
//!
//! The inputs of scoring are: answers (inputs, not applicable, explanation), the presence of
//! evidence (each answer's `evidence_count`, kept by triggers on `evidence`), reviewer
//! adjustments, whether the assessment is finalised, the unit tags kept on the assessment
//! (`assessments.unit_tags`), the unit code (ties), and the pinned set (active, so immutable).
//! Each writer of one of them rescores in its own transaction: answers
//! (`services::assessments::put_answers`), evidence (`services::evidence`), adjustments,
//! finalise and reopen (`services::workflow`), unit tags (`services::units::update`), and
//! opening a period (`services::periods`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use diesel::PgConnection;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::cache::{Bounded, CacheStats, lock_slot};
use crate::config::CacheConfig;
use crate::db::json_text::JsonText;
use crate::db::models::assessments::{Assessment, ScoringAdjustment, ScoringAnswer, ScoringRow};
use crate::db::models::indicator_sets::IndicatorSet;
use crate::db::models::periods::{GroupAndPeriod, Period, PeriodGroup};
use crate::db::models::scores::{
    BasisRecord, BasisText, BestRow, FollowRow, MovedRow, RankKey, RelativeValue, ScoreRow,
};
use crate::domain::indicator_set::Method;
use crate::domain::workflow::AssessmentState;
use crate::error::{AppError, AppResult};
use crate::scoring::ranking::{ScopeValue, index_of, scope_value_at, scope_values};
use crate::scoring::{
    Adjustment, Answers, Basis, Best, BestValues, CompiledSet, LeafAnswer, Part, UnitInput,
    UnitScores, View, basis_of, better, candidates, parse_input_text, rescore_basis,
    score_unit_numbers,
};
use crate::services::ranks::{self, MovedKey, RanksSlot, StampAfter, Standing};
use serde::{Deserialize, Serialize};

/// A set ready to score, with its node ids.
pub struct SetEntry {
    pub set: CompiledSet,
    pub node_ids: Vec<Uuid>,
    pub index_by_node_id: IdMap<usize>,
    /// The node ids of the `relative_to_best` leaves.
    pub relative_node_ids: Vec<Uuid>,
    /// The fingerprint of the order stored numbers follow: see [`layout_of`].
    pub layout: String,
}

/// The version of the stored forms themselves (the JSON of [`StoredBasis`], the meaning of
/// `assessment_scores.scope_*`): raise it when either changes shape.
const LAYOUT_FORMAT: &str = "dti-stored-layout/1";

/// A fingerprint of everything that gives a stored position its meaning: the stored format's
/// version, the compiled pre-order of the nodes (which [`StoredBasis`] indexes), the main
/// indicators (parallel to its `m`) and the ranking scopes (parallel to the `scope_*` arrays
/// of `assessment_scores`). A different compile or scope order gives a different fingerprint,
/// and the group is rebuilt from its inputs (see [`ensure_layout`]) instead of read wrongly.
pub fn layout_of(set: &CompiledSet) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(LAYOUT_FORMAT);
    for n in &set.nodes {
        h.update(b"\nnode ");
        h.update(&n.code);
    }
    for m in set.main_indicators() {
        h.update(b"\nmain ");
        h.update(&set.nodes[m].code);
    }
    for scope in crate::scoring::ranking::scopes(set) {
        // the kind's wire name, as this has always hashed it
        h.update(format!("\nscope {} {}", scope.kind.as_str(), scope.code));
    }
    hex::encode(&h.finalize()[..16])
}

/// The scoring caches of one server, owned by the application (`AppState`) and handed to every
/// function that scores: compiled sets by id, and the parsed bases of each ranking group (see
/// [`GroupBases`]). Both are bounded (`Config::caches`) and forget the least recently used entry
/// first; a forgotten entry is read again from the database.
pub struct Caches {
    /// Compiled sets that are no longer drafts (an active set never changes).
    sets: Bounded<Uuid, Arc<SetEntry>>,
    /// One slot per (period, group).
    bases: Bounded<(Uuid, Uuid), BasesSlot>,
    /// The overall rank keys of each (period, group) (see [`super::ranks`]); as many groups
    /// as bases.
    ranks: Bounded<(Uuid, Uuid), RanksSlot>,
    /// Whose each assessment is (its unit and period, which never change): the check of an
    /// answer write before its body is read needs no database read for an assessment this
    /// server has seen. Sixteen per group kept.
    owners: Bounded<Uuid, Owner>,
}

/// Whose an assessment is: its unit and its period. Neither ever changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub unit_id: Uuid,
    pub period_id: Uuid,
}

impl Owner {
    pub fn of(a: &Assessment) -> Owner {
        Owner {
            unit_id: a.unit_id,
            period_id: a.period_id,
        }
    }
}

impl Caches {
    pub fn new(config: &CacheConfig) -> Caches {
        Caches {
            sets: Bounded::new(config.set_entries),
            bases: Bounded::new(config.bases_groups),
            ranks: Bounded::new(config.bases_groups),
            owners: Bounded::new(config.bases_groups.saturating_mul(16)),
        }
    }

    /// Each cache by its name on `/metrics`, with what it did so far.
    pub fn stats(&self) -> [(&'static str, CacheStats); 4] {
        [
            ("sets", self.sets.stats()),
            ("bases", self.bases.stats()),
            ("ranks", self.ranks.stats()),
            ("owners", self.owners.stats()),
        ]
    }

    /// Whose the assessment is, if this server has seen it.
    pub fn owner(&self, assessment: Uuid) -> Option<Owner> {
        self.owners.get(&assessment)
    }

    /// Remembers whose an assessment is.
    pub fn remember_owner(&self, a: &Assessment) {
        self.owners.insert(a.id, Owner::of(a));
    }

    /// The slot of one group's cached bases, made empty when missing. Taken only while holding
    /// the group's database lock, so it is never contended for long and never taken in the
    /// other order.
    fn bases_slot(&self, period: Uuid, group: Uuid) -> BasesSlot {
        self.bases
            .get_or_insert_with((period, group), BasesSlot::default)
    }

    /// The slot of one group's cached bases, if this server keeps one.
    fn kept_bases_slot(&self, period: Uuid, group: Uuid) -> Option<BasesSlot> {
        self.bases.get(&(period, group))
    }

    /// The slot of one group's rank keys, made empty when missing.
    fn ranks_slot(&self, period: Uuid, group: Uuid) -> RanksSlot {
        self.ranks
            .get_or_insert_with((period, group), RanksSlot::default)
    }
}

impl Default for Caches {
    /// Caches of the default sizes (tools and tests that score outside a server).
    fn default() -> Caches {
        Caches::new(&CacheConfig::default())
    }
}

/// The compiled set (cached for active sets, which never change).
pub fn set_entry(
    conn: &mut PgConnection,
    caches: &Caches,
    set_id: Uuid,
) -> AppResult<Arc<SetEntry>> {
    if let Some(e) = caches.sets.get(&set_id) {
        return Ok(e);
    }
    let row = IndicatorSet::find(conn, set_id)?
        .ok_or_else(|| AppError::not_found("indicator set", set_id))?;
    let doc = crate::services::indicator_sets::document(&row)?;
    let set = CompiledSet::compile(&doc);
    let by_code: HashMap<String, Uuid> =
        IndicatorSet::node_ids(conn, set_id)?.into_iter().collect();
    let node_ids: Vec<Uuid> = set
        .nodes
        .iter()
        .map(|n| {
            by_code
                .get(&n.code)
                .copied()
                .ok_or_else(|| AppError::internal(format!("node {} not stored", n.code)))
        })
        .collect::<AppResult<_>>()?;
    let index_by_node_id = node_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let relative_node_ids = set
        .leaves()
        .filter(|&i| set.is_relative_to_best(i))
        .map(|i| node_ids[i])
        .collect();
    let entry = Arc::new(SetEntry {
        layout: layout_of(&set),
        set,
        node_ids,
        index_by_node_id,
        relative_node_ids,
    });
    if row.status != crate::domain::SetStatus::Draft {
        caches.sets.insert(set_id, entry.clone());
    }
    Ok(entry)
}

/// Converts stored answers and adjustments of some assessments into scoring inputs: what
/// scoring counts, which is everything entered except for an assessment finalised at zero
/// (see [`crate::domain::workflow::FinalisedAs::counts_answers`]), which counts nothing.
pub fn unit_inputs(
    conn: &mut PgConnection,
    entry: &SetEntry,
    assessments: &[Assessment],
) -> AppResult<Vec<UnitInput>> {
    let mut out = Vec::with_capacity(assessments.len());
    each_slice_of_inputs(conn, entry, assessments, |_, inputs| {
        out.extend(inputs);
        Ok(())
    })?;
    Ok(out)
}

/// [`unit_inputs`] a slice at a time: `f` gets each slice's assessments and their inputs, in
/// order, while the next slice is read (see [`each_slice_entered`]).
fn each_slice_of_inputs(
    conn: &mut PgConnection,
    entry: &SetEntry,
    assessments: &[Assessment],
    mut f: impl FnMut(&[Assessment], Vec<UnitInput>) -> AppResult<()>,
) -> AppResult<()> {
    each_slice_entered(conn, entry, assessments, |slice, mut inputs| {
        for (a, input) in slice.iter().zip(&mut inputs) {
            if a.finalised_as().is_some_and(|f| !f.counts_answers()) {
                input.answers.clear();
            }
        }
        f(slice, inputs)
    })
}

/// Everything the units entered (and reviewers adjusted), as scoring inputs, whatever the
/// office decided about them (the progress of a form, not its score).
pub fn entered_inputs(
    conn: &mut PgConnection,
    entry: &SetEntry,
    assessments: &[Assessment],
) -> AppResult<Vec<UnitInput>> {
    let mut out = Vec::with_capacity(assessments.len());
    each_slice_entered(conn, entry, assessments, |_, inputs| {
        out.extend(inputs);
        Ok(())
    })?;
    Ok(out)
}

/// [`entered_inputs`] of [`INPUT_SLICE`] assessments at a time, handed to `f` in order.
///
/// The raw rows (their JSON values, the driver's result buffer) of one slice are parsed and
/// dropped soon after, so a national group's 340,000 answers never sit in memory twice. With
/// several slices, the next slice is read (on this connection, from a thread of its own) while
/// the scoring pool parses the one before and `f` works on it: the database's work, the parsing
/// and the caller's work overlap instead of taking turns.
fn each_slice_entered(
    conn: &mut PgConnection,
    entry: &SetEntry,
    assessments: &[Assessment],
    mut f: impl FnMut(&[Assessment], Vec<UnitInput>) -> AppResult<()>,
) -> AppResult<()> {
    // one slice (every answer write: one assessment) has nothing to overlap: no thread
    if assessments.len() <= INPUT_SLICE {
        let rows = SliceRows::read(conn, assessments)?;
        return f(assessments, rows.parse(entry)?);
    }
    std::thread::scope(|s| {
        // one slice read ahead at most: memory stays at two slices' rows
        let (tx, rx) = std::sync::mpsc::sync_channel::<AppResult<SliceRows>>(1);
        let reader = s.spawn(move || {
            for slice in assessments.chunks(INPUT_SLICE) {
                let rows = SliceRows::read(conn, slice);
                let failed = rows.is_err();
                // a closed channel: the parser failed and stopped listening
                if tx.send(rows).is_err() || failed {
                    break;
                }
            }
        });
        for rows in rx {
            let rows = rows?;
            let slice = rows.assessments;
            f(slice, rows.parse(entry)?)?;
        }
        reader
            .join()
            .map_err(|_| AppError::internal("reading the answers failed"))?;
        Ok(())
    })
}

/// How many assessments' answers [`entered_inputs`] reads at a time.
const INPUT_SLICE: usize = 500;

/// The stored rows of one slice of assessments, as read (one statement:
/// [`Assessment::scoring_rows`]). Sorted out by assessment in [`SliceRows::parse`], not here:
/// the reading thread is what the next slice waits for.
struct SliceRows<'a> {
    assessments: &'a [Assessment],
    rows: Vec<ScoringRow>,
}

/// A map keyed by ids the server made (never chosen by a client), hashed with a fast hasher:
/// scoring fills and reads these once per stored row.
pub type IdMap<V> = HashMap<Uuid, V, foldhash::fast::RandomState>;

/// One assessment's stored rows, sorted out of a slice's.
struct UnitRows<'a> {
    assessment: &'a Assessment,
    unit_code: Option<String>,
    answers: Vec<ScoringAnswer>,
    adjustments: Vec<ScoringAdjustment>,
}

impl<'a> SliceRows<'a> {
    fn read(conn: &mut PgConnection, assessments: &'a [Assessment]) -> AppResult<SliceRows<'a>> {
        let ids: Vec<Uuid> = assessments.iter().map(|a| a.id).collect();
        Ok(SliceRows {
            assessments,
            rows: Assessment::scoring_rows(conn, &ids)?,
        })
    }

    /// Sorts the rows out by assessment, then parses their inputs (most of the work) on
    /// every core.
    fn parse(self, entry: &SetEntry) -> AppResult<Vec<UnitInput>> {
        let at: IdMap<usize> = self
            .assessments
            .iter()
            .enumerate()
            .map(|(k, a)| (a.id, k))
            .collect();
        // room for an average assessment's answers: most have about as many
        let room = self.rows.len() / self.assessments.len().max(1) + 1;
        let mut units: Vec<UnitRows> = self
            .assessments
            .iter()
            .map(|assessment| UnitRows {
                assessment,
                unit_code: None,
                answers: Vec::with_capacity(room),
                adjustments: Vec::new(),
            })
            .collect();
        for row in self.rows {
            let id = match &row {
                ScoringRow::Answer(a) => a.assessment_id,
                ScoringRow::Adjustment(a) => a.assessment_id,
                ScoringRow::Unit { assessment_id, .. } => *assessment_id,
            };
            let Some(unit) = at.get(&id).map(|&k| &mut units[k]) else {
                continue;
            };
            match row {
                ScoringRow::Answer(a) => unit.answers.push(a),
                ScoringRow::Adjustment(a) => unit.adjustments.push(a),
                ScoringRow::Unit { code, .. } => unit.unit_code = Some(code),
            }
        }
        parallel(&units, |u| {
            let code = u
                .unit_code
                .as_deref()
                .ok_or_else(|| AppError::internal("assessment unit missing"))?;
            Ok(unit_input(
                entry,
                code,
                u.assessment,
                &u.answers,
                &u.adjustments,
            ))
        })
    }
}

/// One assessment's scoring input from its stored rows.
fn unit_input(
    entry: &SetEntry,
    unit_code: &str,
    a: &Assessment,
    answers: &[ScoringAnswer],
    adjustments: &[ScoringAdjustment],
) -> UnitInput {
    let set = &entry.set;
    // straight from the stored text to the typed input (a stored input was valid when written)
    let parse = |i: usize, text: Option<&JsonText>| -> Option<crate::scoring::Input> {
        let n = &set.nodes[i];
        let method = n.method.as_ref().unwrap_or(&Method::Manual);
        text.and_then(|t| parse_input_text(method, n.max_points, t.as_bytes()).ok())
    };
    let mut map = Answers::for_nodes(set.nodes.len());
    for answer in answers {
        let Some(&i) = entry.index_by_node_id.get(&answer.node_id) else {
            continue;
        };
        map.insert(
            i,
            LeafAnswer {
                self_input: parse(i, answer.inputs.as_ref()),
                self_not_applicable: answer.not_applicable,
                has_evidence: answer.has_evidence,
                has_explanation: answer
                    .explanation
                    .as_deref()
                    .is_some_and(|e| !e.trim().is_empty()),
                adjustment: None,
            },
        );
    }
    for adj in adjustments {
        let Some(&i) = entry.index_by_node_id.get(&adj.node_id) else {
            continue;
        };
        map.get_or_default(i).adjustment = Some(Box::new(Adjustment {
            inputs: parse(i, adj.inputs.as_ref()),
            points: adj.points,
            not_applicable: adj.not_applicable,
        }));
    }
    UnitInput {
        unit_id: a.unit_id,
        unit_code: unit_code.to_string(),
        tags: a.unit_tags.clone(),
        answers: map,
    }
}

/// The numbers a score row stores, from the root's `[self, reviewed]` views and each main
/// indicator's reviewed `(points, applicable max)` (parallel to `set.main_indicators()`). Both
/// ways of scoring (the full tree, a basis) go through here, so equal numbers always store the
/// same digits.
struct Numbers {
    applicable_max: Decimal,
    self_points: Decimal,
    reviewed_points: Decimal,
    self_index: Option<Decimal>,
    reviewed_index: Option<Decimal>,
    scopes: Vec<ScopeValue>,
}

fn numbers(set: &CompiledSet, total: [View; 2], mains: &[(Decimal, Decimal)]) -> Numbers {
    let rev = total[1];
    let t = totals(total);
    Numbers {
        applicable_max: rev.applicable_max.normalize(),
        self_points: t.self_points,
        reviewed_points: t.reviewed_points,
        self_index: t.self_index,
        reviewed_index: t.reviewed_index,
        scopes: scope_values(set, (rev.points, rev.applicable_max), mains),
    }
}

/// A unit's totals as stored.
struct Totals {
    self_points: Decimal,
    reviewed_points: Decimal,
    self_index: Option<Decimal>,
    reviewed_index: Option<Decimal>,
}

/// The stored totals of the root's `[self, reviewed]` views.
fn totals([own, rev]: [View; 2]) -> Totals {
    Totals {
        self_points: own.points.normalize(),
        reviewed_points: rev.points.normalize(),
        self_index: index_of(own.points, own.applicable_max).map(|d| d.normalize()),
        reviewed_index: index_of(rev.points, rev.applicable_max).map(|d| d.normalize()),
    }
}

/// What is stored of a unit's [`Basis`]: the basis, and the reviewed `(points, applicable
/// max)` of every main indicator that does not follow the best (`None` for those that do), so
/// that a moved best rebuilds every scope from this alone. Nothing here depends on the best:
/// a moved best never needs to rewrite it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredBasis {
    b: Basis,
    m: Vec<Option<(Decimal, Decimal)>>,
}

/// The scope positions (0-based in [`crate::scoring::ranking::scopes`]) a moved best can change: overall, the pillars
/// with a main that follows the best, and those mains. Applicable maxima never follow the best.
fn moved_positions(set: &CompiledSet) -> Vec<usize> {
    let mains = set.main_indicators();
    let first_main = 1 + set.pillars.len();
    let mut out = vec![0];
    for (k, p) in set.pillars.iter().enumerate() {
        if p.mains.iter().any(|&m| set.depends_on_best[m]) {
            out.push(1 + k);
        }
    }
    for (k, &m) in mains.iter().enumerate() {
        if set.depends_on_best[m] {
            out.push(first_main + k);
        }
    }
    out
}

/// The stored form of one assessment's scores and basis (`input` is what `s` was scored
/// from).
pub fn score_row(
    entry: &SetEntry,
    assessment: &Assessment,
    input: &UnitInput,
    s: &UnitScores,
) -> AppResult<(ScoreRow, Option<StoredBasis>)> {
    let set = &entry.set;
    let t = &s.total;
    let total = [
        View::new(t.self_applicable, t.self_points, t.self_applicable_max),
        View::new(t.applicable, t.reviewed_points, t.applicable_max),
    ];
    let mains: Vec<(Decimal, Decimal)> = set
        .main_indicators()
        .into_iter()
        .map(|m| (s.nodes[m].reviewed_points, s.nodes[m].applicable_max))
        .collect();
    let basis = basis_of(set, input, s).map(|b| StoredBasis {
        b,
        m: set
            .main_indicators()
            .into_iter()
            .zip(&mains)
            .map(|(i, v)| (!set.depends_on_best[i]).then_some(*v))
            .collect(),
    });
    let n = numbers(set, total, &mains);
    let finalised = assessment.state() == AssessmentState::Finalised;
    let row = ScoreRow {
        assessment_id: assessment.id,
        period_id: assessment.period_id,
        group_id: assessment.group_id,
        unit_id: assessment.unit_id,
        unit_code: input.unit_code.clone(),
        max_points: set.scale.normalize(),
        applicable_max: n.applicable_max,
        self_points: n.self_points,
        reviewed_points: n.reviewed_points,
        self_index: n.self_index,
        reviewed_index: n.reviewed_index,
        finalised,
        scope_points: n.scopes.iter().map(|v| Some(v.points)).collect(),
        scope_max: n.scopes.iter().map(|v| Some(v.applicable_max)).collect(),
        scope_index: n.scopes.iter().map(|v| v.index).collect(),
        ranked: !assessment.excluded(),
    };
    Ok((row, basis))
}

/// Each assessment's self-assessed points per ranking scope (in [`crate::scoring::ranking::scopes`]
/// order), scored from its inputs against the group's stored best. The score rows keep only the
/// reviewed value of each scope (the one ranked); the scores export shows the self column
/// beside it. Scores [`INPUT_SLICE`] units at a time on every core (a slice's inputs are
/// dropped before the next is read: a national group's would be ~120 MB at once) and stores
/// nothing.
pub fn self_scope_points(
    conn: &mut PgConnection,
    entry: &SetEntry,
    period: Uuid,
    group: Uuid,
    assessments: &[Assessment],
) -> AppResult<HashMap<Uuid, Vec<Decimal>>> {
    let best = stored_best(conn, entry, period, group, None)?;
    let set = &entry.set;
    let main_idx = set.main_indicators();
    let mut out = HashMap::with_capacity(assessments.len());
    for slice in assessments.chunks(INPUT_SLICE) {
        let inputs = unit_inputs(conn, entry, slice)?;
        let pairs: Vec<(&Assessment, &UnitInput)> = slice.iter().zip(&inputs).collect();
        let points = parallel(&pairs, |(a, u)| {
            let s = score_unit_numbers(set, u, &best);
            let mains: Vec<(Decimal, Decimal)> = main_idx
                .iter()
                .map(|&m| (s.nodes[m].self_points, s.nodes[m].self_applicable_max))
                .collect();
            let own = (s.total.self_points, s.total.self_applicable_max);
            let scopes = scope_values(set, own, &mains);
            Ok((a.id, scopes.into_iter().map(|v| v.points).collect()))
        })?;
        out.extend(points);
    }
    crate::memory::release_free_memory();
    Ok(out)
}

/// A unit's candidate values as stored rows (normalised, so that every reader of the best
/// sees the same digits).
fn candidate_rows(entry: &SetEntry, a: &Assessment, input: &UnitInput) -> Vec<RelativeValue> {
    let mut rows: Vec<RelativeValue> = candidates(&entry.set, input)
        .into_iter()
        .map(|(leaf, v)| RelativeValue {
            assessment_id: a.id,
            node_id: entry.node_ids[leaf],
            period_id: a.period_id,
            group_id: a.group_id,
            self_value: v.self_best.map(|d| d.normalize()),
            reviewed_value: v.reviewed_best.map(|d| d.normalize()),
        })
        .collect();
    rows.sort_by_key(|r| r.node_id);
    rows
}

/// The group's best values from the stored candidates (without `except`'s).
pub fn stored_best(
    conn: &mut PgConnection,
    entry: &SetEntry,
    period: Uuid,
    group: Uuid,
    except: Option<Uuid>,
) -> AppResult<Best> {
    if !entry.set.has_relative_to_best() {
        return Ok(Best::default());
    }
    let rows = RelativeValue::extremes(conn, period, group, except, &entry.relative_node_ids)?;
    Ok(best_of(entry, &rows))
}

/// One assessment's stored candidate rows and the group's best without them ([`stored_best`]
/// with `except` the assessment), in one statement. The set has a `relative_to_best` leaf.
fn own_and_others_best(
    conn: &mut PgConnection,
    entry: &SetEntry,
    a: &Assessment,
) -> AppResult<(Vec<RelativeValue>, Best)> {
    let (own, rows) = RelativeValue::own_and_extremes(
        conn,
        a.period_id,
        a.group_id,
        a.id,
        &entry.relative_node_ids,
    )?;
    Ok((own, best_of(entry, &rows)))
}

/// The best values of the stored extremes of each leaf.
fn best_of(entry: &SetEntry, rows: &[BestRow]) -> Best {
    let mut best = Best::default();
    for row in rows {
        let Some(&leaf) = entry.index_by_node_id.get(&row.node_id) else {
            continue;
        };
        let Some(direction) = entry.set.best_direction(leaf) else {
            continue;
        };
        // of the stored extremes, the better one in the leaf's direction
        best.by_leaf.insert(
            leaf,
            BestValues {
                self_best: better(direction, row.max_self, row.min_self),
                reviewed_best: better(direction, row.max_reviewed, row.min_reviewed),
            },
        );
    }
    best
}

/// `best` with every value normalised, as [`Best::offer`] leaves the values it folds: scored
/// against either, a unit gets the same digits.
fn normalised(mut best: Best) -> Best {
    for v in best.by_leaf.values_mut() {
        v.self_best = v.self_best.map(|d| d.normalize());
        v.reviewed_best = v.reviewed_best.map(|d| d.normalize());
    }
    best
}

/// Whether scoring against `a` and against `b` gives the same digits: every `relative_to_best`
/// leaf has the same values, with the same scale, in both.
fn same_digits(set: &CompiledSet, a: &Best, b: &Best) -> bool {
    let same = |x: Option<Decimal>, y: Option<Decimal>| match (x, y) {
        (Some(x), Some(y)) => x == y && x.scale() == y.scale(),
        (x, y) => x.is_none() && y.is_none(),
    };
    set.leaves()
        .filter(|&i| set.is_relative_to_best(i))
        .all(|i| {
            let (x, y) = (a.get(i), b.get(i));
            same(x.self_best, y.self_best) && same(x.reviewed_best, y.reviewed_best)
        })
}

/// Folds one unit's candidates into a best (what the group's best would be with them).
pub fn with_candidates(entry: &SetEntry, mut best: Best, input: &UnitInput) -> Best {
    for (leaf, v) in candidates(&entry.set, input) {
        best.offer(&entry.set, leaf, v);
    }
    best
}

/// Folds one unit's stored candidate rows into a best (what [`stored_best`] would read with
/// them among the group's rows).
fn with_rows(entry: &SetEntry, mut best: Best, rows: &[RelativeValue]) -> Best {
    for r in rows {
        if let Some(&leaf) = entry.index_by_node_id.get(&r.node_id) {
            best.offer(
                &entry.set,
                leaf,
                BestValues {
                    self_best: r.self_value,
                    reviewed_best: r.reviewed_value,
                },
            );
        }
    }
    best
}

/// `f` over `items` on the process's one shared pool of scoring threads (rayon's, one thread
/// per core, started once), in order; the first error wins. Small inputs stay on the calling
/// thread: handing them over costs more than it saves.
fn parallel<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> AppResult<R> + Sync + Send,
) -> AppResult<Vec<R>> {
    use rayon::prelude::*;
    if items.len() < 64 || rayon::current_num_threads() < 2 {
        return items.iter().map(f).collect();
    }
    items.par_iter().map(f).collect()
}

/// Scores units and builds their stored rows, on every core (the pure scorer is the bulk of a
/// group rescore); each unit's full scores are dropped as soon as its row is built.
fn score_rows(
    entry: &SetEntry,
    assessments: &[Assessment],
    inputs: &[UnitInput],
    best: &Best,
) -> AppResult<Vec<(ScoreRow, Option<StoredBasis>)>> {
    let pairs: Vec<(&Assessment, &UnitInput)> = assessments.iter().zip(inputs).collect();
    parallel(&pairs, |(a, u)| {
        score_row(entry, a, u, &score_unit_numbers(&entry.set, u, best))
    })
}

// ---------------------------------------------------------------------------------------
// Bases in memory
// ---------------------------------------------------------------------------------------

/// One group's bases as this server last wrote or read them, parsed, each with the stamp it
/// was stored with, and the group's `bases_version` the whole copy was current for (see the
/// migration `bases_version`).
///
/// A moved best needs every unit's basis; reading and parsing 3,400 of them costs more than
/// re-evaluating them. So each server keeps the last copy per group and, under the group lock,
/// uses it as is when its group stamp is the one `period_groups` holds. Every basis write sets a
/// fresh random stamp on the rows it writes, and the database copies it to the group in the same
/// statement (triggers of the migration `bases_stamp_trigger`). A write by
/// another replica or a rolled-back transaction (whose stamps never become visible) shows up as
/// a different group stamp; the copy then compares its rows' stamps with the table's and reads
/// only the rows that differ ([`GroupBases::refresh`]). A pinned set that changed drops the
/// copy.
struct GroupBases {
    version: Uuid,
    set_id: Uuid,
    entries: Vec<BasisEntry>,
    at: HashMap<Uuid, usize>,
}

struct BasisEntry {
    assessment_id: Uuid,
    /// The stamp of the statement that stored this basis (`None`: stored before stamps).
    stamp: Option<Uuid>,
    basis: StoredBasis,
}

impl GroupBases {
    fn new(version: Uuid, set_id: Uuid, entries: Vec<BasisEntry>) -> Self {
        let mut g = GroupBases {
            version,
            set_id,
            entries,
            at: HashMap::new(),
        };
        g.reindex();
        g
    }

    fn reindex(&mut self) {
        self.at = self
            .entries
            .iter()
            .enumerate()
            .map(|(k, e)| (e.assessment_id, k))
            .collect();
    }

    fn put(&mut self, entry: BasisEntry) {
        match self.at.get(&entry.assessment_id) {
            Some(&k) => self.entries[k] = entry,
            None => {
                self.at.insert(entry.assessment_id, self.entries.len());
                self.entries.push(entry);
            }
        }
    }

    /// Every basis of a group, read and parsed (on every core); current for `version`.
    fn load(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        version: Uuid,
        set_id: Uuid,
    ) -> AppResult<GroupBases> {
        let texts = ScoreRow::bases_of_group(conn, period, group)?;
        Ok(GroupBases::new(version, set_id, parse_bases(&texts)?))
    }

    /// Brings the copy in line with the table, which the group stamp says is at `version`:
    /// drops the rows that are gone and reads the rows whose stamp differs from the copy's.
    fn refresh(
        &mut self,
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        version: Uuid,
    ) -> AppResult<()> {
        let stamps = ScoreRow::basis_stamps(conn, period, group)?;
        let live: HashMap<Uuid, Option<Uuid>> = stamps.iter().copied().collect();
        self.entries.retain(|e| live.contains_key(&e.assessment_id));
        self.reindex();
        let differ: Vec<Uuid> = stamps
            .iter()
            .filter(|(id, stamp)| {
                stamp.is_none()
                    || self
                        .at
                        .get(id)
                        .is_none_or(|&k| self.entries[k].stamp != *stamp)
            })
            .map(|(id, _)| *id)
            .collect();
        if !differ.is_empty() {
            let texts = ScoreRow::bases_of(conn, &differ)?;
            for entry in parse_bases(&texts)? {
                self.put(entry);
            }
        }
        self.version = version;
        Ok(())
    }
}

/// Parses stored bases (on every core).
fn parse_bases(texts: &[BasisText]) -> AppResult<Vec<BasisEntry>> {
    parallel(texts, |t| {
        serde_json::from_str(&t.basis)
            .map(|basis| BasisEntry {
                assessment_id: t.assessment_id,
                stamp: t.stamp,
                basis,
            })
            .map_err(AppError::internal)
    })
}

type BasesSlot = Arc<Mutex<Option<GroupBases>>>;

/// Stores bases of one group with a fresh stamp; returns the stamp, and the group's score stamp
/// as the transaction's statements so far left it ([`ScoreRow::upsert_bases`]).
fn store_bases(
    conn: &mut PgConnection,
    period: Uuid,
    group: Uuid,
    bases: &[(Uuid, &StoredBasis)],
) -> AppResult<(Uuid, Option<Uuid>)> {
    let records = bases
        .iter()
        .map(|(id, b)| {
            serde_json::to_string(b)
                .map(|basis| BasisRecord {
                    assessment_id: *id,
                    basis,
                })
                .map_err(AppError::internal)
        })
        .collect::<AppResult<Vec<_>>>()?;
    let version = Uuid::new_v4();
    let scores = ScoreRow::upsert_bases(conn, period, group, version, &records)?;
    Ok((version, scores))
}

// ---------------------------------------------------------------------------------------
// Rescoring
// ---------------------------------------------------------------------------------------

/// Locks an assessment for a write that can move its scores, in the lock order: its group,
/// then the assessment row, read again under the lock. (Its period and group never change, so
/// reading them first without a lock is safe.)
pub fn lock_assessment(conn: &mut PgConnection, id: Uuid) -> AppResult<Assessment> {
    let a = Assessment::find(conn, id)?.ok_or_else(|| AppError::not_found("assessment", id))?;
    relock_assessment(conn, &a)
}

/// [`lock_assessment`] of an assessment the caller has just read without a lock (its rights
/// checked, say): the same locks, one read fewer.
pub fn relock_assessment(conn: &mut PgConnection, a: &Assessment) -> AppResult<Assessment> {
    Period::lock_group(conn, a.period_id, a.group_id)?
        .ok_or_else(|| AppError::not_found("period group", a.group_id))?;
    Assessment::find_for_update(conn, a.id)?.ok_or_else(|| AppError::not_found("assessment", a.id))
}

/// A unit's tags changed (the caller holds the unit row): its assessments of the periods still
/// in self-assessment or review take the new tags and are rescored, each under its period,
/// group and assessment locks (in that order; a period that moved on meanwhile keeps the tags
/// it had). Published and archived periods keep theirs. Returns the assessments rescored.
pub fn follow_unit_tags(
    conn: &mut PgConnection,
    caches: &Caches,
    unit: Uuid,
    tags: &[String],
) -> AppResult<usize> {
    let mut n = 0;
    for open in Assessment::open_of_unit(conn, unit)? {
        if open.unit_tags == tags {
            continue;
        }
        let period = Period::find_for_update(conn, open.period_id)?
            .ok_or_else(|| AppError::not_found("period", open.period_id))?;
        if !crate::domain::workflow::PeriodPhase::DECIDING.contains(&period.phase) {
            continue;
        }
        let a = lock_assessment(conn, open.id)?;
        let a = Assessment::set_unit_tags(conn, a.id, tags)?;
        rescore_assessment(conn, caches, &a)?;
        n += 1;
    }
    Ok(n)
}

/// Rescores every assessment of a group from its inputs. Locks the group.
///
/// The group's inputs, parsed on the scoring pool's threads, are the largest memory the server
/// holds at once (tens of MB at 3,400 units); once they are dropped the allocator is asked to
/// hand their pages back ([`crate::memory`]): kept in those threads' arenas, they would stay
/// resident under whatever another thread allocates next.
pub fn rescore_group(
    conn: &mut PgConnection,
    caches: &Caches,
    period: Uuid,
    group: Uuid,
) -> AppResult<usize> {
    let rescored = rescore_group_inputs(conn, caches, period, group);
    crate::memory::release_free_memory();
    rescored
}

fn rescore_group_inputs(
    conn: &mut PgConnection,
    caches: &Caches,
    period: Uuid,
    group: Uuid,
) -> AppResult<usize> {
    let pg = Period::lock_group(conn, period, group)?
        .ok_or_else(|| AppError::not_found("period group", group))?;
    let entry = set_entry(conn, caches, pg.set_id)?;
    let assessments = Assessment::of_group(conn, period, group)?;
    // The group's best is known once every input is read, but it is almost always the one the
    // stored candidates give: each slice is scored against that while the next is read, and
    // scored again only when the inputs' best turns out to be another.
    let presumed = normalised(stored_best(conn, &entry, period, group, None)?);
    // The candidates and the inputs' best are gathered slice by slice too, while the next
    // slice is read; the inputs are kept only for the rare second scoring.
    let relative = entry.set.has_relative_to_best();
    let mut inputs = Vec::with_capacity(if relative { assessments.len() } else { 0 });
    let mut scored = Vec::with_capacity(assessments.len());
    let mut candidates = Vec::new();
    let mut best = Best::default();
    each_slice_of_inputs(conn, &entry, &assessments, |slice, slice_inputs| {
        scored.extend(score_rows(&entry, slice, &slice_inputs, &presumed)?);
        if relative {
            for (a, input) in slice.iter().zip(&slice_inputs) {
                candidates.extend(candidate_rows(&entry, a, input));
                best = with_candidates(&entry, std::mem::take(&mut best), input);
            }
            inputs.extend(slice_inputs);
        }
        Ok(())
    })?;
    if relative && !same_digits(&entry.set, &best, &presumed) {
        // the rows scored against the presumed best go before the right ones are built
        scored.clear();
        scored = score_rows(&entry, &assessments, &inputs, &best)?;
    }
    drop(inputs);
    let mut rows = Vec::with_capacity(assessments.len());
    let mut bases = Vec::new();
    for ((row, basis), a) in scored.into_iter().zip(&assessments) {
        rows.push(row);
        bases.extend(basis.map(|b| (a.id, b)));
    }
    RelativeValue::replace_group(conn, period, group, &candidates)?;
    ScoreRow::upsert_group(conn, period, group, &rows)?;
    if pg.layout.as_deref() != Some(entry.layout.as_str()) {
        Period::set_group_layout(conn, period, group, &entry.layout)?;
    }
    let slot = caches.bases_slot(period, group);
    let mut cached = lock_slot(&slot);
    *cached = None;
    if !bases.is_empty() {
        let refs: Vec<(Uuid, &StoredBasis)> = bases.iter().map(|(id, b)| (*id, b)).collect();
        let (version, _) = store_bases(conn, period, group, &refs)?;
        let entries = bases
            .into_iter()
            .map(|(assessment_id, basis)| BasisEntry {
                assessment_id,
                stamp: Some(version),
                basis,
            })
            .collect();
        *cached = Some(GroupBases::new(version, pg.set_id, entries));
    }
    Ok(rows.len())
}

/// Rescores one assessment after a write. When its candidate values for a group best changed
/// and the best moved, every other unit of the group follows from its stored basis. A copy of
/// the group's rank keys that was current before the write follows it (see [`ranks`]).
pub fn rescore_assessment(
    conn: &mut PgConnection,
    caches: &Caches,
    assessment: &Assessment,
) -> AppResult<Rescored> {
    let (period, group) = (assessment.period_id, assessment.group_id);
    let pg = Period::lock_group(conn, period, group)?
        .ok_or_else(|| AppError::not_found("period group", group))?;
    rescore_in_locked_group(conn, caches, &pg, assessment)
}

/// What [`rescore_assessment`] left of one assessment: its score row as stored, and its
/// overall standing in the group when this server's copy of the group's rank keys followed the
/// write (the standing at commit: the group's lock is held until then). `None` where it is not
/// known without reading (the group was rebuilt; the copy was stale): read it then.
#[derive(Debug, Default)]
pub struct Rescored {
    pub row: Option<ScoreRow>,
    pub standing: Option<Standing>,
}

/// [`rescore_assessment`] by a caller that already holds the lock of the assessment's group,
/// taken as `pg`, and has written none of the group's score rows or bases since (a write of
/// answers: [`lock_for_answers`]). A `pg` of another group (the assessment moved after it
/// was locked) is not used: the assessment's own group is locked.
pub fn rescore_in_locked_group(
    conn: &mut PgConnection,
    caches: &Caches,
    pg: &PeriodGroup,
    assessment: &Assessment,
) -> AppResult<Rescored> {
    let (period, group) = (assessment.period_id, assessment.group_id);
    if (pg.period_id, pg.group_id) != (period, group) {
        return rescore_assessment(conn, caches, assessment);
    }
    let entry = set_entry(conn, caches, pg.set_id)?;
    if pg.layout.as_deref() != Some(entry.layout.as_str()) {
        // written in another layout (or never scored): the stored numbers of the whole group
        // cannot be read or extended, only rebuilt
        rescore_group(conn, caches, period, group)?;
        return Ok(Rescored::default());
    }
    let (row, own, moved, stamp) = rescore_locked(conn, caches, pg, &entry, assessment)?;
    let slot = caches.ranks.get(&(period, group));
    let standing = ranks::follow_write(
        conn,
        slot,
        (period, group),
        (pg.scores_version, stamp),
        &own,
        &moved,
    )?;
    Ok(Rescored {
        row: Some(row),
        standing,
    })
}

/// An assessment under the locks a write of its answers takes, in the lock order (its group,
/// then itself), with the group's row as locked and the period (read, not locked).
pub struct Locked {
    pub assessment: Assessment,
    pub group: PeriodGroup,
    pub period: Period,
}

/// Takes the locks of [`Locked`] in two statements: 404 `NOT_FOUND` without the assessment.
pub fn lock_for_answers(conn: &mut PgConnection, id: Uuid) -> AppResult<Locked> {
    let GroupAndPeriod { group, period } = Period::lock_group_of_assessment(conn, id)?
        .ok_or_else(|| AppError::not_found("assessment", id))?;
    let assessment = Assessment::find_for_update(conn, id)?
        .ok_or_else(|| AppError::not_found("assessment", id))?;
    Ok(Locked {
        assessment,
        group,
        period,
    })
}

/// [`rescore_assessment`] under the group's lock, in the group's current layout: returns the
/// assessment's score row as stored, the rank key of it, the overall keys of the rows that
/// followed a moved best, and the group's score stamp after the write where its last statement
/// read it.
fn rescore_locked(
    conn: &mut PgConnection,
    caches: &Caches,
    pg: &PeriodGroup,
    entry: &SetEntry,
    assessment: &Assessment,
) -> AppResult<(ScoreRow, RankKey, Vec<MovedKey>, StampAfter)> {
    let set = &entry.set;
    let input = unit_inputs(conn, entry, std::slice::from_ref(assessment))?
        .pop()
        .ok_or_else(|| AppError::internal("no input"))?;
    let (period, group) = (assessment.period_id, assessment.group_id);
    let mut best = Best::default();
    let mut moved = false;
    if set.has_relative_to_best() {
        // one pass over the group (the other units' extremes; the group is locked), and this
        // unit's values, stored and new, folded in on either side of the write
        let mine = candidate_rows(entry, assessment, &input);
        let (stored, others) = own_and_others_best(conn, entry, assessment)?;
        best = with_rows(entry, others.clone(), &mine);
        if stored != mine {
            RelativeValue::replace_for(conn, assessment.id, &mine)?;
            moved = best != with_rows(entry, others, &stored);
        }
    }
    let (row, basis) = score_row(
        entry,
        assessment,
        &input,
        &score_unit_numbers(set, &input, &best),
    )?;
    let own = RankKey {
        assessment_id: row.assessment_id,
        ranked: row.ranked,
        key: row.scope_index.first().copied().flatten(),
    };
    ScoreRow::upsert(conn, std::slice::from_ref(&row))?;
    let Some(basis) = basis else {
        return Ok((row, own, Vec::new(), StampAfter::Unread));
    };
    // the bases' statement reads the score stamp the score rows' statement drew; following a
    // moved best draws another
    let (version, scores) = store_bases(conn, period, group, &[(assessment.id, &basis)])?;
    let stamp = if moved {
        StampAfter::Unread
    } else {
        StampAfter::Read(scores)
    };
    // a moved best needs the group's bases (kept from now on); else only a kept copy follows
    let slot = if moved {
        caches.bases_slot(period, group)
    } else {
        match caches.kept_bases_slot(period, group) {
            Some(slot) => slot,
            None => return Ok((row, own, Vec::new(), stamp)),
        }
    };
    let mut cached = lock_slot(&slot);
    if cached.as_ref().is_some_and(|c| c.set_id != pg.set_id) {
        *cached = None;
    }
    if let Some(c) = cached.as_mut() {
        // current before this write: current after it; else it stays stale (its group stamp
        // is not the table's) and is refreshed when a moved best needs it
        if Some(c.version) == pg.bases_version {
            c.version = version;
        }
        c.put(BasisEntry {
            assessment_id: assessment.id,
            stamp: Some(version),
            basis,
        });
    }
    let mut followed = Vec::new();
    if moved {
        match cached.as_mut() {
            Some(c) if c.version != version => c.refresh(conn, period, group, version)?,
            Some(_) => {}
            None => *cached = Some(GroupBases::load(conn, period, group, version, pg.set_id)?),
        }
        if let Some(c) = cached.as_ref() {
            followed = follow_best(conn, entry, (period, group), assessment.id, &best, c)?;
        }
    }
    Ok((row, own, followed, stamp))
}

/// One assessment's overall standing in its group (`None`: it has no score row), from the
/// group's rank keys in memory (see [`ranks`]).
pub fn overall_standing(
    conn: &mut PgConnection,
    caches: &Caches,
    period: Uuid,
    group: Uuid,
    assessment: Uuid,
) -> AppResult<Option<Standing>> {
    let slot = caches.ranks_slot(period, group);
    ranks::with_current(conn, &slot, period, group, |g| g.standing(assessment))
}

/// The overall rank a rounded `index` would have among the ranked units of a group other than
/// `assessment` (a what-if), from the group's rank keys in memory.
pub fn overall_rank_of(
    conn: &mut PgConnection,
    caches: &Caches,
    period: Uuid,
    group: Uuid,
    assessment: Uuid,
    index: Decimal,
) -> AppResult<i32> {
    let slot = caches.ranks_slot(period, group);
    ranks::with_current(conn, &slot, period, group, |g| g.rank_of(index, assessment))
}

/// Re-evaluates every unit of a group but `except` against a moved best, from their bases,
/// and writes their totals and moved scopes as the group's follow row (one row, see
/// [`ScoreRow::write_follows`]); returns each unit's new overall rounded index.
fn follow_best(
    conn: &mut PgConnection,
    entry: &SetEntry,
    (period, group): (Uuid, Uuid),
    except: Uuid,
    best: &Best,
    bases: &GroupBases,
) -> AppResult<Vec<MovedKey>> {
    let set = &entry.set;
    let mains = set.main_indicators();
    let positions = moved_positions(set);
    let one = |e: &BasisEntry| -> AppResult<MovedRow> {
        let (id, stored) = (&e.assessment_id, &e.basis);
        let fresh = rescore_basis(set, &stored.b, best);
        let main_values: Vec<(Decimal, Decimal)> = mains
            .iter()
            .zip(&stored.m)
            .map(|(m, kept)| match fresh.nodes.iter().find(|(i, _)| i == m) {
                Some((_, v)) => Ok((v[1].points, v[1].applicable_max)),
                None => kept.ok_or_else(|| AppError::internal("basis misses a main")),
            })
            .collect::<AppResult<_>>()?;
        let t = totals(fresh.total);
        let rev = fresh.total[1];
        // only the moved scopes: the same function `numbers` uses, so the same digits
        let (points, index) = positions
            .iter()
            .map(|&p| {
                let v = scope_value_at(
                    set,
                    &mains,
                    (rev.points, rev.applicable_max),
                    &main_values,
                    p,
                );
                (v.points, v.index)
            })
            .unzip();
        Ok(MovedRow {
            assessment_id: *id,
            self_points: t.self_points,
            reviewed_points: t.reviewed_points,
            self_index: t.self_index,
            reviewed_index: t.reviewed_index,
            points,
            index,
        })
    };
    // A unit whose basis keeps no value for the best to divide (its relative leaves are not
    // applicable, unanswered, missing evidence or set by a reviewer) scores the same against
    // any best: its stored row is already right. Early in a period that is most units.
    let others: Vec<&BasisEntry> = bases
        .entries
        .iter()
        .filter(|e| e.assessment_id != except && follows_best(&e.basis.b))
        .collect();
    let rows = parallel(&others, |b| one(b))?;
    ScoreRow::write_follows(conn, period, group, &FollowRow::new(&positions, &rows))?;
    // position 0 (overall) is always among the moved
    Ok(rows
        .into_iter()
        .map(|r| MovedKey {
            assessment_id: r.assessment_id,
            key: r.index.first().copied().flatten(),
        })
        .collect())
}

/// Whether a unit's scores can change with the group best: some relative leaf of its basis is
/// scored from a value (in either column).
fn follows_best(basis: &Basis) -> bool {
    basis
        .nodes
        .iter()
        .any(|(_, parts)| parts.iter().any(|p| matches!(p, Part::Value(_))))
}

/// The tables a group rescore rewrites row by row.
const REWRITTEN_TABLES: &str = "assessment_scores, assessment_bases, relative_values";

/// After a rescore that rewrote every row of its groups (a recompute; an import of several
/// units' answers, stored or dry run: rolled-back rows are old versions too), on a connection
/// outside any transaction: vacuums the scoring tables at once instead of when
/// autovacuum next comes by (up to a minute, and only past its threshold). Until then every
/// read of a group, such as counting one unit's rank after each answer write, walks the old
/// version of every row besides the live one: 7.5 ms instead of 2 ms at 3,400 units
/// (docs/architecture.md, "Scores on disk"). Never fails the request: the vacuum is skipped,
/// not waited for, when another one holds a table (`SKIP_LOCKED`), and an error is logged.
pub fn tidy_after_rewrite(conn: &mut PgConnection) {
    use diesel::RunQueryDsl;
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    // VACUUM cannot run inside a transaction; it would also abort the caller's
    let depth = AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth();
    if !matches!(depth, Ok(None)) {
        return;
    }
    if let Err(e) =
        diesel::sql_query(format!("VACUUM (SKIP_LOCKED) {REWRITTEN_TABLES}")).execute(conn)
    {
        tracing::warn!("vacuum after a rescore failed: {e}");
    }
}

/// Rebuilds every score of a period from its inputs.
pub fn recompute_period(
    conn: &mut PgConnection,
    caches: &Caches,
    period: Uuid,
) -> AppResult<usize> {
    let mut n = 0;
    for g in &Period::groups(conn, period)? {
        n += rescore_group(conn, caches, period, g.group_id)?;
    }
    Ok(n)
}

/// Makes sure a group's stored numbers are in the layout of `entry` (its pinned set) before
/// they are read by position. `pin` is the group row the caller already read: when it records
/// another layout, the group is locked and rebuilt from its inputs in a transaction of its own
/// (a savepoint inside the caller's). Readers call this; writers compare under the group lock
/// themselves.
pub fn ensure_layout(
    conn: &mut PgConnection,
    caches: &Caches,
    pin: &PeriodGroup,
    entry: &SetEntry,
) -> AppResult<()> {
    if pin.layout.as_deref() == Some(entry.layout.as_str()) {
        return Ok(());
    }
    let (period, group) = (pin.period_id, pin.group_id);
    diesel::Connection::transaction(conn, |c| {
        let pg = Period::lock_group(c, period, group)?
            .ok_or_else(|| AppError::not_found("period group", group))?;
        if pg.layout.as_deref() != Some(entry.layout.as_str()) {
            tracing::info!(
                "rebuilding the scores of group {group} of period {period}: stored in another layout"
            );
            rescore_group(c, caches, period, group)?;
        }
        Ok(())
    })
}

/// Rebuilds, in the lock order, every group whose stored numbers are in a layout other than
/// the one this build computes (after the migration that records layouts, a change of compile
/// or scope order, or a replica of another version). Returns the assessments rescored.
pub fn repair_layouts(conn: &mut PgConnection, caches: &Caches) -> AppResult<usize> {
    let mut n = 0;
    for pg in Period::groups_with_assessments(conn)? {
        let entry = set_entry(conn, caches, pg.set_id)?;
        if pg.layout.as_deref() != Some(entry.layout.as_str()) {
            n += rescore_group(conn, caches, pg.period_id, pg.group_id)?;
        }
    }
    Ok(n)
}

/// Scores every group that has assessments without a score row (after the layout migration,
/// or anything else that lost rows). Returns the number of assessments rescored.
pub fn repair_missing(conn: &mut PgConnection, caches: &Caches) -> AppResult<usize> {
    let mut n = 0;
    let mut groups = ScoreRow::unscored_groups(conn)?;
    groups.sort(); // the lock order
    for (period, group) in groups {
        n += rescore_group(conn, caches, period, group)?;
    }
    Ok(n)
}
