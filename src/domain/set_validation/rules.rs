//! Stage 2: the typed document, its tree and nodes (see the module documentation).

use super::*;

pub(super) fn kind_name(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Group => "group",
        NodeKind::Main => "main",
        NodeKind::Component => "component",
        NodeKind::Criterion => "criterion",
        NodeKind::Bonus => "bonus",
        NodeKind::Penalty => "penalty",
    }
}

pub(super) fn is_bonus_or_penalty(kind: NodeKind) -> bool {
    matches!(kind, NodeKind::Bonus | NodeKind::Penalty)
}

/// Kinds a node of `parent` kind may contain (`None` = the top level).
pub(super) fn allowed_children(parent: Option<NodeKind>) -> &'static [NodeKind] {
    match parent {
        None => &[
            NodeKind::Group,
            NodeKind::Main,
            NodeKind::Bonus,
            NodeKind::Penalty,
        ],
        Some(NodeKind::Group) => &[NodeKind::Group, NodeKind::Main],
        Some(NodeKind::Main) => &[NodeKind::Component],
        Some(NodeKind::Component) => &[NodeKind::Criterion],
        Some(_) => &[],
    }
}

pub(super) fn kinds_list(kinds: &[NodeKind]) -> String {
    if kinds.is_empty() {
        "nothing".into()
    } else {
        kinds
            .iter()
            .map(|k| kind_name(*k))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// CODE_EMPTY / CODE_INVALID for one code at `ptr`; `what` names it in the message.
pub(super) fn check_code(code: &str, ptr: String, what: &str, out: &mut Vec<DocProblem>) {
    if code.trim().is_empty() {
        problem(out, ptr, CODE_EMPTY, format!("{what} is empty"));
        return;
    }
    let chars = code.chars().count();
    if chars > MAX_CODE_CHARS {
        problem(
            out,
            ptr,
            CODE_INVALID,
            format!(
                "{what} {} is {chars} characters long; at most {MAX_CODE_CHARS} are allowed",
                quote(code)
            ),
        );
        return;
    }
    if let Some(bad) = code
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        problem(
            out,
            ptr,
            CODE_INVALID,
            format!(
                "{what} {} contains {bad:?}; only ASCII letters, digits, '.', '-' and '_' are allowed",
                quote(code)
            ),
        );
    }
}

pub(super) fn check_name(name: &str, ptr: String, what: &str, out: &mut Vec<DocProblem>) {
    if name.trim().is_empty() {
        problem(out, ptr, NAME_EMPTY, format!("{what} is empty"));
    }
}

/// One node of the submitted document, wherever it sits, with its place in the logical tree.
pub(super) struct Entry<'a> {
    pub(super) node: &'a Node,
    /// Pointer to the node object as submitted, e.g. `/nodes/3/children/1`.
    pub(super) ptr: String,
    /// Index in `doc.nodes` of the top-level node that contains (or is) this node.
    pub(super) top: usize,
    /// Listed at the top level of `nodes` with a `parent` (flat form).
    pub(super) flat: bool,
    /// Logical parent (entry index): the enclosing node, or the flat `parent` once resolved.
    pub(super) parent: Option<usize>,
    /// Logical children: nested ones first, then flat ones in document order.
    pub(super) children: Vec<usize>,
}

/// Resolution state of a top-level node (cycle detection over flat `parent` links).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach {
    Unknown,
    InProgress,
    Rooted,
    Detached,
}

