//! Per-method leaf points and the aggregation arithmetic (docs/scoring.md).
//!
//! Owns: the formula of every [`Method`] ([`evaluate`]), the clamp-and-round of a leaf
//! ([`settle`]), the capped sum of an inner node ([`aggregate`]) and the root's bonus/penalty
//! clamp ([`total`]). Exact decimals throughout; the only rounding is `points_precision` on leaf
//! points (half away from zero). Imports only `std`, `crate::domain`, `rust_decimal` and the
//! sibling [`super::input`].
//!
//! `M` = the leaf's `max_points`; every formula's raw result is then clamped to `[0, M]`.
//!
//! | method | formula | worked example |
//! |---|---|---|
//! | `ratio` | `M × a / b` | M = 20, a = 3, b = 4 → 15 |
//! | `ratio` lower-is-better | `M × (b − a) / b` | M = 20, 1 overdue of 4 → 15 |
//! | `ratio_to_target` | `M × min(1, (a/b) / t)` | M = 10, t = 0.8, 60/100 → 7.5; 92/100 → 10 |
//! | `ratio_to_target` lower | `M` if `a/b ≤ t`, else `M × (1 − a/b) / (1 − t)` | M = 10, t = 0.1, 20/100 → 10 × 0.8/0.9 = 8.888… |
//! | `tiers` | points of the highest band with `value ≥ threshold` | 1→5, 2→10, 3→15, 4→20; 3 → 15 |
//! | `tiers` lower | points of the lowest-threshold band with `value ≤ threshold` | 0→20, 2→10, 5→5; 1 → 10 |
//! | `boolean` | yes → `M` (lower: no → `M`), else 0 | M = 10, yes → 10 |
//! | `choice` | the option's points | deputy → 5 |
//! | `capped_sum` | `min(M, Σ min(cap, value × per_unit))` | 7 apps × 1, M = 5 → 5 |
//! | `relative_to_best` | `M × value / best` (best = group max; best = 0 → 0) | M = 40, 4 vs best 10 → 16 |
//! | `relative_to_best` lower | `M × best / value` (best = group min; value = 0 → M) | M = 40, 20 vs best 10 → 20 |
//! | `survey` | `M × satisfied / respondents` | M = 20, 820/1000 → 16.4 |
//! | `manual` | the points entered | 12.5 → 12.5 |
//!
//! Zero denominators (`ratio`, `ratio_to_target`, `survey`): `zero` → 0, `full` → M,
//! `not_applicable` → removed from points and max; `reject` never reaches scoring (refused at
//! write time) and scores 0 if an old answer has it.

use rust_decimal::{Decimal, RoundingStrategy};

use super::input::{Input, zero_rule_name};
use crate::domain::indicator_set::{Band, Direction, Method, ZeroDenominator};

/// What a method makes of an input, before clamping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluation {
    /// Raw points (not yet clamped to `[0, M]` nor rounded) and the formula with numbers.
    Points { raw: Decimal, rule: String },
    /// The leaf does not apply (zero denominator under `not_applicable`).
    NotApplicable { rule: String },
    /// The stored input does not fit the method (e.g. the set version changed): 0 points.
    Mismatch { rule: String },
}

/// A decimal for a rule text: trailing zeros removed (`15.00` → `15`).
pub fn fmt_dec(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Whether an evaluation writes out its rule text. Only a trace (an explained score) shows it;
/// stored scores never read it, and formatting three or four decimals per leaf and column was
/// the largest single cost of scoring a group (every rescore, every moved best).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Texts {
    Written,
    Skipped,
}

impl Texts {
    /// Written for a trace, skipped otherwise.
    pub fn of(trace: bool) -> Texts {
        if trace {
            Texts::Written
        } else {
            Texts::Skipped
        }
    }

    /// `f()` when written, else an empty string (which does not allocate).
    pub fn write(self, f: impl FnOnce() -> String) -> String {
        match self {
            Texts::Written => f(),
            Texts::Skipped => String::new(),
        }
    }
}

/// `a × b`, saturating (all operands here are non-negative).
fn mul(a: Decimal, b: Decimal) -> Decimal {
    a.checked_mul(b).unwrap_or(Decimal::MAX)
}

