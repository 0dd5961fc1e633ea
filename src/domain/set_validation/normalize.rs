//! Normalisation of a valid document into its canonical nested form.

use super::*;

/// After [`validate`] returned no problem: the canonical nested form. Flat-form nodes (top-level
/// entries with `parent`) are moved into their parent's `children`, after its nested children,
/// in document order, and every `parent` is cleared. Everything else is kept as submitted.
/// On an invalid document it still terminates: nodes in a parent cycle or under a missing parent
/// are dropped, and each flat node is placed at most once.
pub fn normalize(doc: &SetDocument) -> SetDocument {
    let mut flat_by_parent: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in doc.nodes.iter().enumerate() {
        if let Some(p) = &n.parent {
            flat_by_parent.entry(p.as_str()).or_default().push(i);
        }
    }
    let mut used = vec![false; doc.nodes.len()];
    let nodes = doc
        .nodes
        .iter()
        .filter(|n| n.parent.is_none())
        .map(|n| nest(n, &doc.nodes, &flat_by_parent, &mut used, 0))
        .collect();
    SetDocument {
        nodes,
        ..doc.clone()
    }
}

pub(super) fn nest(
    node: &Node,
    all: &[Node],
    flat_by_parent: &HashMap<&str, Vec<usize>>,
    used: &mut [bool],
    depth: usize,
) -> Node {
    let mut children: Vec<Node> = Vec::new();
    // a valid tree is at most MAX_TREE_DEPTH deep; the guard only matters for invalid input
    if depth <= MAX_JSON_DEPTH {
        for child in &node.children {
            children.push(nest(child, all, flat_by_parent, used, depth + 1));
        }
        for &i in flat_by_parent.get(node.code.as_str()).into_iter().flatten() {
            if !used[i] {
                used[i] = true;
                children.push(nest(&all[i], all, flat_by_parent, used, depth + 1));
            }
        }
    }
    Node {
        parent: None,
        children,
        ..shallow(node)
    }
}

/// A copy of the node without its children (avoids cloning the subtree twice).
pub(super) fn shallow(node: &Node) -> Node {
    Node {
        code: node.code.clone(),
        kind: node.kind,
        parent: node.parent.clone(),
        name: node.name.clone(),
        description: node.description.clone(),
        guidance: node.guidance.clone(),
        inputs: node.inputs.clone(),
        max_points: node.max_points,
        children_policy: node.children_policy,
        children: Vec::new(),
        method: node.method.clone(),
        evidence: node.evidence,
        evidence_expected: node.evidence_expected.clone(),
        data_source: node.data_source.clone(),
        verifying_body: node.verifying_body.clone(),
        automatic: node.automatic,
        applicability: node.applicability.clone(),
        replaces: node.replaces.clone(),
    }
}