/// Stage 2, on the typed document: every semantic rule. Returns ALL problems (an empty vector
/// means the document is valid), in a deterministic order. Never panics, whatever the input
/// (arithmetic is checked; no recursion over the tree).
pub fn validate(doc: &SetDocument) -> Vec<DocProblem> {
    let mut out = Vec::new();
    check_identity(doc, &mut out);

    // -- collect every node in document order (pre-order), iteratively
    let mut entries: Vec<Entry> = Vec::new();
    let mut top_entry: Vec<usize> = Vec::with_capacity(doc.nodes.len());
    let mut stack: Vec<(&Node, String, usize, Option<usize>)> = doc
        .nodes
        .iter()
        .enumerate()
        .rev()
        .map(|(i, n)| (n, format!("/nodes/{i}"), i, None))
        .collect();
    while let Some((node, ptr, top, nested_parent)) = stack.pop() {
        let idx = entries.len();
        if nested_parent.is_none() {
            top_entry.push(idx);
        }
        for (j, child) in node.children.iter().enumerate().rev() {
            stack.push((child, format!("{ptr}/children/{j}"), top, Some(idx)));
        }
        entries.push(Entry {
            node,
            ptr,
            top,
            flat: nested_parent.is_none() && node.parent.is_some(),
            parent: nested_parent,
            children: Vec::new(),
        });
    }

    if doc.nodes.is_empty() {
        problem(
            &mut out,
            "/nodes".into(),
            NO_NODES,
            "the set has no nodes; at least one group or main indicator is required".into(),
        );
    }

    // -- codes: identity and duplicates (first occurrence wins for look-ups)
    let mut by_code: HashMap<&str, usize> = HashMap::new();
    for (idx, e) in entries.iter().enumerate() {
        check_code(
            &e.node.code,
            format!("{}/code", e.ptr),
            "node code",
            &mut out,
        );
        if let Some(&first) = by_code.get(e.node.code.as_str()) {
            problem(
                &mut out,
                format!("{}/code", e.ptr),
                DUPLICATE_CODE,
                format!(
                    "node code {} is already used by the node at {}",
                    quote(&e.node.code),
                    entries[first].ptr
                ),
            );
        } else {
            by_code.insert(e.node.code.as_str(), idx);
        }
    }

    // -- parents: nested nodes must not declare one; flat ones must name an existing node
    let mut parent_missing = vec![false; doc.nodes.len()];
    let mut resolved: Vec<(usize, usize)> = Vec::new();
    for (idx, e) in entries.iter().enumerate() {
        let Some(parent_code) = e.node.parent.as_deref() else {
            continue;
        };
        if !e.flat {
            let enclosing = e.parent.map_or("", |p| entries[p].node.code.as_str());
            problem(
                &mut out,
                format!("{}/parent", e.ptr),
                PARENT_AND_NESTED,
                format!(
                    "node {} is nested in the children of {} and also declares parent {}; \
                     use one form or the other",
                    quote(&e.node.code),
                    quote(enclosing),
                    quote(parent_code)
                ),
            );
            continue;
        }
        match by_code.get(parent_code) {
            Some(&p) => resolved.push((idx, p)),
            None => {
                parent_missing[e.top] = true;
                problem(
                    &mut out,
                    format!("{}/parent", e.ptr),
                    PARENT_NOT_FOUND,
                    format!(
                        "node {} names parent {}, but no node has that code",
                        quote(&e.node.code),
                        quote(parent_code)
                    ),
                );
            }
        }
    }
    for (idx, p) in resolved {
        entries[idx].parent = Some(p);
    }

    // -- cycles among flat parent links; a top-level node is rooted when its chain ends at a
    //    true top-level node, detached when it ends in a missing parent or a cycle
    let mut reach = vec![Reach::Unknown; doc.nodes.len()];
    let mut in_cycle = vec![false; doc.nodes.len()];
    for start in 0..doc.nodes.len() {
        if reach[start] != Reach::Unknown {
            continue;
        }
        let mut path: Vec<usize> = Vec::new();
        let mut cur = start;
        let result = loop {
            match reach[cur] {
                Reach::Rooted => break Reach::Rooted,
                Reach::Detached => break Reach::Detached,
                Reach::InProgress => {
                    let from = path.iter().position(|&t| t == cur).unwrap_or(0);
                    let cycle = &path[from..];
                    report_cycle(cycle, &entries, &top_entry, &mut out);
                    for &t in cycle {
                        in_cycle[t] = true;
                    }
                    break Reach::Detached;
                }
                Reach::Unknown => {
                    reach[cur] = Reach::InProgress;
                    path.push(cur);
                    let e = &entries[top_entry[cur]];
                    if !e.flat {
                        break Reach::Rooted;
                    }
                    if parent_missing[cur] {
                        break Reach::Detached;
                    }
                    match e.parent {
                        Some(p) => cur = entries[p].top,
                        None => break Reach::Detached,
                    }
                }
            }
        };
        for t in path {
            reach[t] = result;
        }
    }
    let any_detached = reach.contains(&Reach::Detached);

    // -- logical children: nested first (pre-order keeps their order), then flat ones
    for idx in 0..entries.len() {
        if let (false, Some(p)) = (entries[idx].flat, entries[idx].parent) {
            entries[p].children.push(idx);
        }
    }
    for &idx in &top_entry {
        if let (true, Some(p)) = (entries[idx].flat, entries[idx].parent) {
            entries[p].children.push(idx);
        }
    }

    // -- descriptive subtrees (every max 0, like "Thông tin chung") are exempt from KIND_ORDER
    let mut zero: Vec<bool> = entries
        .iter()
        .map(|e| e.node.max_points.is_zero())
        .collect();
    let mut work: Vec<usize> = (0..entries.len()).filter(|&i| !zero[i]).collect();
    while let Some(i) = work.pop() {
        if let Some(p) = entries[i].parent
            && zero[p]
        {
            zero[p] = false;
            work.push(p);
        }
    }

    // -- per node: kinds, inner/leaf rules, points
    for (idx, e) in entries.iter().enumerate() {
        let node = e.node;
        // a flat node whose parent is missing or part of a cycle: already reported
        let broken_link = e.flat && (e.parent.is_none() || in_cycle[e.top]);
        check_node_kind(idx, &entries, broken_link, &zero, &mut out);
        check_name(&node.name, format!("{}/name", e.ptr), "node name", &mut out);
        if node.max_points.is_sign_negative() && !node.max_points.is_zero() {
            problem(
                &mut out,
                format!("{}/max_points", e.ptr),
                NEGATIVE_POINTS,
                format!(
                    "node {} has max_points {}; points cannot be negative",
                    quote(&node.code),
                    num(node.max_points)
                ),
            );
        }
        for (k, old) in node.replaces.iter().enumerate() {
            check_code(
                old,
                format!("{}/replaces/{k}", e.ptr),
                "replaced code",
                &mut out,
            );
        }
        if e.children.is_empty() {
            check_leaf(e, &mut out);
        } else {
            check_inner(e, &entries, &mut out);
        }
    }

    // -- tree depth, over the rooted part only (breadth first from the true top level)
    let mut level: Vec<(usize, usize)> = top_entry
        .iter()
        .filter(|&&i| !entries[i].flat)
        .map(|&i| (i, 1))
        .collect();
    while let Some((i, depth)) = level.pop() {
        if depth > MAX_TREE_DEPTH {
            problem(
                &mut out,
                entries[i].ptr.clone(),
                TOO_DEEP,
                format!(
                    "node {} sits at depth {depth} of the tree; at most {MAX_TREE_DEPTH} levels are allowed",
                    quote(&entries[i].node.code)
                ),
            );
            continue;
        }
        level.extend(entries[i].children.iter().map(|&c| (c, depth + 1)));
    }

    // -- scale
    if doc.scale <= Decimal::ZERO {
        problem(
            &mut out,
            "/scale".into(),
            SCALE_NOT_POSITIVE,
            format!("scale is {}; it must be greater than 0", num(doc.scale)),
        );
    } else if !doc.nodes.is_empty() && !any_detached {
        let roots = doc
            .nodes
            .iter()
            .filter(|n| n.parent.is_none() && !is_bonus_or_penalty(n.kind));
        match checked_sum(roots.clone().map(|n| n.max_points)) {
            Some(total) if total == doc.scale => {}
            total => {
                let codes: Vec<String> = roots.map(|n| quote(&n.code)).collect();
                problem(
                    &mut out,
                    "/scale".into(),
                    SCALE_MISMATCH,
                    format!(
                        "scale is {} but the top-level nodes ({}, bonus and penalty excluded) add up to {}",
                        num(doc.scale),
                        codes.join(", "),
                        total.map_or_else(|| "more than the decimal range".into(), num)
                    ),
                );
            }
        }
    }

    check_pillars(doc, &entries, &by_code, &mut out);
    check_replaces(&entries, &mut out);
    if let Some(c) = &doc.classification {
        check_classification(c, doc.precision, &mut out);
    }
    out
}

