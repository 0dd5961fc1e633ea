#!/usr/bin/env python3
"""Check the seed data in seeds/ (stdlib only).

Checks every indicator-set document against the shape of `SetDocument`
(src/domain/indicator_set.rs: serde, deny_unknown_fields, snake_case, decimals
as strings) and against the invariants of the seeds (exact sums, counts per
main indicator, leaf counts, pillar maxima, unique codes, valid method
parameters, classification bands, the texts of every scored component:
guidance, a label for each input of its method, the evidence expected, the
data source and the verifying body; later versions of a family replacing codes
of the version below), then checks units.json and users.json (references,
lineage, accounts). Prints one summary line per file; exits 1 on any error.

Usage: python3 scripts/check_seeds.py [seeds-dir]
"""

import datetime
import json
import os
import re
import sys
from decimal import Decimal, InvalidOperation

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), "..", "seeds"))

CODE_RE = re.compile(r"^[A-Za-z0-9._-]+$")
DEC_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
UNIT_CODE_RE = re.compile(r"^[A-Za-z0-9._-]+$")
USERNAME_RE = re.compile(r"^[a-z0-9._-]+$")

NODE_KINDS = {"group", "main", "component", "criterion", "bonus", "penalty"}
CHILD_KINDS = {  # allowed kinds of children per parent kind
    "group": {"main"},
    "main": {"component"},
    "component": {"criterion"},
    "criterion": {"criterion"},
    "bonus": {"criterion"},
    "penalty": {"criterion"},
}
EVIDENCE = {"none", "optional", "required"}
DIRECTIONS = {"higher_is_better", "lower_is_better"}
ZERO_DEN = {"reject", "zero", "full", "not_applicable"}
POLICIES = {"sum", "cap"}
METHOD_FIELDS = {  # type -> (required, optional)
    "ratio": (set(), {"direction", "zero_denominator"}),
    "ratio_to_target": ({"target"}, {"direction", "zero_denominator"}),
    "tiers": ({"bands"}, {"direction"}),
    "boolean": (set(), {"direction"}),
    "choice": ({"options"}, set()),
    "capped_sum": ({"items"}, set()),
    "relative_to_best": (set(), {"direction"}),
    "survey": (set(), {"zero_denominator"}),
    "manual": (set(), set()),
}
DOC_REQ = {"schema_version", "code", "version", "name", "target_unit_kind", "legal_basis", "scale", "nodes",
           "classification"}
DOC_OPT = {"description", "year", "precision", "points_precision", "provenance", "pillars"}
NODE_REQ = {"code", "kind", "name", "max_points"}
NODE_OPT = {"parent", "description", "guidance", "inputs", "children_policy", "children", "method", "evidence",
            "evidence_expected", "data_source", "verifying_body", "automatic", "applicability", "replaces"}
SCHEMA_VERSION = 2
# the inputs of each method (Method::input_names)
INPUT_NAMES = {
    "ratio": {"numerator", "denominator"},
    "ratio_to_target": {"numerator", "denominator"},
    "survey": {"satisfied", "respondents"},
    "tiers": {"value"},
    "relative_to_best": {"value"},
    "boolean": {"value"},
    "choice": {"option"},
    "capped_sum": {"items"},
    "manual": {"points"},
}
CLASS_STATUS = {"decided", "example"}
UNIT_KINDS = {"province", "department", "district", "commune", "party_body", "fatherland_front"}
# unit kinds whose active units need an editor and a leader account
ACCOUNT_KINDS = {"department", "commune", "party_body", "fatherland_front"}
ROLES = {"admin", "reviewer", "viewer", "unit_editor", "unit_leader"}

