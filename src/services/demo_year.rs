//! The demo year: a past period already published on Lào Cai's old sets (QĐ 2644, version 1 of
//! the `LC-DTI-*` families) and a current period open for self-assessment on the new ones
//! (QĐ 3019, version 2), so that a demo start shows public rankings, scores, bands and the
//! workflow at once.
//!
//! Everything goes through the service functions the API calls, acting as the demo accounts:
//! editors answer, leaders submit, a reviewer returns a form, asks in a clarification and
//! adjusts a component, the office excludes one unit from the ranking and finalises a unit that
//! never submitted as entered, reviewers finalise, the office publishes every group. Scores,
//! ranks, bands and the public snapshots are therefore exactly what the API computes.
//!
//! Values are deterministic: each unit's answers follow from a fixed seed and its code (integer
//! arithmetic only), spread so that every band and a tie show. Only the current period's
//! calendar follows the clock (its self-assessment runs from two weeks before the load to
//! 45 days after it). Loaded once, in demo mode only (it acts as the demo accounts, which a
//! production database never has): a database holding either period is left alone.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use diesel::{Connection, PgConnection};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Principal;
use crate::db::models::assessments::Assessment;
use crate::db::models::indicator_sets::IndicatorSet;
use crate::db::models::periods::Period;
use crate::db::models::units::Unit;
use crate::db::models::users::User;
use crate::domain::Role;
use crate::domain::indicator_set::{Direction, EvidenceRule, Method};
use crate::domain::precondition::IfMatch;
use crate::domain::workflow::{AssessmentState, BulkAction, FinalisedAs, PeriodPhase};
use crate::error::{AppError, AppResult};
use crate::scoring::CompiledSet;
use crate::services::assessments::{AnswerInput, put_answers};
use crate::services::bulk::{self, BulkInput, BulkItem};
use crate::services::periods::{self, CreatePeriod, GroupPin};
use crate::services::scoring::Caches;
use crate::services::scoring::set_entry;
use crate::services::workflow::{self, AdjustInput, Decision};
use crate::services::{clarifications, publications};

/// The past period: data year 2022 on QĐ 2644, published.
pub const PAST_PERIOD: &str = "DTI-2022";
/// The current period: data year 2023 on QĐ 3019, open for self-assessment.
pub const CURRENT_PERIOD: &str = "DTI-2023";
/// The unit whose leader never submits the past year's form: the office finalises what it
/// entered, recorded as not submitted.
pub const LATE_UNIT: &str = "XA-TRAN-YEN";
/// The unit the office excludes from the past year's ranking (listed, not ranked).
pub const EXCLUDED_UNIT: &str = "LDLD";
/// Two party bodies with the same answers in the past year: a tie.
pub const TIED_UNITS: [&str; 2] = ["BNCTU", "DUUBND"];
/// The past year's clarification thread.
pub const CLARIFIED_UNIT: &str = "SKHCN";
/// The past year's reviewer adjustment.
pub const ADJUSTED_UNIT: &str = "PHUONG-SA-PA";
/// The past year's form returned once and submitted again.
pub const RETURNED_UNIT: &str = "STP";
/// Untouched in the current year: the README's walk-through follows its form.
pub const WALKTHROUGH_UNIT: &str = "XA-BAC-HA";
/// Submitted by its leader in the current year (waiting for the review phase).
pub const CURRENT_SUBMITTED_UNIT: &str = "SKHCN";

/// Every unit's answers follow from this seed and the unit's code.
const SEED: u64 = 0x4454_495f_4c43_2022;

/// The ranking groups of both periods and the set family each is assessed with.
const GROUPS: [(&str, &str); 4] = [
    ("LC-SO", "LC-DTI-SO"),
    ("LC-XA", "LC-DTI-XA"),
    ("LC-DANG", "LC-DTI-DANG"),
    ("LC-MTTQ", "LC-DTI-MTTQ"),
];

