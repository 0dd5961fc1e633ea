//! Stage 2: scoring methods, classification bands and input texts of one node.

use super::*;

/// Bands: at least one; codes valid and distinct; labels present; thresholds in `[0, 1]` with
/// at most `precision` decimals, strictly descending (equal thresholds overlap), the last at 0.
pub(super) fn check_classification(c: &Classification, precision: u32, out: &mut Vec<DocProblem>) {
    let bands = &c.bands;
    if bands.is_empty() {
        problem(
            out,
            "/classification/bands".into(),
            CLASS_BANDS_EMPTY,
            "a classification needs at least one band".into(),
        );
        return;
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, b) in bands.iter().enumerate() {
        let p = format!("/classification/bands/{i}");
        check_code(&b.code, format!("{p}/code"), "band code", out);
        if let Some(first) = seen.get(b.code.as_str()) {
            problem(
                out,
                format!("{p}/code"),
                CLASS_BAND_DUPLICATE,
                format!(
                    "band code {} is already used by the band at /classification/bands/{first}",
                    quote(&b.code)
                ),
            );
        } else {
            seen.insert(&b.code, i);
        }
        check_name(&b.label, format!("{p}/label"), "band label", out);
        check_name(&b.label_en, format!("{p}/label_en"), "band label_en", out);
        let t = b.min_index;
        if t < Decimal::ZERO || t > Decimal::ONE {
            problem(
                out,
                format!("{p}/min_index"),
                CLASS_BAND_OUT_OF_RANGE,
                format!(
                    "band {} starts at index {}; an index lies between 0 and 1",
                    quote(&b.code),
                    num(t)
                ),
            );
        } else if t.normalize().scale() > precision {
            problem(
                out,
                format!("{p}/min_index"),
                CLASS_BAND_PRECISION,
                format!(
                    "band {} starts at index {}, which has more decimals than the published \
                     precision {precision}; bands compare the index rounded to {precision} decimals",
                    quote(&b.code),
                    num(t)
                ),
            );
        }
        let Some(prev) = i.checked_sub(1).map(|j| &bands[j]) else {
            continue;
        };
        if t == prev.min_index {
            problem(
                out,
                format!("{p}/min_index"),
                CLASS_BANDS_OVERLAP,
                format!(
                    "bands {} and {} both start at index {}, so they overlap",
                    quote(&prev.code),
                    quote(&b.code),
                    num(t)
                ),
            );
        } else if t > prev.min_index {
            problem(
                out,
                format!("{p}/min_index"),
                CLASS_BANDS_NOT_DESCENDING,
                format!(
                    "band {} starts at {} after band {} starting at {}; list bands from the \
                     highest to the lowest, thresholds strictly descending",
                    quote(&b.code),
                    num(t),
                    quote(&prev.code),
                    num(prev.min_index)
                ),
            );
        }
    }
    let last = bands.len() - 1;
    if bands[last].min_index > Decimal::ZERO {
        problem(
            out,
            format!("/classification/bands/{last}/min_index"),
            CLASS_BANDS_NO_FLOOR,
            format!(
                "the lowest band {} starts at {}; it must start at 0 so that every index has a band",
                quote(&bands[last].code),
                num(bands[last].min_index)
            ),
        );
    }
}

pub(super) fn negative(d: Decimal) -> bool {
    d < Decimal::ZERO
}