# Per-file expectations (the brief of the seeds).
EXPECT = {
    "national-922-province.json": dict(
        code="QD922-TINH", target="province", scale="1000", leaves=98,
        mains={"1": (10, "100"), "2": (11, "100"), "3": (7, "100"), "4": (13, "100"), "5": (12, "100"),
               "6": (3, "0"), "7": (22, "200"), "8": (12, "150"), "9": (8, "150")},
        pillars={"CQS": "700", "KTS": "650", "XHS": "650"},
        all_methods=True),
    "dien-bien-department-500.json": dict(
        code="DB-SO-500", target="department", scale="500",
        mains={"1": (None, "50"), "2": (None, "50"), "3": (None, "50"), "4": (None, "50"), "5": (None, "50"),
               "6": (None, "250")},
        comp_range=(2, 5), need_tag="kinh_te_so", need_dna=True),
    "thanh-hoa-department-160.json": dict(code="TH-SO-160", target="department", scale="160", pillars={}),
    "thanh-hoa-district-270.json": dict(
        code="TH-HUYEN-270", target="district", scale="270",
        groups={"CQ": "160", "KT": "75", "XH": "35"},
        pillars={"CQS": "160", "KTS": "75", "XHS": "35"},
        tiers_example=[("1", "5"), ("2", "10"), ("3", "15"), ("4", "20")]),
    "hanoi-5279-commune-1000.json": dict(
        code="HN-XA-5279", target="commune", scale="1000", leaves=47,
        mains={"1": (5, "100"), "2": (3, "60"), "3": (5, "100"), "4": (6, "100"), "5": (4, "60"),
               "6": (10, "280"), "7": (6, "150"), "8": (8, "150")}),
    "yen-bai-564-2022.json": dict(
        code="YB-564", target="commune", leaves=40,
        pillar_leaves={"CQS": 23, "KTS": 6, "XHS": 11}),
    # Lào Cai: QĐ 2644/QĐ-UBND (version 1) and QĐ 3019/QĐ-UBND (version 2) per kind of unit; the
    # maxima of agencies without administrative procedures (750, then 800) are found, the rest inferred
    "lao-cai-2644-department.json": dict(code="LC-DTI-SO", version=1, target="department", scale="1000",
                                          decision="2644/QĐ-UBND", classification="decided"),
    "lao-cai-3019-department.json": dict(code="LC-DTI-SO", version=2, target="department", scale="1000",
                                          decision="3019/QĐ-UBND", classification="decided",
                                          names=["thời gian thực", "định danh điện tử mức độ 2", "QĐ 885/QĐ-BTTTT"]),
    "lao-cai-2644-commune.json": dict(code="LC-DTI-XA", version=1, target="commune", scale="1000",
                                       decision="2644/QĐ-UBND", classification="decided"),
    "lao-cai-3019-commune.json": dict(code="LC-DTI-XA", version=2, target="commune", scale="1000",
                                       decision="3019/QĐ-UBND", classification="decided",
                                       names=["thời gian thực", "định danh điện tử mức độ 2", "VNeID", "VssID",
                                              "ứng dụng di động của tỉnh", "QĐ 885/QĐ-BTTTT"]),
    "lao-cai-2644-party.json": dict(code="LC-DTI-DANG", version=1, target="party_body", scale="750",
                                     decision="2644/QĐ-UBND", classification="decided"),
    "lao-cai-3019-party.json": dict(code="LC-DTI-DANG", version=2, target="party_body", scale="800",
                                     decision="3019/QĐ-UBND", classification="decided"),
    "lao-cai-2644-front.json": dict(code="LC-DTI-MTTQ", version=1, target="fatherland_front", scale="750",
                                     decision="2644/QĐ-UBND", classification="decided"),
    "lao-cai-3019-front.json": dict(code="LC-DTI-MTTQ", version=2, target="fatherland_front", scale="800",
                                     decision="3019/QĐ-UBND", classification="decided",
                                     names=["VNeID, VssID"]),
}


class Errors:
    def __init__(self):
        self.items = []

    def add(self, where, msg):
        self.items.append(f"{where}: {msg}")


def dec(v, where, errs, allow_neg=False):
    """A decimal as the API expects it in seeds: a JSON string like "12.5"."""
    if not isinstance(v, str) or not DEC_RE.match(v):
        errs.add(where, f"decimal must be a JSON string like \"12.5\", got {v!r}")
        return None
    try:
        d = Decimal(v)
    except InvalidOperation:
        errs.add(where, f"unparsable decimal {v!r}")
        return None
    if d < 0 and not allow_neg:
        errs.add(where, f"negative decimal {v}")
    return d


def keys(obj, req, opt, where, errs):
    if not isinstance(obj, dict):
        errs.add(where, f"expected an object, got {type(obj).__name__}")
        return False
    for k in req:
        if k not in obj:
            errs.add(where, f"missing field '{k}'")
    for k in obj:
        if k not in req and k not in opt:
            errs.add(where, f"unknown field '{k}' (deny_unknown_fields)")
    for k, v in obj.items():
        if v is None:
            errs.add(where, f"field '{k}' is null")
    return True


def is_str(v, where, errs, nonempty=True):
    if not isinstance(v, str) or (nonempty and not v.strip()):
        errs.add(where, f"expected a non-empty string, got {v!r}")
        return False
    return True


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def parse_date(v, where, errs):
    if not isinstance(v, str):
        errs.add(where, f"date must be a string YYYY-MM-DD, got {v!r}")
        return None
    try:
        return datetime.date.fromisoformat(v) if re.match(r"^\d{4}-\d{2}-\d{2}$", v) else None
    except ValueError:
        pass
    errs.add(where, f"invalid date {v!r}")
    return None