pub(super) fn checked_sum(mut values: impl Iterator<Item = Decimal>) -> Option<Decimal> {
    values.try_fold(Decimal::ZERO, |acc, v| acc.checked_add(v))
}

pub(super) fn report_cycle(
    cycle: &[usize],
    entries: &[Entry],
    top_entry: &[usize],
    out: &mut Vec<DocProblem>,
) {
    let Some(&first) = cycle.iter().min() else {
        return;
    };
    let e = &entries[top_entry[first]];
    let message = if cycle.len() == 1 && e.parent == Some(top_entry[first]) {
        format!("node {} names itself as its parent", quote(&e.node.code))
    } else {
        // the chain of declared parents, starting at the first member in document order;
        // a parent nested inside a top-level node is shown with that node
        let start = cycle.iter().position(|&t| t == first).unwrap_or(0);
        let mut chain = vec![quote(&e.node.code)];
        for &t in cycle[start..].iter().chain(&cycle[..start]) {
            let m = &entries[top_entry[t]];
            let Some(p) = m.parent else { continue };
            let holder = &entries[top_entry[entries[p].top]];
            if top_entry[entries[p].top] == p {
                chain.push(quote(&entries[p].node.code));
            } else {
                chain.push(format!(
                    "{} (inside {})",
                    quote(&entries[p].node.code),
                    quote(&holder.node.code)
                ));
            }
        }
        format!(
            "the parent chain of node {} loops back to it: {}",
            quote(&e.node.code),
            chain.join(" → ")
        )
    };
    problem(out, format!("{}/parent", e.ptr), PARENT_CYCLE, message);
}