/// What a load did.
#[derive(Debug, Default)]
pub struct DemoYearReport {
    pub periods: usize,
    pub assessments: usize,
    pub publications: usize,
}

impl std::fmt::Display for DemoYearReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.periods == 0 {
            return write!(f, "demo year already present");
        }
        write!(
            f,
            "{} periods ({PAST_PERIOD} published, {CURRENT_PERIOD} in self-assessment), {} assessments, {} publications",
            self.periods, self.assessments, self.publications
        )
    }
}

/// Loads the demo year in one transaction, unless either period exists. Needs the demo
/// accounts of `seeds/users.json` (load the seeds in demo mode first).
pub fn load(conn: &mut PgConnection, caches: &Caches) -> AppResult<DemoYearReport> {
    if Period::find_by_code(conn, PAST_PERIOD)?.is_some()
        || Period::find_by_code(conn, CURRENT_PERIOD)?.is_some()
    {
        return Ok(DemoYearReport::default());
    }
    conn.transaction(|c| {
        let mut report = DemoYearReport::default();
        past_year(c, caches, &mut report)?;
        current_year(c, caches, &mut report, Utc::now())?;
        Ok(report)
    })
}

/// A small deterministic generator (splitmix64), keyed by a unit code.
struct Rng(u64);

impl Rng {
    fn new(key: &str) -> Rng {
        // FNV-1a of the key, mixed with the seed
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ SEED;
        for b in key.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Rng(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A demo account as the principal the API would build from its token.
fn account(c: &mut PgConnection, username: &str) -> AppResult<Principal> {
    let u = User::find_by_username(c, username)?.ok_or_else(|| {
        AppError::internal(format!(
            "the demo year needs the demo account {username}: load the seeds in demo mode first"
        ))
    })?;
    let role = Role::parse(&u.role)
        .ok_or_else(|| AppError::internal(format!("account {username} has role {}", u.role)))?;
    Ok(Principal {
        caller: crate::auth::Caller::Account(u.id),
        username: u.username,
        role,
        unit_id: u.unit_id,
        period_scope: None,
    })
}

fn unit_account(c: &mut PgConnection, role: &str, unit: &str) -> AppResult<Principal> {
    account(c, &format!("{role}.{}", unit.to_lowercase()))
}

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    let date = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    Utc.from_utc_datetime(&date.and_hms_opt(h, 0, 0).unwrap_or_default())
}

fn create_period(
    c: &mut PgConnection,
    caches: &Caches,
    admin: &Principal,
    code: &str,
    data_year: i32,
    set_version: i32,
    calendar: Vec<periods::CalendarEntry>,
) -> AppResult<Period> {
    let mut groups = Vec::new();
    for (group, family) in GROUPS {
        let set = IndicatorSet::find_by_code_version(c, family, set_version)?.ok_or_else(|| {
            AppError::internal(format!(
                "the demo year needs the seed set {family} v{set_version}"
            ))
        })?;
        groups.push(GroupPin {
            group: group.into(),
            indicator_set: set.id,
        });
    }
    let period = periods::create(
        c,
        admin,
        CreatePeriod {
            code: code.into(),
            name: format!("Đánh giá mức độ chuyển đổi số năm {data_year}"),
            data_year,
            groups,
            calendar,
        },
    )?;
    periods::transition(
        c,
        caches,
        admin,
        period.id,
        PeriodPhase::SelfAssessment,
        Some(format!("Mở kỳ tự đánh giá năm {data_year}")),
    )
}

/// The period's assessments with their unit codes, in unit-code order.
fn assessments(c: &mut PgConnection, period: Uuid) -> AppResult<Vec<(String, Assessment)>> {
    let all = Assessment::of_period(c, period, None)?;
    let codes: BTreeMap<Uuid, String> =
        Unit::find_many(c, &all.iter().map(|a| a.unit_id).collect::<Vec<_>>())?
            .into_iter()
            .map(|u| (u.id, u.code))
            .collect();
    let mut out: Vec<(String, Assessment)> = all
        .into_iter()
        .filter_map(|a| codes.get(&a.unit_id).map(|code| (code.clone(), a)))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Each unit's maturity in per mille: the units of a group spread evenly from 220 to 950 in
/// an order fixed by the seed, so that every band shows; the tied units share one.
fn maturities(units: &[(String, Assessment)]) -> BTreeMap<String, u64> {
    let mut by_group: BTreeMap<Uuid, Vec<&str>> = BTreeMap::new();
    for (code, a) in units {
        if code != TIED_UNITS[1] {
            by_group.entry(a.group_id).or_default().push(code);
        }
    }
    let mut out = BTreeMap::new();
    for codes in by_group.values_mut() {
        codes.sort_by_key(|code| Rng::new(code).next());
        let n = codes.len().max(2) as u64 - 1;
        for (i, code) in codes.iter().enumerate() {
            out.insert(code.to_string(), 220 + 730 * i as u64 / n);
        }
    }
    if let Some(m) = out.get(TIED_UNITS[0]).copied() {
        out.insert(TIED_UNITS[1].to_string(), m);
    }
    out
}

fn integer(d: Decimal) -> u64 {
    d.ceil().to_u64().unwrap_or(0)
}

/// One plausible answer to a leaf for a unit of maturity `m` (per mille), or `None` for a
/// leaf that is not answered with inputs.
fn answer_value(method: &Method, max_points: Decimal, m: u64, rng: &mut Rng) -> Value {
    // this component's quality: the unit's maturity ± 12 %
    let q = (m + rng.below(241)).saturating_sub(120).min(1000);
    let lower = |d: &Direction| matches!(d, Direction::LowerIsBetter);
    match method {
        Method::Ratio { direction, .. } => {
            let d = 10 + rng.below(190);
            let good = d * q / 1000;
            let a = if lower(direction) { d - good } else { good };
            json!({"numerator": a, "denominator": d})
        }
        Method::RatioToTarget {
            target, direction, ..
        } => {
            let t = integer(*target * Decimal::from(1000)).min(1000);
            let d = 100 + rng.below(400);
            let share = if lower(direction) {
                (1000 - q) / 2
            } else {
                (q * t * 11 / 10 / 1000).min(1000)
            };
            json!({"numerator": d * share / 1000, "denominator": d})
        }
        Method::Survey { .. } => {
            let n = 30 + rng.below(300);
            json!({"satisfied": n * q / 1000, "respondents": n})
        }
        Method::Tiers { bands, direction } => {
            let top = bands
                .iter()
                .map(|b| integer(b.threshold))
                .max()
                .unwrap_or(1);
            let v = if lower(direction) {
                top * (1000 - q) / 1000
            } else {
                top * q * 11 / 10 / 1000
            };
            json!({ "value": v })
        }
        Method::Boolean { direction } => {
            let yes = rng.below(1000) < q;
            json!({ "value": yes != lower(direction) })
        }
        Method::Choice { options } => {
            let mut order: Vec<usize> = (0..options.len()).collect();
            order.sort_by(|a, b| options[*b].points.cmp(&options[*a].points));
            let k = match q {
                700.. => 0,
                400..700 => 1,
                _ => order.len().saturating_sub(1),
            };
            let pick = order.get(k.min(order.len().saturating_sub(1))).copied();
            json!({"option": pick.map(|i| options[i].code.clone())})
        }
        Method::CappedSum { items } => {
            let mut out = serde_json::Map::new();
            for item in items {
                let most = match item.cap {
                    Some(cap) if !item.points_per_unit.is_zero() => {
                        integer(cap / item.points_per_unit)
                    }
                    _ => 3,
                };
                out.insert(item.code.clone(), json!((most * q + 500) / 1000));
            }
            json!({ "items": out })
        }
        Method::RelativeToBest { .. } => json!({"value": 20 + q / 10}),
        Method::Manual => {
            let points = (max_points * Decimal::from(q) / Decimal::from(1000)).round_dp(2);
            json!({"points": points.normalize().to_string()})
        }
    }
}

/// The unit's answers to every scored leaf of the set (the unit's own, then the automatic
/// ones), in document order.
fn answers(
    set: &CompiledSet,
    unit_name: &str,
    m: u64,
    rng: &mut Rng,
) -> (Vec<AnswerInput>, Vec<AnswerInput>) {
    let (mut own, mut automatic) = (Vec::new(), Vec::new());
    for n in &set.nodes {
        let Some(method) = n.method.as_ref().filter(|_| n.is_leaf()) else {
            continue;
        };
        let inputs = answer_value(method, n.max_points, m, rng);
        let explanation = (n.evidence == EvidenceRule::Required).then(|| {
            format!(
                "Tài liệu kiểm chứng lưu tại văn phòng {unit_name}; bản chụp gửi kèm hồ sơ giấy."
            )
        });
        let answer = AnswerInput {
            node_code: n.code.clone(),
            inputs: Some(inputs),
            not_applicable: false,
            note: None,
            explanation,
            expected: IfMatch::Any,
        };
        if n.automatic {
            automatic.push(answer);
        } else {
            own.push(answer);
        }
    }
    (own, automatic)
}

fn unit_names(
    c: &mut PgConnection,
    units: &[(String, Assessment)],
) -> AppResult<BTreeMap<Uuid, String>> {
    Ok(
        Unit::find_many(c, &units.iter().map(|(_, a)| a.unit_id).collect::<Vec<_>>())?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect(),
    )
}

fn past_year(c: &mut PgConnection, caches: &Caches, report: &mut DemoYearReport) -> AppResult<()> {
    let admin = account(c, "admin")?;
    let reviewer = account(c, "reviewer.01")?;
    let reviewer2 = account(c, "reviewer.02")?;
    // assessed from January to April 2023; results approved on 11/04/2023 (QĐ 791/QĐ-UBND)
    let calendar = vec![
        (
            "self_assessment".into(),
            at(2023, 1, 9, 1),
            Some(at(2023, 2, 28, 10)),
        ),
        ("review".into(), at(2023, 3, 1, 1), Some(at(2023, 4, 7, 10))),
        ("published".into(), at(2023, 4, 11, 1), None),
    ];
    let period = create_period(c, caches, &admin, PAST_PERIOD, 2022, 1, calendar)?;
    let units = assessments(c, period.id)?;
    let names = unit_names(c, &units)?;
    let maturity = maturities(&units);
    report.periods += 1;
    report.assessments += units.len();

    // self-assessment: every unit answers, the platform's measurements arrive, leaders submit
    let mut entered: BTreeMap<String, Vec<AnswerInput>> = BTreeMap::new();
    for (code, a) in &units {
        let entry = set_entry(c, caches, a.set_id)?;
        let key = if code == TIED_UNITS[1] {
            TIED_UNITS[0]
        } else {
            code
        };
        let mut rng = Rng::new(key);
        let name = names.get(&a.unit_id).cloned().unwrap_or_default();
        let (mut own, automatic) = answers(&entry.set, &name, maturity[code], &mut rng);
        if code == LATE_UNIT {
            // the late unit got half-way and its leader never confirmed
            own.truncate(own.len() / 2);
        }
        let editor = unit_account(c, "editor", code)?;
        put_answers(
            c,
            caches,
            &editor,
            a.id,
            own.iter().map(copy).collect(),
            true,
        )?;
        if !automatic.is_empty() {
            put_answers(c, caches, &admin, a.id, automatic, true)?;
        }
        if code != LATE_UNIT {
            let leader = unit_account(c, "leader", code)?;
            workflow::submit(c, caches, &leader, a.id)?;
        }
        entered.insert(code.clone(), own);
    }
    let id_of = |code: &str| -> AppResult<Uuid> {
        units
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, a)| a.id)
            .ok_or_else(|| AppError::internal(format!("demo unit {code} is not assessed")))
    };
    periods::transition(
        c,
        caches,
        &admin,
        period.id,
        PeriodPhase::Review,
        Some("Hết hạn tự đánh giá; chuyển sang thẩm định".into()),
    )?;

    // review: one form goes back and returns, one clarification, one adjustment
    let returned = id_of(RETURNED_UNIT)?;
    let evidence_leaf = |code: &str| -> AppResult<String> {
        entered
            .get(code)
            .and_then(|own| own.iter().find(|x| x.explanation.is_some()))
            .map(|x| x.node_code.clone())
            .ok_or_else(|| AppError::internal(format!("demo unit {code} has no evidence leaf")))
    };
    let node = evidence_leaf(RETURNED_UNIT)?;
    workflow::return_to_unit(
        c,
        caches,
        &reviewer,
        returned,
        &format!(
            "Chỉ số {node}: giải trình chưa nêu số, ngày của văn bản kiểm chứng; đề nghị bổ sung."
        ),
    )?;
    let mut fixed = entered[RETURNED_UNIT]
        .iter()
        .find(|x| x.node_code == node)
        .map(copy)
        .ok_or_else(|| AppError::internal("returned leaf"))?;
    fixed.explanation = Some(format!(
        "Kế hoạch số 45/KH-{RETURNED_UNIT} ngày 10/3/2022; bản chụp gửi kèm hồ sơ giấy."
    ));
    let (editor, leader) = (
        unit_account(c, "editor", RETURNED_UNIT)?,
        unit_account(c, "leader", RETURNED_UNIT)?,
    );
    put_answers(c, caches, &editor, returned, vec![fixed], false)?;
    workflow::submit(c, caches, &leader, returned)?;

    let clarified = id_of(CLARIFIED_UNIT)?;
    let node = evidence_leaf(CLARIFIED_UNIT)?;
    let (thread, _, _) = clarifications::open(
        c,
        caches,
        &reviewer,
        clarified,
        &node,
        &format!("Đề nghị đơn vị cho biết số, ngày của văn bản kiểm chứng chỉ số {node}."),
    )?;
    let editor = unit_account(c, "editor", CLARIFIED_UNIT)?;
    clarifications::reply(
        c,
        &editor,
        thread.id,
        "Quyết định số 125/QĐ-SKHCN ngày 15/3/2022; bản chụp đã gửi qua hệ thống quản lý văn bản.",
    )?;
    clarifications::close(c, &reviewer, thread.id)?;

    let adjusted = id_of(ADJUSTED_UNIT)?;
    let set = units
        .iter()
        .find(|(code, _)| code == ADJUSTED_UNIT)
        .map(|(_, a)| a.set_id)
        .ok_or_else(|| AppError::internal("adjusted unit"))?;
    let entry = set_entry(c, caches, set)?;
    let (node, numerator, denominator) = entered[ADJUSTED_UNIT]
        .iter()
        .filter(|x| {
            entry.set.index_of(&x.node_code).is_some_and(|i| {
                matches!(
                    entry.set.nodes[i].method,
                    Some(Method::Ratio {
                        direction: Direction::HigherIsBetter,
                        ..
                    })
                )
            })
        })
        .find_map(|x| {
            let v = x.inputs.as_ref()?;
            let (a, b) = (v["numerator"].as_u64()?, v["denominator"].as_u64()?);
            (a >= 4).then(|| (x.node_code.clone(), a, b))
        })
        .ok_or_else(|| AppError::internal("no ratio answer to adjust"))?;
    let corrected = numerator * 3 / 4;
    workflow::adjust(
        c,
        caches,
        &reviewer2,
        adjusted,
        AdjustInput {
            node_code: node.clone(),
            inputs: Some(json!({"numerator": corrected, "denominator": denominator})),
            points: None,
            not_applicable: None,
            reason: format!(
                "Đối chiếu số liệu của Sở Thông tin và Truyền thông: {corrected}/{denominator}, không phải {numerator}/{denominator} như đơn vị kê khai."
            ),
        },
    )?;

    // the office: one unit excluded from the ranking, the late one finalised as entered
    workflow::exclude_from_ranking(
        c,
        caches,
        &admin,
        id_of(EXCLUDED_UNIT)?,
        "Số liệu tự đánh giá đang được xác minh theo đề nghị của Hội đồng thẩm định; đơn vị không được xếp hạng năm nay.",
    )?;
    workflow::decide(c, caches, &admin,
        id_of(LATE_UNIT)?,
        Decision::FinaliseNotSubmitted {
            finalised_as: FinalisedAs::AsEntered,
            reason: "Quá hạn, lãnh đạo đơn vị không xác nhận và gửi phiếu tự đánh giá; công nhận số liệu đơn vị đã nhập.".into(),
        },
    )?;
    // reviewers finalise every submitted form at once
    let submitted: Vec<BulkItem> = assessments(c, period.id)?
        .into_iter()
        .filter(|(_, a)| a.state == AssessmentState::Submitted)
        .map(|(_, a)| BulkItem {
            assessment_id: a.id,
            reason: None,
        })
        .collect();
    bulk::run(
        c,
        caches,
        &reviewer,
        period.id,
        BulkInput {
            action: BulkAction::Finalise,
            items: submitted,
            reason: None,
            deadline: None,
            all_or_nothing: true,
        },
    )?;
    for (group, _) in GROUPS {
        publications::publish(
            c,
            caches,
            &admin,
            period.id,
            group,
            Some(at(2023, 4, 11, 3)),
            None,
        )?;
        report.publications += 1;
    }
    periods::transition(
        c,
        caches,
        &admin,
        period.id,
        PeriodPhase::Published,
        Some("Công bố kết quả theo Quyết định số 791/QĐ-UBND ngày 11/4/2023".into()),
    )?;
    Ok(())
}

fn current_year(
    c: &mut PgConnection,
    caches: &Caches,
    report: &mut DemoYearReport,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let admin = account(c, "admin")?;
    let today = Utc.from_utc_datetime(&now.date_naive().and_hms_opt(1, 0, 0).unwrap_or_default());
    let closes = today + Duration::days(45) + Duration::hours(9);
    let calendar = vec![
        (
            "self_assessment".into(),
            today - Duration::days(14),
            Some(closes),
        ),
        (
            "review".into(),
            today + Duration::days(46),
            Some(today + Duration::days(76)),
        ),
    ];
    let period = create_period(c, caches, &admin, CURRENT_PERIOD, 2023, 2, calendar)?;
    let units = assessments(c, period.id)?;
    let names = unit_names(c, &units)?;
    let maturity = maturities(&units);
    report.periods += 1;
    report.assessments += units.len();
    // a third of the units have started; one has submitted; the walk-through's is untouched
    for (code, a) in &units {
        let mut rng = Rng::new(&format!("{code}/{CURRENT_PERIOD}"));
        let started = code == CURRENT_SUBMITTED_UNIT || rng.below(3) == 0;
        if code == WALKTHROUGH_UNIT || !started {
            continue;
        }
        let entry = set_entry(c, caches, a.set_id)?;
        let name = names.get(&a.unit_id).cloned().unwrap_or_default();
        let (mut own, _) = answers(&entry.set, &name, maturity[code], &mut rng);
        let editor = unit_account(c, "editor", code)?;
        if code == CURRENT_SUBMITTED_UNIT {
            put_answers(c, caches, &editor, a.id, own, true)?;
            let leader = unit_account(c, "leader", code)?;
            workflow::submit(c, caches, &leader, a.id)?;
        } else {
            own.truncate(own.len() * 3 / 5);
            put_answers(c, caches, &editor, a.id, own, true)?;
        }
    }
    Ok(())
}

fn copy(a: &AnswerInput) -> AnswerInput {
    AnswerInput {
        node_code: a.node_code.clone(),
        inputs: a.inputs.clone(),
        not_applicable: a.not_applicable,
        note: a.note.clone(),
        explanation: a.explanation.clone(),
        expected: a.expected.clone(),
    }
}