def check_method(m, M, where, errs, stats):
    if not isinstance(m, dict) or "type" not in m:
        errs.add(where, "method must be an object with a 'type' tag")
        return
    t = m["type"]
    if t not in METHOD_FIELDS:
        errs.add(where, f"unknown method type {t!r}")
        return
    req, opt = METHOD_FIELDS[t]
    keys(m, req | {"type"}, opt, where + ".method", errs)
    stats["methods"][t] = stats["methods"].get(t, 0) + 1
    direction = m.get("direction", "higher_is_better")
    if direction not in DIRECTIONS:
        errs.add(where, f"bad direction {direction!r}")
    if direction == "lower_is_better":
        stats["lower"] += 1
    zd = m.get("zero_denominator", "reject")
    if zd not in ZERO_DEN:
        errs.add(where, f"bad zero_denominator {zd!r}")
    if "zero_denominator" in m and zd != "reject":
        stats["zd"] += 1
    if t == "ratio_to_target":
        tg = dec(m.get("target"), where + ".target", errs)
        if tg is not None and not (Decimal(0) < tg <= Decimal(1)):
            errs.add(where, f"target {tg} not in (0, 1]")
    elif t == "tiers":
        bands = m.get("bands")
        if not isinstance(bands, list) or not bands:
            errs.add(where, "tiers need at least one band")
            return
        prev_t = prev_p = None
        pts = []
        for i, b in enumerate(bands):
            bw = f"{where}.bands[{i}]"
            keys(b, {"threshold", "points"}, set(), bw, errs)
            th = dec(b.get("threshold"), bw + ".threshold", errs, allow_neg=True)
            p = dec(b.get("points"), bw + ".points", errs)
            if th is None or p is None:
                continue
            if prev_t is not None and th <= prev_t:
                errs.add(bw, "thresholds must be strictly ascending")
            if prev_p is not None:
                if direction == "higher_is_better" and p < prev_p:
                    errs.add(bw, "points must be non-decreasing (higher_is_better)")
                if direction == "lower_is_better" and p > prev_p:
                    errs.add(bw, "points must be non-increasing (lower_is_better)")
            if p > M:
                errs.add(bw, f"band points {p} exceed max {M}")
            prev_t, prev_p = th, p
            pts.append(p)
        if pts and max(pts) != M:
            errs.add(where, f"best band gives {max(pts)}, not the max {M}")
    elif t == "choice":
        opts = m.get("options")
        if not isinstance(opts, list) or len(opts) < 2:
            errs.add(where, "choice needs at least two options")
            return
        codes = set()
        pts = []
        for i, o in enumerate(opts):
            ow = f"{where}.options[{i}]"
            keys(o, {"code", "label", "points"}, set(), ow, errs)
            is_str(o.get("label"), ow + ".label", errs)
            c = o.get("code")
            if not isinstance(c, str) or not CODE_RE.match(c) or c in codes:
                errs.add(ow, f"option code {c!r} invalid or duplicate")
            codes.add(c)
            p = dec(o.get("points"), ow + ".points", errs)
            if p is not None:
                if p > M:
                    errs.add(ow, f"option points {p} exceed max {M}")
                pts.append(p)
        if pts and max(pts) != M:
            errs.add(where, f"best option gives {max(pts)}, not the max {M}")
    elif t == "capped_sum":
        items = m.get("items")
        if not isinstance(items, list) or not items:
            errs.add(where, "capped_sum needs at least one item")
            return
        codes = set()
        reachable = Decimal(0)
        unbounded = False
        for i, it in enumerate(items):
            iw = f"{where}.items[{i}]"
            keys(it, {"code", "label", "points_per_unit"}, {"cap"}, iw, errs)
            is_str(it.get("label"), iw + ".label", errs)
            c = it.get("code")
            if not isinstance(c, str) or not CODE_RE.match(c) or c in codes:
                errs.add(iw, f"item code {c!r} invalid or duplicate")
            codes.add(c)
            ppu = dec(it.get("points_per_unit"), iw + ".points_per_unit", errs)
            if ppu is not None and ppu <= 0:
                errs.add(iw, "points_per_unit must be > 0")
            if "cap" in it:
                cap = dec(it["cap"], iw + ".cap", errs)
                if cap is not None:
                    if cap > M or cap <= 0:
                        errs.add(iw, f"cap {cap} not in (0, max {M}]")
                    reachable += cap
            else:
                unbounded = True
        if not unbounded and reachable < M:
            errs.add(where, f"sum of caps {reachable} < max {M}: max unreachable")


