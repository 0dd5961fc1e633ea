//! Classification (xếp loại): which band of a set's [`Classification`] an index falls in, and
//! how many points a unit still needs for the next band. The one home of the band rule: every
//! response that shows a unit's overall index shows the band this module gives it.
//!
//! **Boundary rule.** The index is first rounded to the set's published precision, half away
//! from zero ([`round_index`], the value rankings compare); the unit is then in the first band
//! (bands are listed highest first) whose `min_index` is at most that rounded index. An index
//! exactly on a threshold therefore belongs to the higher band, and two units that rank as tied
//! are always in the same band.
//!
//! Example (precision 4; bands Tốt ≥ 0.75, Khá ≥ 0.5, Kém ≥ 0): 0.74996 → 0.75 → Tốt;
//! 0.74994 → 0.7499 → Khá; 0.5 → Khá.
//!
//! Imports only `std`, `rust_decimal`, `crate::domain` and the sibling ranking module.

use rust_decimal::{Decimal, RoundingStrategy};

use super::ranking::{index_of, round_index};
use crate::domain::indicator_set::{ClassBand, Classification};

/// The band of an (unrounded or rounded) index: the first band whose `min_index` is at most the
/// index rounded to `precision`. `None` when no band starts low enough (a classification
/// without a floor, which validation refuses).
pub fn band_of(c: &Classification, index: Decimal, precision: u32) -> Option<&ClassBand> {
    band_at(c, round_index(index, precision))
}

/// The band of an index already rounded to the published precision.
fn band_at(c: &Classification, rounded: Decimal) -> Option<&ClassBand> {
    c.bands.iter().find(|b| b.min_index <= rounded)
}

/// Where a unit stands in a classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing<'a> {
    /// The band of its index (`None` when nothing applies to it: no index).
    pub band: Option<&'a ClassBand>,
    /// The band right above it (`None` in the highest band, or without an index).
    pub next: Option<&'a ClassBand>,
    /// The smallest number of additional points that puts it in `next`.
    pub points_to_next: Option<Decimal>,
}

/// A unit's standing from its points and applicable maximum (the reviewed column, the one
/// ranked). The points needed for the next band, with threshold `T`, precision `p` and
/// applicable maximum `A`, are the smallest `x ≥ 0` with `round((P + x) / A, p) ≥ T`: since
/// rounding is half away from zero, `x = (T − 5·10^−(p+1)) × A − P`, rounded up to
/// `points_precision` when the set rounds points (totals then move in such steps), and never
/// more than `A − P` (the whole maximum always reaches any band).
///
/// Example: A = 100, P = 59.99, p = 4, next band at 0.75 → (0.75 − 0.00005) × 100 − 59.99 =
/// 15.005, i.e. 15.01 with `points_precision` 2; 74.995 of 100 rounds to 0.75 (0.74995 → 0.75).
pub fn standing(
    c: &Classification,
    points: Decimal,
    applicable_max: Decimal,
    precision: u32,
    points_precision: Option<u32>,
) -> Standing<'_> {
    let none = Standing {
        band: None,
        next: None,
        points_to_next: None,
    };
    let Some(index) = index_of(points, applicable_max) else {
        return none;
    };
    let rounded = round_index(index, precision);
    let band = band_at(c, rounded);
    // the lowest band that starts above the index (bands are listed highest first)
    let next = c.bands.iter().rev().find(|b| b.min_index > rounded);
    let points_to_next = next
        .and_then(|n| needed(points, applicable_max, n.min_index, precision))
        .map(|x| match points_precision {
            Some(pp) => x.round_dp_with_strategy(pp, RoundingStrategy::ToPositiveInfinity),
            None => x,
        })
        .map(|x| {
            x.min(applicable_max - points)
                .max(Decimal::ZERO)
                .normalize()
        });
    Standing {
        band,
        next,
        points_to_next,
    }
}