/// `a ÷ b` for `b > 0`, saturating.
fn div(a: Decimal, b: Decimal) -> Decimal {
    a.checked_div(b).unwrap_or(Decimal::MAX)
}

/// `M × a / b`, multiplying first so that exact quotients stay exact (20 × 1/3 is
/// 6.666…67, not 20 × 0.333…3 = 6.666…60).
pub fn scale_fraction(m: Decimal, a: Decimal, b: Decimal) -> Decimal {
    match m.checked_mul(a) {
        Some(p) => div(p, b),
        None => mul(m, div(a, b)),
    }
}

fn zero_denominator(z: ZeroDenominator, m: Decimal, what: &str, texts: Texts) -> Evaluation {
    let rule = || format!("{what} = 0 → zero_denominator: {}", zero_rule_name(z));
    match z {
        ZeroDenominator::NotApplicable => Evaluation::NotApplicable {
            rule: texts.write(rule),
        },
        ZeroDenominator::Full => Evaluation::Points {
            raw: m,
            rule: texts.write(|| format!("{} → {}", rule(), fmt_dec(m))),
        },
        ZeroDenominator::Zero | ZeroDenominator::Reject => Evaluation::Points {
            raw: Decimal::ZERO,
            rule: texts.write(|| format!("{} → 0", rule())),
        },
    }
}

fn mismatch(method: &Method, texts: Texts) -> Evaluation {
    Evaluation::Mismatch {
        rule: texts.write(|| format!("input does not fit method {} → 0", method.name())),
    }
}

/// Ratio: `S = M × a / b` (lower-is-better `M × (b − a) / b`).
///
/// Example: M = 20, a = 3 chaired of b = 4 meetings → `20 × 3/4` = 15.
pub fn ratio(
    m: Decimal,
    a: Decimal,
    b: Decimal,
    d: Direction,
    z: ZeroDenominator,
    texts: Texts,
) -> Evaluation {
    if b.is_zero() {
        return zero_denominator(z, m, "denominator", texts);
    }
    // the texts are formatted only when written (see `Texts`)
    match d {
        Direction::HigherIsBetter => Evaluation::Points {
            raw: scale_fraction(m, a, b),
            rule: texts.write(|| format!("{} × {}/{}", fmt_dec(m), fmt_dec(a), fmt_dec(b))),
        },
        Direction::LowerIsBetter => Evaluation::Points {
            raw: scale_fraction(m, b - a, b),
            rule: texts.write(|| format!("{} × (1 − {}/{})", fmt_dec(m), fmt_dec(a), fmt_dec(b))),
        },
    }
}

/// Ratio against a target `t`: `S = M × min(1, (a/b) / t)`, computed as `M × a / (b × t)`
/// when `a < t × b`. Lower-is-better: `M` when `a/b ≤ t`, else `M × (b − a) / (b × (1 − t))`.
/// A target ≤ 0 (invalid) counts as always reached, and so does `t = 1` when lower is better.
///
/// Example: M = 10, t = 0.8: 60 of 100 online → `10 × min(1, (60/100)/0.8)` = 7.5; 92 → 10.
pub fn ratio_to_target(
    m: Decimal,
    a: Decimal,
    b: Decimal,
    t: Decimal,
    d: Direction,
    z: ZeroDenominator,
    texts: Texts,
) -> Evaluation {
    if b.is_zero() {
        return zero_denominator(z, m, "denominator", texts);
    }
    let strings = || (fmt_dec(m), fmt_dec(a), fmt_dec(b), fmt_dec(t));
    let reached_at = mul(t, b); // a/b ≥ t  ⇔  a ≥ t × b
    match d {
        Direction::HigherIsBetter => {
            let raw = if t <= Decimal::ZERO || a >= reached_at {
                m
            } else {
                scale_fraction(m, a, reached_at)
            };
            Evaluation::Points {
                raw,
                rule: texts.write(|| {
                    let (m_s, a_s, b_s, t_s) = strings();
                    format!("{m_s} × min(1, ({a_s}/{b_s})/{t_s})")
                }),
            }
        }
        Direction::LowerIsBetter => {
            let raw = if t <= Decimal::ZERO || t >= Decimal::ONE || a <= reached_at {
                m
            } else {
                scale_fraction(m, b - a, mul(b, Decimal::ONE - t))
            };
            Evaluation::Points {
                raw,
                rule: texts.write(|| {
                    let (m_s, a_s, b_s, t_s) = strings();
                    format!("{a_s}/{b_s} ≤ {t_s} ? {m_s} : {m_s} × (1 − {a_s}/{b_s})/(1 − {t_s})")
                }),
            }
        }
    }
}