def check_node(n, where, errs, st, parent_kind, depth):
    if isinstance(n, dict) and isinstance(n.get("code"), str):
        where = f"{where}[{n['code']}]"
    if not keys(n, NODE_REQ, NODE_OPT, where, errs):
        return Decimal(0)
    code = n.get("code")
    if not isinstance(code, str) or not CODE_RE.match(code):
        errs.add(where, f"bad code {code!r}")
    elif code in st["codes"]:
        errs.add(where, f"duplicate code {code!r}")
    st["codes"][code] = n
    kind = n.get("kind")
    if kind not in NODE_KINDS:
        errs.add(where, f"bad kind {kind!r}")
    if parent_kind is None and kind not in {"group", "main", "bonus", "penalty"}:
        errs.add(where, f"top-level node of kind {kind!r}")
    if parent_kind is not None and kind not in CHILD_KINDS.get(parent_kind, set()):
        errs.add(where, f"a {kind!r} cannot be a child of a {parent_kind!r}")
    if "parent" in n:
        errs.add(where, "seeds use the nested form; 'parent' not expected")
    is_str(n.get("name"), where + ".name", errs)
    for k in ("description", "guidance", "data_source", "verifying_body"):
        if k in n:
            is_str(n[k], f"{where}.{k}", errs)
    M = dec(n.get("max_points"), where + ".max_points", errs)
    if M is None:
        M = Decimal(0)
    if n.get("evidence", "none") not in EVIDENCE:
        errs.add(where, f"bad evidence {n.get('evidence')!r}")
    if n.get("children_policy", "sum") not in POLICIES:
        errs.add(where, f"bad children_policy {n.get('children_policy')!r}")
    if "automatic" in n and not isinstance(n["automatic"], bool):
        errs.add(where, "automatic must be a boolean")
    if "replaces" in n and not (isinstance(n["replaces"], list) and all(isinstance(x, str) for x in n["replaces"])):
        errs.add(where, "replaces must be a list of codes")
    if "applicability" in n:
        ap = n["applicability"]
        if keys(ap, set(), {"unit_tags_any", "declarable_not_applicable"}, where + ".applicability", errs):
            tags = ap.get("unit_tags_any", [])
            if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
                errs.add(where, "unit_tags_any must be a list of tags")
            else:
                st["tags"].update(tags)
            if "declarable_not_applicable" in ap:
                if not isinstance(ap["declarable_not_applicable"], bool):
                    errs.add(where, "declarable_not_applicable must be a boolean")
                elif ap["declarable_not_applicable"]:
                    st["dna"] += 1
    if kind == "main":
        st["mains"][code] = n
    children = n.get("children", [])
    if "children" in n and (not isinstance(children, list) or not children):
        errs.add(where, "children, when present, must be a non-empty list")
        children = []
    if children:
        if "method" in n:
            errs.add(where, "inner node must not have a method")
        if n.get("automatic"):
            errs.add(where, "inner node must not be automatic")
        if "applicability" in n:
            errs.add(where, "applicability belongs on leaves")
        total = sum((check_node(c, f"{where}/", errs, st, kind, depth + 1) for c in children), Decimal(0))
        policy = n.get("children_policy", "sum")
        if policy == "sum" and total != M:
            errs.add(where, f"children sum to {total}, max_points is {M}")
        if policy == "cap" and total < M:
            errs.add(where, f"children sum to {total} < max_points {M} (cap policy)")
    else:
        st["leaves"].append(n)
        if kind in {"group", "main"} and M > 0:
            errs.add(where, f"a {kind} leaf: main indicators need components")
        if M == 0:
            st["zero_leaves"] += 1
            if "method" in n:
                errs.add(where, "not-scored leaf (max 0) must not have a method")
        elif "method" not in n:
            errs.add(where, "scored leaf has no method")
        else:
            check_method(n["method"], M, where, errs, st)
        if n.get("automatic"):
            st["automatic"] += 1
        if n.get("evidence") == "required":
            st["evidence_required"] += 1
        if "method" in n:
            check_texts(n, where, errs, st)
    if children and ("inputs" in n or "evidence_expected" in n):
        errs.add(where, "inputs and evidence_expected belong on leaves")
    return M


def check_texts(n, where, errs, st):
    """A scored leaf says what to count, what each input is, what evidence to attach, who supplies
    the figure and who verifies it."""
    for k in ("guidance", "evidence_expected", "data_source", "verifying_body"):
        if k not in n:
            errs.add(where, f"scored component without {k}")
    t = (n.get("method") or {}).get("type")
    if "guidance" in n:
        st["guidance"] += 1
        if t in ("ratio", "ratio_to_target") and not re.search(r"\ba = .+; b = ", n["guidance"]):
            errs.add(where, "ratio guidance must name the numerator and the denominator: 'a = …; b = …'")
    if "evidence_expected" in n:
        st["evidence_expected"] += 1
    inputs = n.get("inputs")
    if not isinstance(inputs, dict):
        errs.add(where, "scored component without inputs (a label for each input of its method)")
        return
    want = INPUT_NAMES.get(t, set())
    if set(inputs) != want:
        errs.add(where, f"inputs describe {sorted(inputs)}, the {t} method takes {sorted(want)}")
    for k, text in inputs.items():
        if keys(text, {"label"}, {"description"}, f"{where}.inputs.{k}", errs):
            is_str(text.get("label"), f"{where}.inputs.{k}.label", errs)
            if "description" in text:
                is_str(text["description"], f"{where}.inputs.{k}.description", errs)


def check_classification(c, precision, where, errs):
    where = where + ".classification"
    if not keys(c, {"status", "bands"}, {"source"}, where, errs):
        return None
    if c.get("status") not in CLASS_STATUS:
        errs.add(where, f"status {c.get('status')!r} not in {sorted(CLASS_STATUS)}")
    if c.get("status") == "example" and not c.get("source"):
        errs.add(where, "an example scale says in source why it is an example")
    bands = c.get("bands")
    if not isinstance(bands, list) or not bands:
        errs.add(where, "bands must be a non-empty list")
        return None
    codes = set()
    prev = None
    for i, b in enumerate(bands):
        bw = f"{where}.bands[{i}]"
        if not keys(b, {"code", "label", "label_en", "min_index"}, set(), bw, errs):
            continue
        if not isinstance(b.get("code"), str) or not CODE_RE.match(b["code"]) or b["code"] in codes:
            errs.add(bw, f"band code {b.get('code')!r} invalid or duplicate")
        codes.add(b.get("code"))
        is_str(b.get("label"), bw + ".label", errs)
        is_str(b.get("label_en"), bw + ".label_en", errs)
        t = dec(b.get("min_index"), bw + ".min_index", errs)
        if t is None:
            continue
        if not Decimal(0) <= t <= Decimal(1):
            errs.add(bw, f"min_index {t} not in [0, 1]")
        if -t.normalize().as_tuple().exponent > precision:
            errs.add(bw, f"min_index {t} has more than {precision} decimals")
        if prev is not None and t >= prev:
            errs.add(bw, "bands are listed highest first, thresholds strictly descending")
        prev = t
    if prev is not None and prev != 0:
        errs.add(where, "the lowest band must start at 0")
    return c.get("status")