pub(super) fn check_method(method: &Method, max: Decimal, ptr: &str, out: &mut Vec<DocProblem>) {
    // with a negative max (already reported) every "exceeds max" would be noise
    let exceeds = |p: Decimal| !negative(max) && p > max;
    match method {
        Method::RatioToTarget { target, .. } => {
            if *target <= Decimal::ZERO || *target > Decimal::ONE {
                problem(
                    out,
                    format!("{ptr}/target"),
                    TARGET_OUT_OF_RANGE,
                    format!(
                        "target is {}; it must be greater than 0 and at most 1 (a share, e.g. 0.8)",
                        num(*target)
                    ),
                );
            }
        }
        Method::Tiers { direction, bands } => check_bands(*direction, bands, max, ptr, out),
        Method::Choice { options } => {
            if options.is_empty() {
                problem(
                    out,
                    format!("{ptr}/options"),
                    CHOICE_EMPTY,
                    "a choice method needs at least one option".into(),
                );
            }
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for (i, o) in options.iter().enumerate() {
                let p = format!("{ptr}/options/{i}");
                check_code(&o.code, format!("{p}/code"), "option code", out);
                if let Some(first) = seen.get(o.code.as_str()) {
                    problem(
                        out,
                        format!("{p}/code"),
                        DUPLICATE_OPTION,
                        format!(
                            "option code {} is already used by option {first}",
                            quote(&o.code)
                        ),
                    );
                } else {
                    seen.insert(&o.code, i);
                }
                check_name(&o.label, format!("{p}/label"), "option label", out);
                if negative(o.points) {
                    problem(
                        out,
                        format!("{p}/points"),
                        NEGATIVE_POINTS,
                        format!(
                            "option {} gives {} points; points cannot be negative",
                            quote(&o.code),
                            num(o.points)
                        ),
                    );
                } else if exceeds(o.points) {
                    problem(
                        out,
                        format!("{p}/points"),
                        OPTION_POINTS_EXCEED_MAX,
                        format!(
                            "option {} gives {} points, more than the node's max_points {}",
                            quote(&o.code),
                            num(o.points),
                            num(max)
                        ),
                    );
                }
            }
        }
        Method::CappedSum { items } => {
            if items.is_empty() {
                problem(
                    out,
                    format!("{ptr}/items"),
                    ITEMS_EMPTY,
                    "a capped_sum method needs at least one item".into(),
                );
            }
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for (i, it) in items.iter().enumerate() {
                let p = format!("{ptr}/items/{i}");
                check_code(&it.code, format!("{p}/code"), "item code", out);
                if let Some(first) = seen.get(it.code.as_str()) {
                    problem(
                        out,
                        format!("{p}/code"),
                        DUPLICATE_ITEM,
                        format!(
                            "item code {} is already used by item {first}",
                            quote(&it.code)
                        ),
                    );
                } else {
                    seen.insert(&it.code, i);
                }
                check_name(&it.label, format!("{p}/label"), "item label", out);
                if it.points_per_unit <= Decimal::ZERO {
                    problem(
                        out,
                        format!("{p}/points_per_unit"),
                        ITEM_POINTS_NOT_POSITIVE,
                        format!(
                            "item {} has points_per_unit {}; it must be greater than 0",
                            quote(&it.code),
                            num(it.points_per_unit)
                        ),
                    );
                }
                if let Some(cap) = it.cap {
                    if negative(cap) {
                        problem(
                            out,
                            format!("{p}/cap"),
                            NEGATIVE_POINTS,
                            format!(
                                "item {} has cap {}; points cannot be negative",
                                quote(&it.code),
                                num(cap)
                            ),
                        );
                    } else if exceeds(cap) {
                        problem(
                            out,
                            format!("{p}/cap"),
                            ITEM_CAP_EXCEEDS_MAX,
                            format!(
                                "item {} has cap {}, more than the node's max_points {}",
                                quote(&it.code),
                                num(cap),
                                num(max)
                            ),
                        );
                    }
                }
            }
        }
        Method::Ratio { .. }
        | Method::Boolean { .. }
        | Method::RelativeToBest { .. }
        | Method::Survey { .. }
        | Method::Manual => {}
    }
}

pub(super) fn check_bands(
    direction: Direction,
    bands: &[Band],
    max: Decimal,
    ptr: &str,
    out: &mut Vec<DocProblem>,
) {
    if bands.is_empty() {
        problem(
            out,
            format!("{ptr}/bands"),
            TIERS_EMPTY,
            "a tiers method needs at least one band".into(),
        );
    }
    for (i, b) in bands.iter().enumerate() {
        let p = format!("{ptr}/bands/{i}");
        if negative(b.points) {
            problem(
                out,
                format!("{p}/points"),
                NEGATIVE_POINTS,
                format!(
                    "band {i} gives {} points; points cannot be negative",
                    num(b.points)
                ),
            );
        } else if !negative(max) && b.points > max {
            problem(
                out,
                format!("{p}/points"),
                BAND_POINTS_EXCEED_MAX,
                format!(
                    "band {i} gives {} points, more than the node's max_points {}",
                    num(b.points),
                    num(max)
                ),
            );
        }
        let Some(prev) = i.checked_sub(1).map(|j| &bands[j]) else {
            continue;
        };
        if b.threshold <= prev.threshold {
            problem(
                out,
                format!("{p}/threshold"),
                TIERS_NOT_ORDERED,
                format!(
                    "band {i} has threshold {} after threshold {}; thresholds must be strictly ascending",
                    num(b.threshold),
                    num(prev.threshold)
                ),
            );
        }
        let (bad, rule) = match direction {
            Direction::HigherIsBetter => (
                b.points < prev.points,
                "with higher_is_better, points must not decrease as thresholds rise",
            ),
            Direction::LowerIsBetter => (
                b.points > prev.points,
                "with lower_is_better, points must not increase as thresholds rise",
            ),
        };
        if bad {
            problem(
                out,
                format!("{p}/points"),
                TIERS_NOT_ORDERED,
                format!(
                    "band {i} gives {} points after a band giving {}; {rule}",
                    num(b.points),
                    num(prev.points)
                ),
            );
        }
    }
}