/// Tiers: bands sorted ascending by threshold (stable). Higher-is-better: the points of the
/// highest band with `value ≥ threshold`; lower-is-better: the points of the lowest-threshold
/// band with `value ≤ threshold`; none → 0.
///
/// Example: bands 1→5, 2→10, 3→15, 4→20; 3 meetings → 15, 7 → 20, 0 → 0. Lower-is-better
/// bands 0→20, 2→10, 5→5: 1 incident → 10, 6 → 0.
pub fn tiers(value: Decimal, bands: &[Band], d: Direction, texts: Texts) -> Evaluation {
    let mut sorted: Vec<&Band> = bands.iter().collect();
    sorted.sort_by_key(|b| b.threshold);
    let v = || fmt_dec(value);
    let hit = match d {
        Direction::HigherIsBetter => sorted.iter().rev().find(|b| value >= b.threshold),
        Direction::LowerIsBetter => sorted.iter().find(|b| value <= b.threshold),
    };
    match hit {
        Some(b) => Evaluation::Points {
            raw: b.points,
            rule: texts.write(|| {
                format!(
                    "{} {} {} → {}",
                    v(),
                    if d == Direction::HigherIsBetter {
                        "≥"
                    } else {
                        "≤"
                    },
                    fmt_dec(b.threshold),
                    fmt_dec(b.points)
                )
            }),
        },
        None => Evaluation::Points {
            raw: Decimal::ZERO,
            rule: texts.write(|| format!("{}: no band satisfied → 0", v())),
        },
    }
}

/// Relative to the group's best: `M × value / best` with best the largest value
/// (best = 0 → 0: nobody has anything); lower-is-better `M × best / value` with best the
/// smallest value (value = 0 → M). `best = None` (no unit in the group has an applicable
/// answer, e.g. a what-if alone) counts the unit as its own best.
///
/// Example: M = 40, 4 Mbps vs best 10 Mbps → `40 × 4/10` = 16; lower-is-better, 20 days vs
/// best 10 days → `40 × 10/20` = 20.
pub fn relative_to_best(
    m: Decimal,
    value: Decimal,
    best: Option<Decimal>,
    d: Direction,
    texts: Texts,
) -> Evaluation {
    let best = best.unwrap_or(value);
    // the texts are formatted only when written (see `Texts`)
    let (m_s, v_s, b_s) = (|| fmt_dec(m), || fmt_dec(value), || fmt_dec(best));
    match d {
        Direction::HigherIsBetter if best.is_zero() => Evaluation::Points {
            raw: Decimal::ZERO,
            rule: texts.write(|| "best of group = 0 → 0".to_string()),
        },
        Direction::HigherIsBetter => Evaluation::Points {
            raw: scale_fraction(m, value, best),
            rule: texts
                .write(|| format!("{} × {}/{b} (best of group {b})", m_s(), v_s(), b = b_s())),
        },
        Direction::LowerIsBetter if value.is_zero() => Evaluation::Points {
            raw: m,
            rule: texts.write(|| format!("value 0 → {} (best of group {})", m_s(), b_s())),
        },
        Direction::LowerIsBetter => Evaluation::Points {
            raw: scale_fraction(m, best, value),
            rule: texts
                .write(|| format!("{} × {b}/{} (best of group {b})", m_s(), v_s(), b = b_s())),
        },
    }
}