def leaves_under(n):
    ch = n.get("children") or []
    if not ch:
        return 1
    return sum(leaves_under(c) for c in ch)


def check_set(path, errs):
    name = os.path.basename(path)
    where = name
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        errs.add(where, f"invalid JSON: {e}")
        return None
    if text != json.dumps(doc, ensure_ascii=False, indent=2) + "\n":
        errs.add(where, "not pretty-printed (2-space indent, UTF-8, trailing newline)")
    if not keys(doc, DOC_REQ, DOC_OPT, where, errs):
        return None
    code = doc.get("code")
    if not isinstance(code, str) or not CODE_RE.match(code):
        errs.add(where, f"bad set code {code!r}")
    if not is_int(doc.get("version")) or doc.get("version", 0) < 1:
        errs.add(where, "version must be an integer >= 1")
    for k in ("year", "precision", "points_precision"):
        if k in doc and (not is_int(doc[k]) or doc[k] < 0):
            errs.add(where, f"{k} must be a non-negative integer")
    for k in ("name", "target_unit_kind", "description", "provenance"):
        if k in doc:
            is_str(doc[k], f"{where}.{k}", errs)
    for k in ("year", "description", "provenance"):
        if k not in doc:
            errs.add(where, f"seed sets must have '{k}'")
    if "inferred" not in doc.get("provenance", ""):
        errs.add(where, "provenance does not mark inferred numbers")
    lb = doc.get("legal_basis")
    if keys(lb, {"decision_number", "issuer"}, {"decision_date", "url"}, where + ".legal_basis", errs):
        is_str(lb.get("decision_number"), where + ".legal_basis.decision_number", errs)
        is_str(lb.get("issuer"), where + ".legal_basis.issuer", errs)
        if "decision_date" in lb:
            parse_date(lb["decision_date"], where + ".legal_basis.decision_date", errs)
        else:
            errs.add(where, "seed sets must give legal_basis.decision_date")
    scale = dec(doc.get("scale"), where + ".scale", errs) or Decimal(0)
    if scale <= 0:
        errs.add(where, "scale must be > 0")

    if doc.get("schema_version") != SCHEMA_VERSION:
        errs.add(where, f"schema_version must be {SCHEMA_VERSION}")
    st = {"codes": {}, "mains": {}, "leaves": [], "methods": {}, "lower": 0, "zd": 0, "automatic": 0,
          "evidence_required": 0, "guidance": 0, "evidence_expected": 0, "zero_leaves": 0, "tags": set(),
          "dna": 0}
    status = check_classification(doc.get("classification"), doc.get("precision", 4), where, errs)
    if "Classification" not in doc.get("provenance", "") and "classification" not in doc.get("provenance", ""):
        errs.add(where, "provenance does not say where the classification comes from")
    nodes = doc.get("nodes") or []
    if not isinstance(nodes, list) or not nodes:
        errs.add(where, "nodes must be a non-empty list")
        nodes = []
    total = Decimal(0)
    for n in nodes:
        M = check_node(n, where + ":", errs, st, None, 0)
        if isinstance(n, dict) and n.get("kind") not in {"bonus", "penalty"}:
            total += M
    if total != scale:
        errs.add(where, f"top-level nodes sum to {total}, scale is {scale}")

    pillar_max = {}
    pillar_leaves = {}
    pillars = doc.get("pillars", [])
    if not isinstance(pillars, list):
        errs.add(where, "pillars must be a list")
        pillars = []
    pcodes = set()
    for i, p in enumerate(pillars):
        pw = f"{where}.pillars[{i}]"
        if not keys(p, {"code", "name", "main_indicators"}, set(), pw, errs):
            continue
        pc = p.get("code")
        if not isinstance(pc, str) or not CODE_RE.match(pc) or pc in pcodes:
            errs.add(pw, f"pillar code {pc!r} invalid or duplicate")
        pcodes.add(pc)
        is_str(p.get("name"), pw + ".name", errs)
        mains = p.get("main_indicators")
        if not isinstance(mains, list) or not mains or len(set(mains)) != len(mains):
            errs.add(pw, "main_indicators must be a non-empty list without duplicates")
            continue
        s = Decimal(0)
        lv = 0
        for mc in mains:
            if mc not in st["mains"]:
                errs.add(pw, f"main indicator {mc!r} not found")
                continue
            s += Decimal(st["mains"][mc]["max_points"])
            lv += leaves_under(st["mains"][mc])
        pillar_max[pc] = s
        pillar_leaves[pc] = lv

    # Expectations of this seed file.
    exp = EXPECT.get(name)
    if exp is None:
        errs.add(where, "no expectations registered in check_seeds.py for this file")
        exp = {}
    if "code" in exp and code != exp["code"]:
        errs.add(where, f"code {code!r}, expected {exp['code']!r}")
    if "version" in exp and doc.get("version") != exp["version"]:
        errs.add(where, f"version {doc.get('version')!r}, expected {exp['version']!r}")
    if "decision" in exp and (doc.get("legal_basis") or {}).get("decision_number") != exp["decision"]:
        errs.add(where, f"decision {(doc.get('legal_basis') or {}).get('decision_number')!r}, expected {exp['decision']!r}")
    if exp.get("classification", "example") != status:
        errs.add(where, f"classification status {status!r}, expected {exp.get('classification', 'example')!r}")
    for needle in exp.get("names", []):
        if not any(needle in (lf.get("name", "") + " " + lf.get("description", "")) for lf in st["leaves"]):
            errs.add(where, f"no component about {needle!r}")
    if "target" in exp and doc.get("target_unit_kind") != exp["target"]:
        errs.add(where, f"target_unit_kind {doc.get('target_unit_kind')!r}, expected {exp['target']!r}")
    if "scale" in exp and scale != Decimal(exp["scale"]):
        errs.add(where, f"scale {scale}, expected {exp['scale']}")
    nleaves = len(st["leaves"])
    if "leaves" in exp and nleaves != exp["leaves"]:
        errs.add(where, f"{nleaves} leaves, expected {exp['leaves']}")
    if "mains" in exp:
        if set(st["mains"]) != set(exp["mains"]):
            errs.add(where, f"main indicators {sorted(st['mains'])}, expected {sorted(exp['mains'])}")
        for mc, (cnt, mx) in exp["mains"].items():
            m = st["mains"].get(mc)
            if m is None:
                continue
            nc = len(m.get("children") or [])
            if cnt is not None and nc != cnt:
                errs.add(where, f"main {mc}: {nc} components, expected {cnt}")
            if Decimal(m["max_points"]) != Decimal(mx):
                errs.add(where, f"main {mc}: max {m['max_points']}, expected {mx}")
    if "comp_range" in exp:
        lo, hi = exp["comp_range"]
        for mc, m in st["mains"].items():
            if not lo <= len(m.get("children") or []) <= hi:
                errs.add(where, f"main {mc}: {len(m.get('children') or [])} components, expected {lo}-{hi}")
    if "groups" in exp:
        got = {n.get("code"): n.get("max_points") for n in nodes if n.get("kind") == "group"}
        if got != exp["groups"]:
            errs.add(where, f"groups {got}, expected {exp['groups']}")
    if "pillars" in exp:
        got = {k: str(v) for k, v in pillar_max.items()}
        if got != exp["pillars"]:
            errs.add(where, f"pillar maxima {got}, expected {exp['pillars']}")
    if "pillar_leaves" in exp and pillar_leaves != exp["pillar_leaves"]:
        errs.add(where, f"pillar leaf counts {pillar_leaves}, expected {exp['pillar_leaves']}")
    if exp.get("all_methods"):
        missing = set(METHOD_FIELDS) - {"manual"} - set(st["methods"])
        if missing:
            errs.add(where, f"methods not used: {sorted(missing)}")
        if st["zero_leaves"] != exp["mains"]["6"][0]:
            errs.add(where, f"{st['zero_leaves']} not-scored leaves, expected those of main 6 only")
        for k, label in (("automatic", "automatic leaf"), ("lower", "lower_is_better method"),
                         ("zd", "non-default zero_denominator"), ("evidence_required", "evidence-required leaf")):
            if st[k] == 0:
                errs.add(where, f"no {label}")
    if exp.get("need_tag") and exp["need_tag"] not in st["tags"]:
        errs.add(where, f"no leaf restricted to unit tag {exp['need_tag']!r}")
    if exp.get("need_dna") and st["dna"] == 0:
        errs.add(where, "no declarable_not_applicable leaf")
    if "tiers_example" in exp:
        want = [{"threshold": t, "points": p} for t, p in exp["tiers_example"]]
        if not any((lf.get("method") or {}).get("bands") == want for lf in st["leaves"]):
            errs.add(where, f"no tiers leaf with bands {exp['tiers_example']}")

    mains_desc = " ".join(f"{mc}:{len(m.get('children') or [])}/{m['max_points']}" for mc, m in st["mains"].items())
    pil = " ".join(f"{k}={v}" for k, v in pillar_max.items()) or "-"
    meth = ",".join(f"{k}={v}" for k, v in sorted(st["methods"].items()))
    return {"code": code, "version": doc.get("version"), "doc": doc, "tags": st["tags"],
            "target": doc.get("target_unit_kind"), "summary": (
        f"{name}: {code} v{doc.get('version')} {doc.get('target_unit_kind')} scale={scale} "
          f"mains={len(st['mains'])} leaves={nleaves} [{mains_desc}] pillars[{pil}] methods[{meth}] "
          f"auto={st['automatic']} lower={st['lower']} zd={st['zd']} evidence_required={st['evidence_required']} "
          f"guidance={st['guidance']}/{nleaves} evidence_expected={st['evidence_expected']}/{nleaves} "
          f"classification={status}")}


