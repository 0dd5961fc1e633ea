//! One leaf, one column: which answer counts (self or reviewed), and its points.

use super::*;

/// The two score columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    Own,
    Reviewed,
}

/// What one column of one leaf is scored from.
pub(super) enum Source<'a> {
    NotApplicable(String),
    Unanswered,
    ReviewerPoints {
        points: Decimal,
        inputs: Option<&'a Input>,
    },
    Answer {
        input: &'a Input,
        /// Given by the reviewer: the evidence rule does not apply.
        reviewer: bool,
    },
}

pub(super) fn evidence_ok(node: &CNode, answer: &LeafAnswer) -> bool {
    node.evidence != EvidenceRule::Required || answer.has_evidence || answer.has_explanation
}

pub(super) fn resolve<'a>(
    node: &CNode,
    unit: &UnitInput,
    answer: Option<&'a LeafAnswer>,
    col: Column,
) -> Source<'a> {
    let tags = &node.applicability.unit_tags_any;
    if !tags.is_empty() && !unit.tags.iter().any(|t| tags.contains(t)) {
        return Source::NotApplicable(format!(
            "not applicable: applies only to units tagged {}",
            tags.join(", ")
        ));
    }
    let Some(a) = answer else {
        return Source::Unanswered;
    };
    let declared = a.self_not_applicable && node.applicability.declarable_not_applicable;
    let adjustment = match col {
        Column::Own => None,
        Column::Reviewed => a.adjustment.as_deref(),
    };
    let reviewer_na = adjustment.and_then(|x| x.not_applicable);
    match reviewer_na {
        Some(true) => return Source::NotApplicable("not applicable: set by the reviewer".into()),
        None if declared => {
            return Source::NotApplicable("not applicable: declared by the unit".into());
        }
        _ => {}
    }
    if let Some(adj) = adjustment {
        if let Some(points) = adj.points {
            return Source::ReviewerPoints {
                points,
                inputs: adj.inputs.as_ref(),
            };
        }
        if let Some(input) = &adj.inputs {
            return Source::Answer {
                input,
                reviewer: true,
            };
        }
    }
    match &a.self_input {
        Some(input) => Source::Answer {
            input,
            reviewer: false,
        },
        None => Source::Unanswered,
    }
}

/// One column of one node, while scoring.
pub(super) struct Col {
    pub(super) applicable: bool,
    pub(super) points: Decimal,
    pub(super) applicable_max: Decimal,
    pub(super) trace: Trace,
    pub(super) flags: Vec<&'static str>,
}

impl Col {
    fn not_applicable(rule: String, inputs: Option<serde_json::Value>) -> Col {
        Col {
            applicable: false,
            points: Decimal::ZERO,
            applicable_max: Decimal::ZERO,
            trace: Trace {
                inputs,
                rule,
                ..Trace::default()
            },
            flags: vec![flags::NOT_APPLICABLE],
        }
    }

    fn zero(
        max: Decimal,
        rule: String,
        inputs: Option<serde_json::Value>,
        flag: &'static str,
    ) -> Col {
        Col {
            applicable: true,
            points: Decimal::ZERO,
            applicable_max: max,
            trace: Trace {
                inputs,
                rule,
                ..Trace::default()
            },
            flags: vec![flag],
        }
    }

    fn earned(
        max: Decimal,
        raw: Decimal,
        rule: String,
        inputs: Option<serde_json::Value>,
        pp: Option<u32>,
    ) -> Col {
        let (points, capped) = settle(raw, max, pp);
        Col {
            applicable: true,
            points,
            applicable_max: max,
            trace: Trace {
                inputs,
                rule,
                raw,
                capped: points,
                contribution: points,
            },
            flags: if capped { vec![flags::CAPPED] } else { vec![] },
        }
    }
}

pub(super) fn leaf_column(
    set: &CompiledSet,
    node: &CNode,
    source: Source<'_>,
    evidence: bool,
    best: Option<Decimal>,
    trace: bool,
) -> Col {
    let max = node.max_points;
    let pp = set.points_precision;
    match source {
        Source::NotApplicable(rule) => Col::not_applicable(rule, None),
        Source::Unanswered => Col::zero(
            max,
            Texts::of(trace).write(|| "unanswered → 0".into()),
            None,
            flags::UNANSWERED,
        ),
        Source::ReviewerPoints { points, inputs } => Col::earned(
            max,
            points,
            if trace {
                format!("set by the reviewer: {}", fmt_dec(points))
            } else {
                String::new()
            },
            inputs.filter(|_| trace).map(input_to_json),
            pp,
        ),
        Source::Answer { input, reviewer } => {
            let method = node.method.as_ref().unwrap_or(&Method::Manual);
            let inputs = trace.then(|| input_to_json(input));
            match evaluate(method, max, input, best, Texts::of(trace)) {
                Evaluation::NotApplicable { rule } => Col::not_applicable(rule, inputs),
                Evaluation::Mismatch { rule } => {
                    Col::zero(max, rule, inputs, flags::INPUT_MISMATCH)
                }
                Evaluation::Points { raw, rule } if !reviewer && !evidence => Col::zero(
                    max,
                    if trace {
                        format!(
                            "evidence required, none attached → 0 (would be {rule} = {})",
                            fmt_dec(raw)
                        )
                    } else {
                        String::new()
                    },
                    inputs,
                    flags::EVIDENCE_MISSING,
                ),
                Evaluation::Points { raw, rule } => Col::earned(max, raw, rule, inputs, pp),
            }
        }
    }
}