/// Points of one leaf's input under its method, before clamping; `best` is the group's best
/// value of the same column (only read by `relative_to_best`). The rule text is written only
/// when `texts` asks for it.
///
/// Example: `evaluate(&Method::Survey{..}, 20, &Input::Survey{820, 1000}, None,
/// Texts::Written)` → `Points { raw: 16.4, rule: "20 × 820/1000" }`.
pub fn evaluate(
    method: &Method,
    m: Decimal,
    input: &Input,
    best: Option<Decimal>,
    texts: Texts,
) -> Evaluation {
    match (method, input) {
        (
            Method::Ratio {
                direction,
                zero_denominator,
            },
            Input::Ratio {
                numerator,
                denominator,
            },
        ) => ratio(
            m,
            *numerator,
            *denominator,
            *direction,
            *zero_denominator,
            texts,
        ),
        (
            Method::RatioToTarget {
                target,
                direction,
                zero_denominator,
            },
            Input::Ratio {
                numerator,
                denominator,
            },
        ) => ratio_to_target(
            m,
            *numerator,
            *denominator,
            *target,
            *direction,
            *zero_denominator,
            texts,
        ),
        (
            Method::Survey { zero_denominator },
            Input::Survey {
                satisfied,
                respondents,
            },
        ) => ratio(
            m,
            *satisfied,
            *respondents,
            Direction::HigherIsBetter,
            *zero_denominator,
            texts,
        ),
        (Method::Tiers { direction, bands }, Input::Value(v)) => {
            tiers(*v, bands, *direction, texts)
        }
        (Method::RelativeToBest { direction }, Input::Value(v)) => {
            relative_to_best(m, *v, best, *direction, texts)
        }
        (Method::Boolean { direction }, Input::Bool(b)) => {
            let earns = *b == (*direction == Direction::HigherIsBetter);
            let raw = if earns { m } else { Decimal::ZERO };
            Evaluation::Points {
                raw,
                rule: texts
                    .write(|| format!("{} → {}", if *b { "yes" } else { "no" }, fmt_dec(raw))),
            }
        }
        (Method::Choice { options }, Input::Choice(code)) => {
            match options.iter().find(|o| &o.code == code) {
                Some(o) => Evaluation::Points {
                    raw: o.points,
                    rule: texts
                        .write(|| format!("{} ({}) → {}", o.code, o.label, fmt_dec(o.points))),
                },
                None => mismatch(method, texts),
            }
        }
        (Method::CappedSum { items }, Input::Items(values)) => {
            let mut sum = Decimal::ZERO;
            let mut terms = Vec::new();
            for item in items {
                let Some(v) = values.get(&item.code) else {
                    continue;
                };
                let product = mul(*v, item.points_per_unit);
                let pts = match item.cap {
                    Some(cap) => product.min(cap),
                    None => product,
                };
                sum = sum.checked_add(pts).unwrap_or(Decimal::MAX);
                if texts == Texts::Written {
                    let term = format!("{} × {}", fmt_dec(*v), fmt_dec(item.points_per_unit));
                    terms.push(match item.cap {
                        Some(cap) => format!("min({}, {term})", fmt_dec(cap)),
                        None => term,
                    });
                }
            }
            let body = if terms.is_empty() {
                "0".to_string()
            } else {
                terms.join(" + ")
            };
            Evaluation::Points {
                raw: sum,
                rule: texts.write(|| format!("min({}, {body})", fmt_dec(m))),
            }
        }
        (Method::Manual, Input::Points(p)) => Evaluation::Points {
            raw: *p,
            rule: texts.write(|| format!("entered {}", fmt_dec(*p))),
        },
        _ => mismatch(method, texts),
    }
}

/// Rounds leaf points to `points_precision` decimals, half away from zero.
///
/// Example: precision 2: 6.666…67 → 6.67, 0.125 → 0.13; `None` keeps the exact value.
pub fn round_points(points: Decimal, points_precision: Option<u32>) -> Decimal {
    match points_precision {
        Some(dp) => points.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero),
        None => points,
    }
}

/// A leaf's final points: rounded to `points_precision`, then clamped to `[0, M]`; the flag
/// says whether the clamp changed anything.
///
/// Example: M = 5, raw 7 → (5, true); M = 20, raw 6.666…67 with precision 2 → (6.67, false).
pub fn settle(raw: Decimal, m: Decimal, points_precision: Option<u32>) -> (Decimal, bool) {
    let rounded = round_points(raw, points_precision);
    let clamped = rounded.max(Decimal::ZERO).min(m.max(Decimal::ZERO));
    (clamped, clamped != rounded)
}