def check_units(path, errs):
    where = "units.json"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    doc = json.loads(text)
    if text != json.dumps(doc, ensure_ascii=False, indent=2) + "\n":
        errs.add(where, "not pretty-printed (2-space indent, UTF-8, trailing newline)")
    keys(doc, {"ranking_groups", "units"}, set(), where, errs)
    groups = {}
    for i, g in enumerate(doc.get("ranking_groups", [])):
        gw = f"{where}.ranking_groups[{i}]"
        if not keys(g, {"code", "name", "unit_kind", "description"}, set(), gw, errs):
            continue
        c = g.get("code")
        if not isinstance(c, str) or not UNIT_CODE_RE.match(c) or c in groups:
            errs.add(gw, f"group code {c!r} invalid or duplicate")
        if g.get("unit_kind") not in UNIT_KINDS:
            errs.add(gw, f"bad unit_kind {g.get('unit_kind')!r}")
        is_str(g.get("name"), gw + ".name", errs)
        groups[c] = g
    units = {}
    raw = doc.get("units", [])
    ukeys = {"code", "name", "kind", "parent", "groups", "tags", "active", "valid_from", "valid_to", "predecessors"}
    for i, u in enumerate(raw):
        uw = f"{where}.units[{i}]"
        if not isinstance(u, dict):
            errs.add(uw, "expected an object")
            continue
        for k in ukeys - set(u):
            errs.add(uw, f"missing field '{k}'")
        for k in set(u) - ukeys:
            errs.add(uw, f"unknown field '{k}'")
        c = u.get("code")
        if not isinstance(c, str) or not UNIT_CODE_RE.match(c) or c in units:
            errs.add(uw, f"unit code {c!r} invalid (ASCII letters, digits, . - _) or duplicate")
        units[c] = u
    tags = set()
    for c, u in units.items():
        uw = f"{where}[{c}]"
        is_str(u.get("name"), uw + ".name", errs)
        if u.get("kind") not in UNIT_KINDS:
            errs.add(uw, f"bad kind {u.get('kind')!r}")
        p = u.get("parent")
        if p is not None and (p not in units or p == c):
            errs.add(uw, f"parent {p!r} not found")
        if not isinstance(u.get("active"), bool):
            errs.add(uw, "active must be a boolean")
        vf = parse_date(u["valid_from"], uw + ".valid_from", errs) if u.get("valid_from") is not None else None
        vt = parse_date(u["valid_to"], uw + ".valid_to", errs) if u.get("valid_to") is not None else None
        if vf and vt and vf > vt:
            errs.add(uw, "valid_from after valid_to")
        if u.get("active") is False and vt is None:
            errs.add(uw, "inactive unit without valid_to")
        if u.get("active") is True and vt is not None:
            errs.add(uw, "active unit with valid_to")
        for g in u.get("groups") or []:
            if g not in groups:
                errs.add(uw, f"ranking group {g!r} not found")
            elif groups[g]["unit_kind"] != u.get("kind"):
                errs.add(uw, f"group {g} is for {groups[g]['unit_kind']}, unit is {u.get('kind')}")
        if u.get("active") is False and u.get("groups"):
            errs.add(uw, "inactive unit in a ranking group")
        if not isinstance(u.get("tags"), list) or not all(isinstance(t, str) and t for t in u.get("tags") or []):
            errs.add(uw, "tags must be a list of strings")
        tags.update(u.get("tags") or [])
        for pr in u.get("predecessors") or []:
            if pr not in units or pr == c:
                errs.add(uw, f"predecessor {pr!r} not found")
                continue
            pu = units[pr]
            if pu.get("active"):
                errs.add(uw, f"predecessor {pr} is still active")
            pvt = pu.get("valid_to")
            if pvt and vf and datetime.date.fromisoformat(pvt) >= vf:
                errs.add(uw, f"predecessor {pr} valid_to {pvt} not before valid_from {vf}")
    # cycles in the parent chain
    for c in units:
        seen = set()
        x = c
        while x is not None and x in units:
            if x in seen:
                errs.add(where, f"parent cycle through {c}")
                break
            seen.add(x)
            x = units[x].get("parent")
    active = [u for u in units.values() if u.get("active")]
    kinds = {}
    for u in active:
        kinds[u["kind"]] = kinds.get(u["kind"], 0) + 1
    inactive = len(units) - len(active)
    lineage = sum(len(u.get("predecessors") or []) for u in units.values())
    return units, tags, (f"units.json: {len(groups)} ranking groups, {len(units)} units ({len(active)} active: "
          + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items()))
          + f"; {inactive} inactive), {lineage} predecessor links, tags={sorted(tags)}")