pub(super) fn check_node_kind(
    idx: usize,
    entries: &[Entry],
    broken_link: bool,
    zero: &[bool],
    out: &mut Vec<DocProblem>,
) {
    let e = &entries[idx];
    let kind = e.node.kind;
    if is_bonus_or_penalty(kind) && !e.children.is_empty() {
        let count = e.children.len();
        // nested children come first in `children`; without any, point at the first flat one
        let ptr = if e.node.children.is_empty() {
            format!("{}/parent", entries[e.children[0]].ptr)
        } else {
            format!("{}/children", e.ptr)
        };
        problem(
            out,
            ptr,
            BONUS_NOT_TOP_LEVEL,
            format!(
                "{} node {} has {count} child node(s); bonus and penalty nodes must be leaves",
                kind_name(kind),
                quote(&e.node.code)
            ),
        );
    }
    if broken_link {
        return;
    }
    let parent_kind = e.parent.map(|p| entries[p].node.kind);
    if let Some(p) = e.parent {
        let pk = entries[p].node.kind;
        if is_bonus_or_penalty(kind) {
            problem(
                out,
                format!("{}/kind", e.ptr),
                BONUS_NOT_TOP_LEVEL,
                format!(
                    "{} node {} sits under the {pk} {}; bonus and penalty nodes belong at the top level",
                    kind_name(kind),
                    quote(&e.node.code),
                    quote(&entries[p].node.code),
                    pk = kind_name(pk),
                ),
            );
            return;
        }
        if is_bonus_or_penalty(pk) {
            return; // reported on the bonus/penalty node itself
        }
    }
    let allowed = allowed_children(parent_kind);
    if allowed.contains(&kind) || zero[idx] {
        return;
    }
    let message = match e.parent {
        None => format!(
            "a {} cannot sit at the top level; top-level nodes may be: {}",
            kind_name(kind),
            kinds_list(allowed)
        ),
        Some(p) => format!(
            "a {} cannot sit under the {} {}; a {} may contain: {}",
            kind_name(kind),
            kind_name(entries[p].node.kind),
            quote(&entries[p].node.code),
            kind_name(entries[p].node.kind),
            kinds_list(allowed)
        ),
    };
    problem(
        out,
        format!("{}/kind", e.ptr),
        KIND_ORDER,
        format!("node {}: {message}", quote(&e.node.code)),
    );
}