/// An inner node's `(points, applicable_max, capped)` from its children's
/// `(points, applicable_max)`: `points = min(max, Σ points)`,
/// `applicable_max = min(max, Σ applicable_max)`.
///
/// With `children_policy = sum` the validator guarantees Σ children max = max, so the `min`
/// never bites and `applicable_max = Σ children applicable_max`; with `cap` the children may
/// promise more than the node gives, so a node whose applicable children still reach its
/// maximum keeps its whole maximum (max 10, children 8 + 8 + 8 with one not applicable →
/// applicable max min(10, 16) = 10; points 8 + 5 = 13 → 10).
///
/// Example (cap): max 10, children (8 of 8, 5 of 8) → (10, 10, true).
pub fn aggregate(
    max: Decimal,
    children: impl IntoIterator<Item = (Decimal, Decimal)>,
) -> (Decimal, Decimal, bool) {
    let (mut sum, mut app) = (Decimal::ZERO, Decimal::ZERO);
    for (p, a) in children {
        sum = sum.checked_add(p).unwrap_or(Decimal::MAX);
        app = app.checked_add(a).unwrap_or(Decimal::MAX);
    }
    let max = max.max(Decimal::ZERO);
    (sum.min(max), app.min(max), sum > max)
}

/// The root: `clamp(Σ regular + Σ bonus − Σ penalty, 0, applicable_max)` where
/// `applicable_max = min(scale, Σ applicable max of the top-level regular nodes)`; bonus and
/// penalty never add to the maximum. Returns `(raw, points, applicable_max, clamped)`.
///
/// Example: scale 100, regular 95 of 100, bonus 10, penalty 2 → raw 103 → 100 (clamped);
/// regular 3, penalty 5 → raw −2 → 0 (clamped).
pub fn total(
    scale: Decimal,
    regular: impl IntoIterator<Item = (Decimal, Decimal)>,
    bonus: Decimal,
    penalty: Decimal,
) -> (Decimal, Decimal, Decimal, bool) {
    let (mut sum, mut app) = (Decimal::ZERO, Decimal::ZERO);
    for (p, a) in regular {
        sum = sum.checked_add(p).unwrap_or(Decimal::MAX);
        app = app.checked_add(a).unwrap_or(Decimal::MAX);
    }
    let app = app.min(scale.max(Decimal::ZERO));
    let raw = sum.saturating_add(bonus).saturating_sub(penalty);
    let points = raw.max(Decimal::ZERO).min(app);
    (raw, points, app, points != raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::indicator_set::{ChoiceOption, SumItem};

    /// The tests read the rule texts.
    const T: Texts = Texts::Written;

    /// A stored score never reads the rule text: skipping it changes no number, and every
    /// method's text is there when a trace asks for it.
    #[test]
    fn skipped_texts_change_no_points() {
        let methods_inputs = [
            (
                Method::Ratio {
                    direction: HI,
                    zero_denominator: ZeroDenominator::Full,
                },
                Input::Ratio {
                    numerator: dec!(3),
                    denominator: dec!(0),
                },
            ),
            (
                Method::RatioToTarget {
                    target: dec!(0.8),
                    direction: LO,
                    zero_denominator: ZeroDenominator::Zero,
                },
                Input::Ratio {
                    numerator: dec!(30),
                    denominator: dec!(100),
                },
            ),
            (
                Method::RelativeToBest { direction: HI },
                Input::Value(dec!(4)),
            ),
            (Method::Boolean { direction: LO }, Input::Bool(false)),
            (Method::Manual, Input::Points(dec!(12.5))),
            (Method::Manual, Input::Bool(true)),
        ];
        for (method, input) in &methods_inputs {
            let written = evaluate(method, dec!(20), input, Some(dec!(10)), T);
            let skipped = evaluate(method, dec!(20), input, Some(dec!(10)), Texts::Skipped);
            let text = |e: &Evaluation| match e {
                Evaluation::Points { rule, .. }
                | Evaluation::NotApplicable { rule }
                | Evaluation::Mismatch { rule } => rule.clone(),
            };
            let strip = |e: &Evaluation| match e {
                Evaluation::Points { raw, .. } => Some(*raw),
                _ => None,
            };
            assert!(!text(&written).is_empty(), "{method:?}");
            assert_eq!(text(&skipped), "", "{method:?}");
            assert_eq!(strip(&written), strip(&skipped), "{method:?}");
            assert_eq!(
                std::mem::discriminant(&written),
                std::mem::discriminant(&skipped)
            );
        }
    }

    const HI: Direction = Direction::HigherIsBetter;
    const LO: Direction = Direction::LowerIsBetter;

    fn pts(e: Evaluation) -> Decimal {
        match e {
            Evaluation::Points { raw, .. } => raw,
            other => panic!("expected points, got {other:?}"),
        }
    }

    fn rule(e: &Evaluation) -> &str {
        match e {
            Evaluation::Points { rule, .. }
            | Evaluation::NotApplicable { rule }
            | Evaluation::Mismatch { rule } => rule,
        }
    }

    #[test]
    fn ratio_three_of_four_meetings_of_twenty_is_fifteen() {
        let e = ratio(dec!(20), dec!(3), dec!(4), HI, ZeroDenominator::Reject, T);
        assert_eq!(rule(&e), "20 × 3/4");
        assert_eq!(pts(e), dec!(15));
        // Lower is better: 1 overdue of 4 → 20 × (1 − 1/4) = 15.
        assert_eq!(
            pts(ratio(
                dec!(20),
                dec!(1),
                dec!(4),
                LO,
                ZeroDenominator::Reject,
                T
            )),
            dec!(15)
        );
        assert_eq!(
            pts(ratio(
                dec!(20),
                dec!(0),
                dec!(4),
                LO,
                ZeroDenominator::Reject,
                T
            )),
            dec!(20)
        );
        // Multiply first: exact thirds stay as close as decimals allow.
        assert_eq!(
            pts(ratio(
                dec!(20),
                dec!(1),
                dec!(3),
                HI,
                ZeroDenominator::Reject,
                T
            )),
            dec!(20) / dec!(3)
        );
    }

    #[test]
    fn zero_denominator_rules() {
        let z = |rule| ratio(dec!(20), dec!(0), dec!(0), HI, rule, T);
        assert_eq!(pts(z(ZeroDenominator::Zero)), dec!(0));
        assert_eq!(pts(z(ZeroDenominator::Full)), dec!(20));
        assert_eq!(pts(z(ZeroDenominator::Reject)), dec!(0));
        assert!(matches!(
            z(ZeroDenominator::NotApplicable),
            Evaluation::NotApplicable { .. }
        ));
        // The lower-is-better variant follows the same rule.
        assert_eq!(
            pts(ratio(
                dec!(20),
                dec!(0),
                dec!(0),
                LO,
                ZeroDenominator::Full,
                T
            )),
            dec!(20)
        );
        assert_eq!(
            pts(ratio_to_target(
                dec!(10),
                dec!(0),
                dec!(0),
                dec!(0.8),
                HI,
                ZeroDenominator::Full,
                T
            )),
            dec!(10)
        );
        assert!(matches!(
            ratio_to_target(
                dec!(10),
                dec!(0),
                dec!(0),
                dec!(0.8),
                LO,
                ZeroDenominator::NotApplicable,
                T
            ),
            Evaluation::NotApplicable { .. }
        ));
    }

    #[test]
    fn ratio_to_target_examples() {
        let r = |a, d| {
            pts(ratio_to_target(
                dec!(10),
                a,
                dec!(100),
                dec!(0.8),
                d,
                ZeroDenominator::Reject,
                T,
            ))
        };
        assert_eq!(r(dec!(60), HI), dec!(7.5));
        assert_eq!(r(dec!(92), HI), dec!(10));
        assert_eq!(r(dec!(80), HI), dec!(10));
        // Lower is better, t = 0.1: at or under target → M; 20 % → 10 × 0.8/0.9.
        let l = |a| {
            pts(ratio_to_target(
                dec!(10),
                a,
                dec!(100),
                dec!(0.1),
                LO,
                ZeroDenominator::Reject,
                T,
            ))
        };
        assert_eq!(l(dec!(5)), dec!(10));
        assert_eq!(l(dec!(10)), dec!(10));
        assert_eq!(l(dec!(20)), dec!(80) / dec!(9));
        assert_eq!(l(dec!(100)), dec!(0));
        // t = 1 lower-is-better: a/b ≤ 1 always → M.
        assert_eq!(
            pts(ratio_to_target(
                dec!(10),
                dec!(7),
                dec!(7),
                dec!(1),
                LO,
                ZeroDenominator::Reject,
                T
            )),
            dec!(10)
        );
    }

    fn bands(pairs: &[(Decimal, Decimal)]) -> Vec<Band> {
        pairs
            .iter()
            .map(|&(threshold, points)| Band { threshold, points })
            .collect()
    }

    #[test]
    fn tiers_three_meetings_is_fifteen_and_unsorted_bands_are_sorted() {
        let b = bands(&[
            (dec!(4), dec!(20)),
            (dec!(1), dec!(5)),
            (dec!(3), dec!(15)),
            (dec!(2), dec!(10)),
        ]);
        assert_eq!(pts(tiers(dec!(3), &b, HI, T)), dec!(15));
        assert_eq!(pts(tiers(dec!(3.5), &b, HI, T)), dec!(15));
        assert_eq!(pts(tiers(dec!(7), &b, HI, T)), dec!(20));
        assert_eq!(pts(tiers(dec!(0), &b, HI, T)), dec!(0));
        assert_eq!(rule(&tiers(dec!(3), &b, HI, T)), "3 ≥ 3 → 15");
        // Lower is better: 0 incidents → 20, ≤ 2 → 10, ≤ 5 → 5, more → 0.
        let l = bands(&[(dec!(5), dec!(5)), (dec!(0), dec!(20)), (dec!(2), dec!(10))]);
        assert_eq!(pts(tiers(dec!(0), &l, LO, T)), dec!(20));
        assert_eq!(pts(tiers(dec!(1), &l, LO, T)), dec!(10));
        assert_eq!(pts(tiers(dec!(5), &l, LO, T)), dec!(5));
        assert_eq!(pts(tiers(dec!(6), &l, LO, T)), dec!(0));
    }

    #[test]
    fn boolean_choice_capped_sum_survey_manual() {
        let boolean = |d, b| {
            pts(evaluate(
                &Method::Boolean { direction: d },
                dec!(10),
                &Input::Bool(b),
                None,
                T,
            ))
        };
        assert_eq!(boolean(HI, true), dec!(10));
        assert_eq!(boolean(HI, false), dec!(0));
        assert_eq!(boolean(LO, false), dec!(10));
        assert_eq!(boolean(LO, true), dec!(0));

        let choice = Method::Choice {
            options: vec![
                ChoiceOption {
                    code: "chair".into(),
                    label: "Chủ tịch".into(),
                    points: dec!(10),
                },
                ChoiceOption {
                    code: "deputy".into(),
                    label: "Phó".into(),
                    points: dec!(5),
                },
                ChoiceOption {
                    code: "none".into(),
                    label: "Không".into(),
                    points: dec!(0),
                },
            ],
        };
        let e = evaluate(&choice, dec!(10), &Input::Choice("deputy".into()), None, T);
        assert_eq!(rule(&e), "deputy (Phó) → 5");
        assert_eq!(pts(e), dec!(5));
        assert!(matches!(
            evaluate(&choice, dec!(10), &Input::Choice("gone".into()), None, T),
            Evaluation::Mismatch { .. }
        ));

        let capped = Method::CappedSum {
            items: vec![
                SumItem {
                    code: "apps".into(),
                    label: "Apps".into(),
                    points_per_unit: dec!(1),
                    cap: None,
                },
                SumItem {
                    code: "wan".into(),
                    label: "WAN rate".into(),
                    points_per_unit: dec!(45),
                    cap: Some(dec!(45)),
                },
            ],
        };
        let items = |v: &[(&str, Decimal)]| {
            Input::Items(v.iter().map(|(k, d)| (k.to_string(), *d)).collect())
        };
        let e = evaluate(&capped, dec!(5), &items(&[("apps", dec!(7))]), None, T);
        assert_eq!(rule(&e), "min(5, 7 × 1)");
        let (p, c) = settle(pts(e), dec!(5), None);
        assert_eq!((p, c), (dec!(5), true));
        // WAN 0.8 × 45 = 36 + 3 apps = 39 of 50.
        let e = evaluate(
            &capped,
            dec!(50),
            &items(&[("wan", dec!(0.8)), ("apps", dec!(3))]),
            None,
            T,
        );
        assert_eq!(pts(e), dec!(39));
        assert_eq!(
            pts(evaluate(
                &capped,
                dec!(50),
                &items(&[("wan", dec!(2))]),
                None,
                T
            )),
            dec!(45)
        );

        let survey = Method::Survey {
            zero_denominator: ZeroDenominator::Reject,
        };
        let e = evaluate(
            &survey,
            dec!(20),
            &Input::Survey {
                satisfied: dec!(820),
                respondents: dec!(1000),
            },
            None,
            T,
        );
        assert_eq!(pts(e), dec!(16.4));

        assert_eq!(
            pts(evaluate(
                &Method::Manual,
                dec!(20),
                &Input::Points(dec!(12.5)),
                None,
                T
            )),
            dec!(12.5)
        );
        assert!(matches!(
            evaluate(&Method::Manual, dec!(20), &Input::Bool(true), None, T),
            Evaluation::Mismatch { .. }
        ));
    }

    #[test]
    fn relative_to_best_examples() {
        assert_eq!(
            pts(relative_to_best(dec!(40), dec!(4), Some(dec!(10)), HI, T)),
            dec!(16)
        );
        assert_eq!(
            pts(relative_to_best(dec!(40), dec!(10), Some(dec!(10)), HI, T)),
            dec!(40)
        );
        assert_eq!(
            pts(relative_to_best(dec!(40), dec!(0), Some(dec!(0)), HI, T)),
            dec!(0)
        );
        assert_eq!(
            pts(relative_to_best(dec!(40), dec!(7), None, HI, T)),
            dec!(40)
        );
        assert_eq!(
            pts(relative_to_best(dec!(40), dec!(20), Some(dec!(10)), LO, T)),
            dec!(20)
        );
        assert_eq!(
            pts(relative_to_best(dec!(40), dec!(0), Some(dec!(0)), LO, T)),
            dec!(40)
        );
        assert_eq!(
            pts(relative_to_best(dec!(40), dec!(5), Some(dec!(0)), LO, T)),
            dec!(0)
        );
        assert_eq!(
            rule(&relative_to_best(dec!(40), dec!(4), Some(dec!(10)), HI, T)),
            "40 × 4/10 (best of group 10)"
        );
    }

    #[test]
    fn settle_rounds_half_away_from_zero_then_clamps() {
        assert_eq!(
            settle(dec!(20) / dec!(3), dec!(20), Some(2)),
            (dec!(6.67), false)
        );
        assert_eq!(settle(dec!(0.125), dec!(1), Some(2)), (dec!(0.13), false));
        assert_eq!(settle(dec!(0.124), dec!(1), Some(2)), (dec!(0.12), false));
        assert_eq!(settle(dec!(-1), dec!(1), None), (dec!(0), true));
        assert_eq!(
            settle(dec!(0.125), dec!(0.125), Some(2)),
            (dec!(0.125), true)
        );
    }

    #[test]
    fn aggregate_caps_points_and_applicable_max() {
        assert_eq!(
            aggregate(dec!(10), [(dec!(8), dec!(8)), (dec!(5), dec!(8))]),
            (dec!(10), dec!(10), true)
        );
        assert_eq!(
            aggregate(dec!(10), [(dec!(3), dec!(8)), (dec!(0), dec!(0))]),
            (dec!(3), dec!(8), false)
        );
        assert_eq!(
            aggregate(dec!(0), [(dec!(0), dec!(5))]),
            (dec!(0), dec!(0), false)
        );
    }

    #[test]
    fn total_clamps_bonus_and_penalty_to_zero_and_to_applicable_max() {
        assert_eq!(
            total(dec!(100), [(dec!(95), dec!(100))], dec!(10), dec!(2)),
            (dec!(103), dec!(100), dec!(100), true)
        );
        assert_eq!(
            total(dec!(100), [(dec!(3), dec!(100))], dec!(0), dec!(5)),
            (dec!(-2), dec!(0), dec!(100), true)
        );
        // A not-applicable part lowers the ceiling: 60 of 80 applicable, + 30 → 80.
        assert_eq!(
            total(
                dec!(100),
                [(dec!(60), dec!(80)), (dec!(0), dec!(0))],
                dec!(30),
                dec!(0)
            ),
            (dec!(90), dec!(80), dec!(80), true)
        );
    }
}