def check_users(path, units, errs):
    where = "users.json"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    doc = json.loads(text)
    if text != json.dumps(doc, ensure_ascii=False, indent=2) + "\n":
        errs.add(where, "not pretty-printed (2-space indent, UTF-8, trailing newline)")
    keys(doc, {"users"}, set(), where, errs)
    names = set()
    per_unit = {}
    roles = {}
    for i, u in enumerate(doc.get("users", [])):
        uw = f"{where}.users[{i}]"
        if not isinstance(u, dict):
            errs.add(uw, "expected an object")
            continue
        ukeys = {"username", "full_name", "role", "unit"}
        for k in ukeys - set(u):
            errs.add(uw, f"missing field '{k}'")
        for k in set(u) - ukeys:
            errs.add(uw, f"unknown field '{k}' (no passwords in seeds)")
        n = u.get("username")
        if not isinstance(n, str) or not USERNAME_RE.match(n) or n in names:
            errs.add(uw, f"username {n!r} invalid or duplicate")
        names.add(n)
        is_str(u.get("full_name"), uw + ".full_name", errs)
        r = u.get("role")
        if r not in ROLES:
            errs.add(uw, f"bad role {r!r}")
        roles[r] = roles.get(r, 0) + 1
        unit = u.get("unit")
        if unit is not None and unit not in units:
            errs.add(uw, f"unit {unit!r} not found")
        if r in {"unit_editor", "unit_leader"}:
            if unit is None or unit not in units:
                errs.add(uw, f"{r} needs an existing unit")
            else:
                if not units[unit].get("active"):
                    errs.add(uw, f"{r} of inactive unit {unit}")
                per_unit.setdefault(unit, []).append(r)
    for r in ("admin", "reviewer", "viewer"):
        if not roles.get(r):
            errs.add(where, f"no {r} account")
    for c, u in units.items():
        if u.get("active") and u.get("kind") in ACCOUNT_KINDS:
            got = sorted(per_unit.get(c, []))
            if got != ["unit_editor", "unit_leader"]:
                errs.add(where, f"unit {c}: accounts {got}, expected one unit_editor and one unit_leader")
    return (f"users.json: {len(names)} users (" + ", ".join(f"{k}={v}" for k, v in sorted(roles.items()))
            + f"), {len(per_unit)} units with accounts")