pub(super) fn check_inner(e: &Entry, entries: &[Entry], out: &mut Vec<DocProblem>) {
    let node = e.node;
    let code = quote(&node.code);
    if let Some(m) = &node.method {
        problem(
            out,
            format!("{}/method", e.ptr),
            METHOD_ON_INNER_NODE,
            format!(
                "node {code} has children, so its points are their sum; remove its `{}` method",
                m.name()
            ),
        );
    }
    if node.automatic {
        problem(
            out,
            format!("{}/automatic", e.ptr),
            AUTOMATIC_ON_INNER_NODE,
            format!("node {code} has children; only leaves can be measured automatically"),
        );
    }
    if node.evidence != EvidenceRule::None {
        let rule = match node.evidence {
            EvidenceRule::Required => "required",
            _ => "optional",
        };
        problem(
            out,
            format!("{}/evidence", e.ptr),
            EVIDENCE_ON_INNER_NODE,
            format!(
                "node {code} has children but evidence is {rule:?}; evidence rules belong on leaves"
            ),
        );
    }
    if !node.applicability.is_default() {
        problem(
            out,
            format!("{}/applicability", e.ptr),
            APPLICABILITY_ON_INNER_NODE,
            format!("node {code} has children; applicability rules belong on leaves"),
        );
    }
    if node.evidence_expected.is_some() {
        problem(
            out,
            format!("{}/evidence_expected", e.ptr),
            EVIDENCE_ON_INNER_NODE,
            format!("node {code} has children; the evidence expected is described on its leaves"),
        );
    }
    if !node.inputs.is_empty() {
        problem(
            out,
            format!("{}/inputs", e.ptr),
            INPUT_TEXT_ON_INNER_NODE,
            format!("node {code} has children, so it takes no inputs; describe them on its leaves"),
        );
    }
    let sum = checked_sum(e.children.iter().map(|&c| entries[c].node.max_points));
    let sum_text = sum.map_or_else(|| "more than the decimal range".into(), num);
    let kids = match e.children.len() {
        1 => "its 1 child".to_string(),
        n => format!("its {n} children"),
    };
    let max = node.max_points;
    match node.children_policy {
        ChildrenPolicy::Sum if sum != Some(max) => problem(
            out,
            format!("{}/max_points", e.ptr),
            CHILDREN_SUM_MISMATCH,
            format!(
                "node {code} has max_points {} but the max_points of {kids} add up to {sum_text} \
                 (children_policy \"sum\" requires them to be equal)",
                num(max),
            ),
        ),
        ChildrenPolicy::Cap if sum.is_some_and(|s| s < max) => problem(
            out,
            format!("{}/max_points", e.ptr),
            CHILDREN_SUM_BELOW_MAX,
            format!(
                "node {code} has max_points {} but the max_points of {kids} add up to only {sum_text}, \
                 so its maximum can never be reached",
                num(max),
            ),
        ),
        _ => {}
    }
}

pub(super) fn check_leaf(e: &Entry, out: &mut Vec<DocProblem>) {
    let node = e.node;
    check_input_texts(e, out);
    match &node.method {
        None if !node.max_points.is_zero() => problem(
            out,
            format!("{}/method", e.ptr),
            METHOD_MISSING,
            format!(
                "leaf node {} has max_points {} but no scoring method",
                quote(&node.code),
                num(node.max_points)
            ),
        ),
        None => {}
        Some(m) => check_method(m, node.max_points, &format!("{}/method", e.ptr), out),
    }
}

/// The keys of a leaf's `inputs` must be inputs of its method; labels must not be blank.
pub(super) fn check_input_texts(e: &Entry, out: &mut Vec<DocProblem>) {
    let node = e.node;
    let names: &[&str] = node.method.as_ref().map_or(&[], Method::input_names);
    for (key, text) in &node.inputs {
        let p = format!("{}/inputs/{}", e.ptr, escape_token(key));
        if !names.contains(&key.as_str()) {
            let expected = if names.is_empty() {
                "it has no scoring method, so it takes no inputs".to_string()
            } else {
                format!(
                    "its `{}` method takes: {}",
                    node.method.as_ref().map_or("", Method::name),
                    names.join(", ")
                )
            };
            problem(
                out,
                p,
                INPUT_TEXT_UNKNOWN,
                format!(
                    "node {} describes input {}, but {expected}",
                    quote(&node.code),
                    quote(key)
                ),
            );
            continue;
        }
        check_name(&text.label, format!("{p}/label"), "input label", out);
    }
}