/// `(T − 5·10^−(p+1)) × A − P`, at least 0; `None` on decimal overflow.
fn needed(points: Decimal, max: Decimal, threshold: Decimal, precision: u32) -> Option<Decimal> {
    let half_step = Decimal::try_new(5, precision.checked_add(1)?).ok()?;
    let reach = threshold.checked_sub(half_step)?.checked_mul(max)?;
    Some(reach.checked_sub(points)?.max(Decimal::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::indicator_set::ClassificationStatus;

    fn scale(bands: &[(&str, &str)]) -> Classification {
        Classification {
            status: ClassificationStatus::Example,
            source: None,
            bands: bands
                .iter()
                .map(|(code, min)| ClassBand {
                    code: code.to_string(),
                    label: code.to_string(),
                    label_en: code.to_string(),
                    min_index: min.parse().unwrap(),
                })
                .collect(),
        }
    }

    fn code(b: Option<&ClassBand>) -> Option<&str> {
        b.map(|b| b.code.as_str())
    }

    /// UN EGDI: very high > 0.75, high 0.50–0.75, middle 0.25–0.50, low < 0.25.
    fn egdi() -> Classification {
        scale(&[
            ("VERY_HIGH", "0.7501"),
            ("HIGH", "0.5"),
            ("MIDDLE", "0.25"),
            ("LOW", "0"),
        ])
    }

    #[test]
    fn an_index_exactly_on_a_threshold_belongs_to_the_higher_band() {
        let c = scale(&[("TOT", "0.75"), ("KHA", "0.5"), ("KEM", "0")]);
        assert_eq!(code(band_of(&c, dec!(0.75), 4)), Some("TOT"));
        assert_eq!(code(band_of(&c, dec!(0.5), 4)), Some("KHA"));
        assert_eq!(code(band_of(&c, dec!(0), 4)), Some("KEM"));
        assert_eq!(code(band_of(&c, dec!(1), 4)), Some("TOT"));
    }

    #[test]
    fn bands_compare_the_index_rounded_to_the_published_precision() {
        let c = scale(&[("TOT", "0.75"), ("KHA", "0.5"), ("KEM", "0")]);
        // 0.74995 is published as 0.75 (half away from zero), so it is Tốt, as people see it
        assert_eq!(code(band_of(&c, dec!(0.74995), 4)), Some("TOT"));
        assert_eq!(code(band_of(&c, dec!(0.749949), 4)), Some("KHA"));
        // precision 2: 0.745 → 0.75
        assert_eq!(code(band_of(&c, dec!(0.745), 2)), Some("TOT"));
        assert_eq!(code(band_of(&c, dec!(0.7449), 2)), Some("KHA"));
    }

    #[test]
    fn a_rule_written_above_a_percentage_is_the_next_step_of_precision() {
        // EGDI and Lào Cai write "above 0.75" for the top band: 0.7501 at precision 4
        let c = egdi();
        assert_eq!(code(band_of(&c, dec!(0.75), 4)), Some("HIGH"));
        assert_eq!(code(band_of(&c, dec!(0.75005), 4)), Some("VERY_HIGH"));
        assert_eq!(code(band_of(&c, dec!(0.2499), 4)), Some("LOW"));
    }

    #[test]
    fn points_to_the_next_band_are_the_smallest_that_reach_it() {
        let c = scale(&[("TOT", "0.75"), ("KHA", "0.5"), ("KEM", "0")]);
        let s = standing(&c, dec!(59.99), dec!(100), 4, None);
        assert_eq!(code(s.band), Some("KHA"));
        assert_eq!(code(s.next), Some("TOT"));
        assert_eq!(s.points_to_next, Some(dec!(15.005)));
        // reaching exactly that many points lands in the next band, one step less does not
        assert_eq!(code(band_of(&c, dec!(74.995) / dec!(100), 4)), Some("TOT"));
        assert_eq!(code(band_of(&c, dec!(74.994) / dec!(100), 4)), Some("KHA"));
        // with points rounded to 2 decimals, totals move by 0.01
        let s = standing(&c, dec!(59.99), dec!(100), 4, Some(2));
        assert_eq!(s.points_to_next, Some(dec!(15.01)));
        // the highest band has no next one
        let s = standing(&c, dec!(80), dec!(100), 4, None);
        assert_eq!(
            (code(s.band), s.next, s.points_to_next),
            (Some("TOT"), None, None)
        );
        // nothing applicable: no index, no band
        let s = standing(&c, dec!(0), dec!(0), 4, None);
        assert_eq!(
            s,
            Standing {
                band: None,
                next: None,
                points_to_next: None
            }
        );
    }

    #[test]
    fn points_to_the_next_band_hold_for_awkward_maxima() {
        let c = egdi();
        for (points, max) in [
            ("0", "7"),
            ("1", "3"),
            ("333.33", "1000"),
            ("2", "270"),
            ("0.4", "1"),
            ("499.9", "1000"),
        ] {
            let (p, m): (Decimal, Decimal) = (points.parse().unwrap(), max.parse().unwrap());
            for pp in [None, Some(2)] {
                let s = standing(&c, p, m, 4, pp);
                let x = s.points_to_next.expect("a next band");
                let reached = band_of(&c, (p + x) / m, 4).unwrap();
                assert_eq!(Some(reached), s.next, "{points}/{max} + {x} ({pp:?})");
                if pp.is_none() && x > Decimal::ZERO {
                    let step = Decimal::new(1, 20);
                    let short = band_of(&c, (p + x - step) / m, 4).unwrap();
                    assert_eq!(Some(short), s.band, "{points}/{max}: {x} is the least");
                }
            }
        }
    }
}