def all_nodes(nodes):
    for n in nodes:
        yield n
        yield from all_nodes(n.get("children") or [])


def check_family(code, versions, errs):
    """Versions of one set code: numbered 1, 2, …; the same target kind; each later version's
    `replaces` names codes of the version below, and says what it replaces."""
    nums = sorted(versions)
    if nums != list(range(1, len(nums) + 1)):
        errs.add(code, f"versions {nums} are not 1..n")
    kinds = {d.get("target_unit_kind") for _, d in versions.values()}
    if len(kinds) > 1:
        errs.add(code, f"versions target different kinds {sorted(kinds)}")
    replaced = 0
    for v in nums[1:]:
        f, doc = versions[v]
        below = {n["code"] for n in all_nodes(versions[v - 1][1]["nodes"])}
        mine = list(all_nodes(doc["nodes"]))
        for n in mine:
            for r in n.get("replaces", []):
                replaced += 1
                if r not in below:
                    errs.add(f, f"node {n['code']} replaces {r!r}, which version {v - 1} does not have")
        if not any(n.get("replaces") for n in mine):
            errs.add(f, f"version {v} declares no replaced codes of version {v - 1}")
        new = [n["code"] for n in mine if not n.get("replaces") and not n.get("children")]
        if not new:
            errs.add(f, f"version {v} adds nothing to version {v - 1}")
    return f"{code}: versions {nums}, {replaced} replaced codes, target {', '.join(sorted(kinds))}"


def main():
    errs = Errors()
    set_dir = os.path.join(ROOT, "indicator-sets")
    files = sorted(f for f in os.listdir(set_dir) if f.endswith(".json"))
    for m in sorted(set(EXPECT) - set(files)):
        errs.add(m, "expected indicator-set file is missing")

    def report(label, before, summary):
        status = "PASS" if len(errs.items) == before else "FAIL"
        print(f"{status} {summary or label}")

    set_codes = {}
    set_tags = set()
    families = {}
    for f in files:
        before = len(errs.items)
        info = check_set(os.path.join(set_dir, f), errs)
        if info:
            key = (info["code"], info["version"])
            if key in set_codes:
                errs.add(f, f"set {info['code']} v{info['version']} also in {set_codes[key]}")
            set_codes[key] = f
            families.setdefault(info["code"], {})[info["version"]] = (f, info["doc"])
            set_tags |= info["tags"]
        report(f, before, info and info["summary"])
    for code, versions in sorted(families.items()):
        if len(versions) > 1 or min(versions) != 1:
            before = len(errs.items)
            report(code, before, check_family(code, versions, errs))
    before = len(errs.items)
    units, unit_tags, summary = check_units(os.path.join(ROOT, "units.json"), errs)
    for t in sorted(set_tags - unit_tags):
        errs.add("units.json", f"applicability tag {t!r} used by a set but carried by no unit")
    report("units.json", before, summary)
    before = len(errs.items)
    report("users.json", before, check_users(os.path.join(ROOT, "users.json"), units, errs))
    if errs.items:
        print(f"\n{len(errs.items)} error(s):")
        for e in errs.items:
            print("  - " + e)
        sys.exit(1)
    print(f"\nall seeds valid ({len(files)} indicator sets, units, users)")


if __name__ == "__main__":
    main()
