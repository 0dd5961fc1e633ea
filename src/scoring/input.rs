//! Typed answers per scoring method, parsed and validated when they are written, never at
//! scoring time: once an answer is an [`Input`] it is trusted.
//!
//! Owns: the JSON shape of each method's answer ([`parse_input`], its inverse
//! [`input_to_json`]) and the JSON Schema a frontend renders the form from ([`input_schema`],
//! and [`node_input_schema`] with the node's texts: what to count, the evidence expected, the
//! data source and the verifying body). The member names of each method are
//! [`Method::input_names`]. Imports only `std`, `crate::domain`, `rust_decimal`, `serde` and
//! `serde_json`.
//!
//! | method | JSON | [`Input`] |
//! |---|---|---|
//! | `ratio`, `ratio_to_target` | `{"numerator": 3, "denominator": "4"}` | `Ratio { numerator: 3, denominator: 4 }` |
//! | `survey` | `{"satisfied": 820, "respondents": 1000}` | `Survey { .. }` |
//! | `tiers`, `relative_to_best` | `{"value": "12.5"}` | `Value(12.5)` |
//! | `boolean` | `{"value": true}` | `Bool(true)` |
//! | `choice` | `{"option": "deputy"}` | `Choice("deputy")` |
//! | `capped_sum` | `{"items": {"app": 7}}` (missing items = 0) | `Items({"app": 7})` |
//! | `manual` | `{"points": 12.5}` | `Points(12.5)` |
//!
//! Numbers are JSON numbers or plain decimal strings (`"12.5"`); `"NaN"`, `"inf"`, `"1e5"`,
//! `" 1"` are refused as strings. Every number must be non-negative and at most
//! [`MAX_MAGNITUDE`] (10^15). All problems are reported, each with a JSON pointer relative to
//! the input object and a stable code.
//!
//! Two doors, one reader: a request's input arrives as a `serde_json::Value`
//! ([`parse_input`]); a stored input is read straight from its JSON text ([`parse_input_text`],
//! scoring reads 340,000 at once) without building a `Value` tree. Both become a [`Json`] view
//! and go through the same rules.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value, json};

use crate::domain::indicator_set::{Direction, EvidenceRule, Method, Node, ZeroDenominator};

/// The largest accepted magnitude of any number in an answer (10^15).
pub const MAX_MAGNITUDE: Decimal = Decimal::from_parts(2_764_472_320, 232_830, 0, false, 0);

/// At most this many decimal places in a number given as a string.
pub const MAX_DECIMALS: usize = 20;

/// Pattern of a decimal string, as published in [`input_schema`].
pub const DECIMAL_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?$";

/// A validated answer for one leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `ratio` and `ratio_to_target`: `numerator ≤ denominator`.
    Ratio {
        numerator: Decimal,
        denominator: Decimal,
    },
    /// `survey`: `satisfied ≤ respondents`.
    Survey {
        satisfied: Decimal,
        respondents: Decimal,
    },
    /// `tiers` and `relative_to_best`.
    Value(Decimal),
    /// `boolean`.
    Bool(bool),
    /// `choice`: an option code of the method.
    Choice(String),
    /// `capped_sum`: item code → value; items not listed count as 0.
    Items(BTreeMap<String, Decimal>),
    /// `manual`: points in `[0, M]`.
    Points(Decimal),
}

/// One refused part of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    /// JSON pointer inside the input object, e.g. `/numerator`, `/items/app`; `""` = the object.
    pub pointer: String,
    /// Stable code, e.g. `NUMERATOR_EXCEEDS_DENOMINATOR`.
    pub code: &'static str,
    /// English explanation for people.
    pub message: String,
}

/// Stable error codes of [`InputError`].
pub mod codes {
    pub const INPUT_NOT_OBJECT: &str = "INPUT_NOT_OBJECT";
    pub const INPUT_MISSING: &str = "INPUT_MISSING";
    pub const INPUT_UNKNOWN_FIELD: &str = "INPUT_UNKNOWN_FIELD";
    pub const INPUT_TYPE: &str = "INPUT_TYPE";
    pub const INPUT_NEGATIVE: &str = "INPUT_NEGATIVE";
    pub const NUMERATOR_EXCEEDS_DENOMINATOR: &str = "NUMERATOR_EXCEEDS_DENOMINATOR";
    pub const ZERO_DENOMINATOR: &str = "ZERO_DENOMINATOR";
    pub const UNKNOWN_OPTION: &str = "UNKNOWN_OPTION";
    pub const UNKNOWN_ITEM: &str = "UNKNOWN_ITEM";
    pub const POINTS_OUT_OF_RANGE: &str = "POINTS_OUT_OF_RANGE";
    pub const INPUT_TOO_LARGE: &str = "INPUT_TOO_LARGE";
}
use codes::*;

fn err(pointer: impl Into<String>, code: &'static str, message: impl Into<String>) -> InputError {
    InputError {
        pointer: pointer.into(),
        code,
        message: message.into(),
    }
}

/// Escapes one JSON pointer segment (RFC 6901: `~` → `~0`, `/` → `~1`).
fn segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A JSON value as the input rules read it: strings and member names borrowed from the text
/// they were read from (owned only when they hold an escape), objects as their members in
/// order, arrays without their items (no input member is ever an array). Read from a stored
/// text it allocates one vector per object and nothing per number, where a `Value` tree
/// allocates a map node and a string per member.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array,
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// A view of a parsed value.
    pub fn of(value: &'a Value) -> Json<'a> {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => Json::String(Cow::Borrowed(s)),
            Value::Array(_) => Json::Array,
            Value::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Json::of(v)))
                    .collect(),
            ),
        }
    }

    /// The value of member `key` of an object (the last one, as `serde_json` keeps it when a
    /// text repeats a member).
    fn member(members: &'a [(Cow<'a, str>, Json<'a>)], key: &str) -> Option<&'a Json<'a>> {
        members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Json<'de>, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Json<'de>, E> {
                Ok(Json::Bool(b))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Json<'de>, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Json<'de>, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json<'de>, E> {
                Number::from_f64(n)
                    .map(Json::Number)
                    .ok_or_else(|| E::custom("not a finite number"))
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Json<'de>, E> {
                Ok(Json::String(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Json<'de>, E> {
                Ok(Json::String(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Json<'de>, E> {
                Ok(Json::String(Cow::Owned(s)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Json::Array)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(2));
                // a member name is read as a string value is: borrowed unless escaped
                while let Some(key) = map.next_key::<Json<'de>>()? {
                    let Json::String(key) = key else {
                        return Err(de::Error::custom("a member name is not a string"));
                    };
                    members.push((key, map.next_value::<Json<'de>>()?));
                }
                Ok(Json::Object(members))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses a decimal from a JSON number or a plain decimal string. Sign and range checks are
/// left to the caller, except magnitude (> 10^15 → `INPUT_TOO_LARGE`).
pub fn parse_decimal(v: &Json) -> Result<Decimal, (&'static str, String)> {
    let parsed = match v {
        Json::Number(n) => {
            if let Some(u) = n.as_u64() {
                Decimal::from(u)
            } else if let Some(i) = n.as_i64() {
                Decimal::from(i)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if !f.is_finite() {
                    return Err((INPUT_TYPE, "not a finite number".into()));
                }
                if f.abs() > 1e15 {
                    return Err((INPUT_TOO_LARGE, "magnitude above 10^15".into()));
                }
                // serde_json prints the shortest text that reads back as the same f64,
                // e.g. 0.1 → "0.1", 1.5e-7 → "1.5e-7": parse that text, not the binary value.
                let text = n.to_string();
                let d = if text.contains(['e', 'E']) {
                    Decimal::from_scientific(&text)
                } else {
                    Decimal::from_str(&text)
                };
                d.map_err(|_| (INPUT_TYPE, format!("{text} is not a representable decimal")))?
            }
        }
        Json::String(s) => {
            let (neg, body) = match s.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, &**s),
            };
            let (int, frac) = match body.split_once('.') {
                Some((i, f)) => (i, Some(f)),
                None => (body, None),
            };
            let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            if !digits(int) || frac.is_some_and(|f| !digits(f)) {
                return Err((INPUT_TYPE, format!("{s:?} is not a decimal number")));
            }
            if int.trim_start_matches('0').len() > 16 {
                return Err((INPUT_TOO_LARGE, "magnitude above 10^15".into()));
            }
            if frac.is_some_and(|f| f.len() > MAX_DECIMALS) {
                return Err((
                    INPUT_TYPE,
                    format!("at most {MAX_DECIMALS} decimal places are accepted"),
                ));
            }
            let d = Decimal::from_str(body)
                .map_err(|_| (INPUT_TYPE, format!("{s:?} is not a decimal number")))?;
            if neg { -d } else { d }
        }
        _ => return Err((INPUT_TYPE, "expected a number or a decimal string".into())),
    };
    if parsed.abs() > MAX_MAGNITUDE {
        return Err((INPUT_TOO_LARGE, "magnitude above 10^15".into()));
    }
    // "-0" and 0.0 are plain zero.
    Ok(if parsed.is_zero() {
        Decimal::ZERO
    } else {
        parsed
    })
}

/// Reads the fields of an input object, collecting every problem.
struct Reader<'a> {
    obj: &'a [(Cow<'a, str>, Json<'a>)],
    errors: Vec<InputError>,
}

impl<'a> Reader<'a> {
    fn new(json: &'a Json<'a>, allowed: &[&str]) -> Result<Self, Vec<InputError>> {
        let Json::Object(obj) = json else {
            return Err(vec![err(
                "",
                INPUT_NOT_OBJECT,
                "the input must be a JSON object",
            )]);
        };
        let mut errors = Vec::new();
        // Sorted, so the report does not depend on serde_json's `preserve_order` feature; a
        // stored input (scoring reads 340,000 at once) has none and allocates nothing here.
        let mut unknown: Vec<&str> = obj
            .iter()
            .map(|(key, _)| &**key)
            .filter(|key| !allowed.contains(key))
            .collect();
        unknown.sort();
        unknown.dedup();
        for key in unknown {
            errors.push(err(
                format!("/{}", segment(key)),
                INPUT_UNKNOWN_FIELD,
                format!("unknown field {key:?}; expected {}", allowed.join(", ")),
            ));
        }
        Ok(Reader { obj, errors })
    }

    fn field(&mut self, key: &str) -> Option<&'a Json<'a>> {
        let v = Json::member(self.obj, key);
        if v.is_none() {
            self.errors.push(err(
                format!("/{key}"),
                INPUT_MISSING,
                format!("{key} is required"),
            ));
        }
        v
    }

    /// A non-negative decimal at the pointer `at` gives (spelled only for an error).
    fn number_at(&mut self, at: impl FnOnce() -> String, v: &Json) -> Option<Decimal> {
        match parse_decimal(v) {
            Ok(d) if d.is_sign_negative() => {
                self.errors
                    .push(err(at(), INPUT_NEGATIVE, "must not be negative"));
                None
            }
            Ok(d) => Some(d),
            Err((code, message)) => {
                self.errors.push(err(at(), code, message));
                None
            }
        }
    }

    fn number(&mut self, key: &str) -> Option<Decimal> {
        let v = self.field(key)?;
        self.number_at(|| format!("/{key}"), v)
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, Vec<InputError>> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(self.errors),
        }
    }
}

fn fraction(
    json: &Json,
    (num_key, den_key): (&str, &str),
    rule: ZeroDenominator,
) -> Result<(Decimal, Decimal), Vec<InputError>> {
    let mut r = Reader::new(json, &[num_key, den_key])?;
    let a = r.number(num_key);
    let b = r.number(den_key);
    if let (Some(a), Some(b)) = (a, b) {
        if a > b {
            r.errors.push(err(
                format!("/{num_key}"),
                NUMERATOR_EXCEEDS_DENOMINATOR,
                format!("{num_key} ({a}) exceeds {den_key} ({b})"),
            ));
        }
        if b.is_zero() && rule == ZeroDenominator::Reject {
            r.errors.push(err(
                format!("/{den_key}"),
                ZERO_DENOMINATOR,
                format!("{den_key} must be positive for this indicator"),
            ));
        }
    }
    let pair = a.zip(b);
    r.finish(pair)
}

/// The two members of a fraction method (`ratio`, `ratio_to_target`, `survey`).
fn pair(method: &Method) -> (&'static str, &'static str) {
    match method.input_names() {
        [a, b] => (a, b),
        _ => ("numerator", "denominator"),
    }
}

/// Parses and validates the answer `json` of a leaf scored by `method` with maximum
/// `max_points`. Returns every problem found, not only the first.
///
/// Example: ratio, `{"numerator": "3", "denominator": 4}` → `Input::Ratio { 3, 4 }`;
/// `{"numerator": 5, "denominator": 4, "x": 1}` → `[/x INPUT_UNKNOWN_FIELD,
/// /numerator NUMERATOR_EXCEEDS_DENOMINATOR]`.
pub fn parse_input(
    method: &Method,
    max_points: Decimal,
    json: &Value,
) -> Result<Input, Vec<InputError>> {
    read_input(method, max_points, &Json::of(json))
}

/// [`parse_input`] of a JSON text (a stored input), read straight into the typed input: no
/// `serde_json::Value` tree on the way. A text that is not JSON is refused as not an object.
///
/// Example: ratio, `br#"{"numerator": 3, "denominator": "4"}"#` → `Input::Ratio { 3, 4 }`.
pub fn parse_input_text(
    method: &Method,
    max_points: Decimal,
    text: &[u8],
) -> Result<Input, Vec<InputError>> {
    match serde_json::from_slice::<Json>(text) {
        Ok(json) => read_input(method, max_points, &json),
        Err(e) => Err(vec![err(
            "",
            INPUT_NOT_OBJECT,
            format!("the input is not JSON: {e}"),
        )]),
    }
}

/// The rules of every method, on either door's view of the input.
fn read_input(method: &Method, max_points: Decimal, json: &Json) -> Result<Input, Vec<InputError>> {
    match method {
        Method::Ratio {
            zero_denominator, ..
        }
        | Method::RatioToTarget {
            zero_denominator, ..
        } => fraction(json, pair(method), *zero_denominator).map(|(numerator, denominator)| {
            Input::Ratio {
                numerator,
                denominator,
            }
        }),
        Method::Survey { zero_denominator } => {
            fraction(json, pair(method), *zero_denominator).map(|(satisfied, respondents)| {
                Input::Survey {
                    satisfied,
                    respondents,
                }
            })
        }
        Method::Tiers { .. } | Method::RelativeToBest { .. } => {
            let mut r = Reader::new(json, method.input_names())?;
            let v = r.number("value");
            r.finish(v.map(Input::Value))
        }
        Method::Boolean { .. } => {
            let mut r = Reader::new(json, method.input_names())?;
            let v = match r.field("value") {
                Some(Json::Bool(b)) => Some(*b),
                Some(_) => {
                    r.errors
                        .push(err("/value", INPUT_TYPE, "expected true or false"));
                    None
                }
                None => None,
            };
            r.finish(v.map(Input::Bool))
        }
        Method::Choice { options } => {
            let mut r = Reader::new(json, method.input_names())?;
            let v = match r.field("option") {
                Some(Json::String(s)) if options.iter().any(|o| o.code == *s) => {
                    Some(s.to_string())
                }
                Some(Json::String(s)) => {
                    let known: Vec<&str> = options.iter().map(|o| o.code.as_str()).collect();
                    r.errors.push(err(
                        "/option",
                        UNKNOWN_OPTION,
                        format!("unknown option {s:?}; expected one of {}", known.join(", ")),
                    ));
                    None
                }
                Some(_) => {
                    r.errors.push(err(
                        "/option",
                        INPUT_TYPE,
                        "expected an option code (string)",
                    ));
                    None
                }
                None => None,
            };
            r.finish(v.map(Input::Choice))
        }
        Method::CappedSum { items } => {
            let mut r = Reader::new(json, method.input_names())?;
            let v = match r.field("items") {
                Some(Json::Object(members)) => {
                    let mut out = BTreeMap::new();
                    // by name; a repeated name counts once, its last value (as in a `Value`)
                    let mut entries: Vec<&(Cow<str>, Json)> = members.iter().rev().collect();
                    entries.sort_by(|a, b| a.0.cmp(&b.0));
                    entries.dedup_by(|later, earlier| later.0 == earlier.0);
                    for (key, value) in entries {
                        let pointer = || format!("/items/{}", segment(key));
                        if !items.iter().any(|i| i.code == *key) {
                            r.errors.push(err(
                                pointer(),
                                UNKNOWN_ITEM,
                                format!("unknown item {key:?}"),
                            ));
                        } else if let Some(d) = r.number_at(pointer, value) {
                            out.insert(key.to_string(), d);
                        }
                    }
                    Some(out)
                }
                Some(_) => {
                    r.errors.push(err(
                        "/items",
                        INPUT_TYPE,
                        "expected an object of item code → number",
                    ));
                    None
                }
                None => None,
            };
            r.finish(v.map(Input::Items))
        }
        Method::Manual => {
            let mut r = Reader::new(json, method.input_names())?;
            let v = match r.field("points").map(parse_decimal) {
                Some(Ok(p)) if p.is_sign_negative() || p > max_points => {
                    r.errors.push(err(
                        "/points",
                        POINTS_OUT_OF_RANGE,
                        format!("points must be between 0 and {}", max_points.normalize()),
                    ));
                    None
                }
                Some(Ok(p)) => Some(p),
                Some(Err((code, message))) => {
                    r.errors.push(err("/points", code, message));
                    None
                }
                None => None,
            };
            r.finish(v.map(Input::Points))
        }
    }
}

fn dec_json(d: Decimal) -> Value {
    Value::String(d.to_string())
}

/// The JSON form of an input, decimals as strings; `parse_input(m, M, &input_to_json(i))`
/// gives back `i` for every valid `i`.
///
/// Example: `Input::Ratio { 3, 4 }` → `{"numerator": "3", "denominator": "4"}`.
pub fn input_to_json(input: &Input) -> Value {
    match input {
        Input::Ratio {
            numerator,
            denominator,
        } => json!({"numerator": dec_json(*numerator), "denominator": dec_json(*denominator)}),
        Input::Survey {
            satisfied,
            respondents,
        } => json!({"satisfied": dec_json(*satisfied), "respondents": dec_json(*respondents)}),
        Input::Value(v) => json!({"value": dec_json(*v)}),
        Input::Bool(b) => json!({"value": b}),
        Input::Choice(c) => json!({"option": c}),
        Input::Items(items) => {
            let map: Map<String, Value> = items
                .iter()
                .map(|(k, v)| (k.clone(), dec_json(*v)))
                .collect();
            json!({ "items": map })
        }
        Input::Points(p) => json!({"points": dec_json(*p)}),
    }
}

/// A decimal as a JSON number, for schema bounds only (never for scores).
fn dec_number(d: Decimal) -> Value {
    serde_json::from_str(&d.normalize().to_string()).unwrap_or(Value::Null)
}

fn number_schema(title: &str, description: &str, maximum: Option<Decimal>) -> Value {
    json!({
        "title": title,
        "description": description,
        "type": ["number", "string"],
        "pattern": DECIMAL_PATTERN,
        "minimum": 0,
        "maximum": dec_number(maximum.unwrap_or(MAX_MAGNITUDE)),
    })
}

fn object_schema(method: &Method, max: Decimal, description: String, props: Value) -> Value {
    let mut required: Vec<String> = props
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    required.sort();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": method.name(),
        "description": description,
        "properties": props,
        "required": required,
        "additionalProperties": false,
        "x-method": method.name(),
        "x-max-points": max.normalize().to_string(),
    })
}

fn direction_note(d: Direction) -> &'static str {
    match d {
        Direction::HigherIsBetter => "higher is better",
        Direction::LowerIsBetter => "lower is better",
    }
}

/// A JSON Schema (2020-12) of the answer object, for frontends to render the form from.
/// Decimals are `["number", "string"]` with [`DECIMAL_PATTERN`]; `x-method` and
/// `x-max-points` repeat the method and `M`.
///
/// Example: choice with options `chair` (10) and `deputy` (5) →
/// `{"type": "object", "required": ["option"], "properties": {"option": {"type": "string",
/// "enum": ["chair", "deputy"], "oneOf": [{"const": "chair", "title": "Chủ tịch", …}, …]}}, …}`.
pub fn input_schema(method: &Method, max_points: Decimal) -> Value {
    let m = max_points.normalize();
    let fraction_props = |a: (&str, &str), b: (&str, &str)| {
        let mut p = Map::new();
        p.insert(a.0.into(), number_schema(a.1, "", None));
        p.insert(b.0.into(), number_schema(b.1, "", None));
        Value::Object(p)
    };
    match method {
        Method::Ratio {
            direction,
            zero_denominator,
        } => object_schema(
            method,
            max_points,
            format!(
                "S = {m} × numerator / denominator ({}); numerator ≤ denominator; zero denominator: {}",
                direction_note(*direction),
                zero_rule_name(*zero_denominator)
            ),
            fraction_props(
                ("numerator", "Tử số (numerator)"),
                ("denominator", "Mẫu số (denominator)"),
            ),
        ),
        Method::RatioToTarget {
            target,
            direction,
            zero_denominator,
        } => object_schema(
            method,
            max_points,
            format!(
                "S = {m} × min(1, (numerator / denominator) / {}) ({}); zero denominator: {}",
                target.normalize(),
                direction_note(*direction),
                zero_rule_name(*zero_denominator)
            ),
            fraction_props(
                ("numerator", "Tử số (numerator)"),
                ("denominator", "Mẫu số (denominator)"),
            ),
        ),
        Method::Survey { zero_denominator } => object_schema(
            method,
            max_points,
            format!(
                "S = {m} × satisfied / respondents; zero respondents: {}",
                zero_rule_name(*zero_denominator)
            ),
            fraction_props(
                ("satisfied", "Số người hài lòng (satisfied)"),
                ("respondents", "Số người được khảo sát (respondents)"),
            ),
        ),
        Method::Tiers { direction, bands } => {
            let bands_text: Vec<String> = bands
                .iter()
                .map(|b| format!("{} → {}", b.threshold.normalize(), b.points.normalize()))
                .collect();
            object_schema(
                method,
                max_points,
                format!(
                    "points of the best satisfied band ({}): {}",
                    direction_note(*direction),
                    bands_text.join("; ")
                ),
                json!({"value": number_schema("Giá trị (value)", "", None)}),
            )
        }
        Method::RelativeToBest { direction } => object_schema(
            method,
            max_points,
            format!(
                "S = {m} × value / best value of the ranking group ({})",
                direction_note(*direction)
            ),
            json!({"value": number_schema("Giá trị (value)", "", None)}),
        ),
        Method::Boolean { direction } => object_schema(
            method,
            max_points,
            format!(
                "{m} points for {}, else 0",
                match direction {
                    Direction::HigherIsBetter => "yes",
                    Direction::LowerIsBetter => "no",
                }
            ),
            json!({"value": {"title": "Có / Không (yes / no)", "type": "boolean"}}),
        ),
        Method::Choice { options } => {
            let codes: Vec<&str> = options.iter().map(|o| o.code.as_str()).collect();
            let one_of: Vec<Value> = options
                .iter()
                .map(|o| {
                    json!({"const": o.code, "title": o.label, "x-points": o.points.normalize().to_string()})
                })
                .collect();
            object_schema(
                method,
                max_points,
                "the chosen option's points".into(),
                json!({"option": {"title": "Lựa chọn (option)", "type": "string", "enum": codes, "oneOf": one_of}}),
            )
        }
        Method::CappedSum { items } => {
            let props: Map<String, Value> = items
                .iter()
                .map(|i| {
                    let cap = i
                        .cap
                        .map(|c| format!(", at most {} points", c.normalize()))
                        .unwrap_or_default();
                    let desc = format!("{} points per unit{cap}", i.points_per_unit.normalize());
                    (i.code.clone(), number_schema(&i.label, &desc, None))
                })
                .collect();
            let mut schema = object_schema(
                method,
                max_points,
                format!("S = min({m}, Σ min(cap, value × points per unit)); missing items = 0"),
                json!({"items": {"title": "Các mục (items)", "type": "object", "properties": props, "additionalProperties": false}}),
            );
            // Items themselves are optional (missing = 0), the object is required.
            schema["properties"]["items"]["required"] = json!([]);
            schema
        }
        Method::Manual => object_schema(
            method,
            max_points,
            format!("points entered directly, 0 ≤ S ≤ {m}"),
            json!({"points": number_schema("Điểm (points)", "", Some(max_points))}),
        ),
    }
}

/// The answer schema of a leaf (`None` for a node without a method), carrying the node's
/// texts for the form: `title` is the node's name; `description` its guidance (what to count)
/// followed by the formula, which `x-formula` repeats alone; each input's `title` and
/// `description` come from the node's `inputs` (the method's defaults otherwise); `x-evidence`,
/// `x-evidence-expected`, `x-data-source` and `x-verifying-body` say what evidence to attach,
/// who supplies the figure and who verifies it.
///
/// Example: ratio "Tỷ lệ cuộc họp do Chủ tịch chủ trì" with `inputs.numerator.label` "Số cuộc
/// họp do Chủ tịch chủ trì" → `properties.numerator.title` = that label.
pub fn node_input_schema(node: &Node) -> Option<Value> {
    let method = node.method.as_ref()?;
    let mut schema = input_schema(method, node.max_points);
    let formula = schema["description"].clone();
    schema["title"] = Value::String(node.name.clone());
    schema["x-formula"] = formula.clone();
    if let Some(g) = node.guidance.as_deref().filter(|g| !g.trim().is_empty()) {
        schema["description"] = Value::String(format!(
            "{g}\n\nCách tính điểm: {}",
            formula.as_str().unwrap_or_default()
        ));
    }
    if let Some(props) = schema["properties"].as_object_mut() {
        for (key, text) in &node.inputs {
            if let Some(prop) = props.get_mut(key) {
                prop["title"] = Value::String(text.label.clone());
                if let Some(d) = &text.description {
                    prop["description"] = Value::String(d.clone());
                }
            }
        }
    }
    schema["x-evidence"] = Value::String(
        match node.evidence {
            EvidenceRule::None => "none",
            EvidenceRule::Optional => "optional",
            EvidenceRule::Required => "required",
        }
        .into(),
    );
    for (key, text) in [
        ("x-evidence-expected", &node.evidence_expected),
        ("x-data-source", &node.data_source),
        ("x-verifying-body", &node.verifying_body),
    ] {
        if let Some(t) = text {
            schema[key] = Value::String(t.clone());
        }
    }
    Some(schema)
}

pub(crate) fn zero_rule_name(z: ZeroDenominator) -> &'static str {
    match z {
        ZeroDenominator::Reject => "reject",
        ZeroDenominator::Zero => "zero",
        ZeroDenominator::Full => "full",
        ZeroDenominator::NotApplicable => "not_applicable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::indicator_set::{ChoiceOption, SumItem};

    fn ratio(z: ZeroDenominator) -> Method {
        Method::Ratio {
            direction: Direction::HigherIsBetter,
            zero_denominator: z,
        }
    }

    fn choice() -> Method {
        Method::Choice {
            options: vec![
                ChoiceOption {
                    code: "chair".into(),
                    label: "Chủ tịch".into(),
                    points: dec!(10),
                },
                ChoiceOption {
                    code: "deputy".into(),
                    label: "Phó chủ tịch".into(),
                    points: dec!(5),
                },
            ],
        }
    }

    fn capped() -> Method {
        Method::CappedSum {
            items: vec![
                SumItem {
                    code: "app".into(),
                    label: "Ứng dụng".into(),
                    points_per_unit: dec!(1),
                    cap: None,
                },
                SumItem {
                    code: "a/b".into(),
                    label: "Odd".into(),
                    points_per_unit: dec!(2),
                    cap: Some(dec!(3)),
                },
            ],
        }
    }

    fn codes_of(r: Result<Input, Vec<InputError>>) -> Vec<(String, &'static str)> {
        r.expect_err("expected refusal")
            .into_iter()
            .map(|e| (e.pointer, e.code))
            .collect()
    }

    fn c(p: &str, code: &'static str) -> (String, &'static str) {
        (p.to_string(), code)
    }

    #[test]
    fn numbers_and_decimal_strings_are_accepted() {
        let m = ratio(ZeroDenominator::Reject);
        let got = parse_input(&m, dec!(20), &json!({"numerator": "3", "denominator": 4})).unwrap();
        assert_eq!(
            got,
            Input::Ratio {
                numerator: dec!(3),
                denominator: dec!(4)
            }
        );
        let v = parse_input(
            &Method::Tiers {
                direction: Direction::HigherIsBetter,
                bands: vec![],
            },
            dec!(20),
            &json!({"value": 12.5}),
        )
        .unwrap();
        assert_eq!(v, Input::Value(dec!(12.5)));
        assert_eq!(parse_decimal(&Json::of(&json!(0.1))).unwrap(), dec!(0.1));
        assert_eq!(parse_decimal(&Json::of(&json!(1e3))).unwrap(), dec!(1000));
        assert_eq!(
            parse_decimal(&Json::of(&json!("-0"))).unwrap(),
            Decimal::ZERO
        );
        assert_eq!(
            parse_decimal(&Json::of(&json!("007.50"))).unwrap(),
            dec!(7.50)
        );
    }

    #[test]
    fn garbage_numbers_are_refused_with_input_type() {
        for bad in [
            json!("NaN"),
            json!("inf"),
            json!("1e5"),
            json!(" 1"),
            json!(""),
            json!("1."),
            json!(".5"),
            json!("+1"),
            json!("0x10"),
            json!(null),
            json!(true),
            json!([1]),
            json!("1.000000000000000000001"),
        ] {
            assert_eq!(
                parse_decimal(&Json::of(&bad)).unwrap_err().0,
                INPUT_TYPE,
                "{bad}"
            );
        }
    }

    #[test]
    fn absurd_magnitudes_are_refused_with_input_too_large() {
        for bad in [
            json!(1e16),
            json!(10_000_000_000_000_001_u64),
            json!("1000000000000000.5"),
            json!("99999999999999999999999999999999999"),
        ] {
            assert_eq!(
                parse_decimal(&Json::of(&bad)).unwrap_err().0,
                INPUT_TOO_LARGE,
                "{bad}"
            );
        }
        assert_eq!(
            parse_decimal(&Json::of(&json!("1000000000000000"))).unwrap(),
            MAX_MAGNITUDE
        );
        assert_eq!(MAX_MAGNITUDE, dec!(1_000_000_000_000_000));
    }

    #[test]
    fn every_problem_is_reported_not_only_the_first() {
        let m = ratio(ZeroDenominator::Reject);
        let got = codes_of(parse_input(
            &m,
            dec!(20),
            &json!({"numerator": -1, "denominator": "x", "extra": 1}),
        ));
        assert_eq!(
            got,
            vec![
                c("/extra", INPUT_UNKNOWN_FIELD),
                c("/numerator", INPUT_NEGATIVE),
                c("/denominator", INPUT_TYPE)
            ]
        );
        assert_eq!(
            codes_of(parse_input(&m, dec!(20), &json!({}))),
            vec![
                c("/numerator", INPUT_MISSING),
                c("/denominator", INPUT_MISSING)
            ]
        );
        assert_eq!(
            codes_of(parse_input(&m, dec!(20), &json!([1, 2]))),
            vec![c("", INPUT_NOT_OBJECT)]
        );
    }

    #[test]
    fn numerator_above_denominator_and_zero_denominator() {
        let m = ratio(ZeroDenominator::Reject);
        assert_eq!(
            codes_of(parse_input(
                &m,
                dec!(20),
                &json!({"numerator": 5, "denominator": 4})
            )),
            vec![c("/numerator", NUMERATOR_EXCEEDS_DENOMINATOR)]
        );
        assert_eq!(
            codes_of(parse_input(
                &m,
                dec!(20),
                &json!({"numerator": 0, "denominator": 0})
            )),
            vec![c("/denominator", ZERO_DENOMINATOR)]
        );
        // Other rules accept a zero denominator (scored later), never a > b.
        for z in [
            ZeroDenominator::Zero,
            ZeroDenominator::Full,
            ZeroDenominator::NotApplicable,
        ] {
            assert!(
                parse_input(
                    &ratio(z),
                    dec!(20),
                    &json!({"numerator": 0, "denominator": 0})
                )
                .is_ok()
            );
            assert_eq!(
                codes_of(parse_input(
                    &ratio(z),
                    dec!(20),
                    &json!({"numerator": 1, "denominator": 0})
                )),
                vec![c("/numerator", NUMERATOR_EXCEEDS_DENOMINATOR)]
            );
        }
        let survey = Method::Survey {
            zero_denominator: ZeroDenominator::Reject,
        };
        assert_eq!(
            codes_of(parse_input(
                &survey,
                dec!(20),
                &json!({"satisfied": 1001, "respondents": 1000})
            )),
            vec![c("/satisfied", NUMERATOR_EXCEEDS_DENOMINATOR)]
        );
    }

    #[test]
    fn choice_items_boolean_and_manual_refusals() {
        assert_eq!(
            codes_of(parse_input(&choice(), dec!(10), &json!({"option": "boss"}))),
            vec![c("/option", UNKNOWN_OPTION)]
        );
        assert_eq!(
            codes_of(parse_input(&choice(), dec!(10), &json!({"option": 1}))),
            vec![c("/option", INPUT_TYPE)]
        );
        assert_eq!(
            codes_of(parse_input(
                &capped(),
                dec!(5),
                &json!({"items": {"zzz": 1, "app": -2, "a/b": "1e9"}})
            )),
            vec![
                c("/items/a~1b", INPUT_TYPE),
                c("/items/app", INPUT_NEGATIVE),
                c("/items/zzz", UNKNOWN_ITEM)
            ]
        );
        assert_eq!(
            codes_of(parse_input(&capped(), dec!(5), &json!({"items": [1]}))),
            vec![c("/items", INPUT_TYPE)]
        );
        let boolean = Method::Boolean {
            direction: Direction::HigherIsBetter,
        };
        assert_eq!(
            codes_of(parse_input(&boolean, dec!(10), &json!({"value": "yes"}))),
            vec![c("/value", INPUT_TYPE)]
        );
        for bad in [json!({"points": "10.01"}), json!({"points": -1})] {
            assert_eq!(
                codes_of(parse_input(&Method::Manual, dec!(10), &bad)),
                vec![c("/points", POINTS_OUT_OF_RANGE)]
            );
        }
        assert_eq!(
            codes_of(parse_input(
                &Method::Manual,
                dec!(10),
                &json!({"points": 1e20})
            )),
            vec![c("/points", INPUT_TOO_LARGE)]
        );
        assert_eq!(
            parse_input(&Method::Manual, dec!(10), &json!({"points": "10"})).unwrap(),
            Input::Points(dec!(10))
        );
    }

    /// The stored-text door reads every input exactly as the request door does: same input,
    /// same problems, in the same order.
    #[test]
    fn a_text_reads_as_its_parsed_value_reads() {
        let tiers = Method::Tiers {
            direction: Direction::HigherIsBetter,
            bands: vec![],
        };
        let boolean = Method::Boolean {
            direction: Direction::HigherIsBetter,
        };
        let cases: Vec<(Method, &str)> = vec![
            (
                ratio(ZeroDenominator::Reject),
                r#"{"numerator": 3, "denominator": "4"}"#,
            ),
            (
                ratio(ZeroDenominator::Reject),
                r#"{"denominator":"4.50","numerator":0.5}"#,
            ),
            // escaped names and strings are read as what they spell
            (
                ratio(ZeroDenominator::Reject),
                r#"{"num\u0065rator": "\u0033", "denominator": 4}"#,
            ),
            (
                ratio(ZeroDenominator::Reject),
                r#"{"numerator": -1, "denominator": "x", "b": 1, "a": [1, {"c": 2}]}"#,
            ),
            (
                ratio(ZeroDenominator::Reject),
                r#"{"numerator": 5, "denominator": 4}"#,
            ),
            (
                ratio(ZeroDenominator::Reject),
                r#"{"numerator": 0, "denominator": 0}"#,
            ),
            (
                ratio(ZeroDenominator::Zero),
                r#"{"numerator": 1e-7, "denominator": 1.5e3}"#,
            ),
            (
                ratio(ZeroDenominator::Zero),
                r#"{"numerator": 1e16, "denominator": 18446744073709551615}"#,
            ),
            (
                ratio(ZeroDenominator::Zero),
                r#"{"numerator": -9223372036854775808, "denominator": null}"#,
            ),
            // a repeated member: the last one counts
            (
                ratio(ZeroDenominator::Zero),
                r#"{"numerator": 9, "numerator": 1, "denominator": 2, "x": 1, "x": 2}"#,
            ),
            (ratio(ZeroDenominator::Zero), "[1, 2]"),
            (ratio(ZeroDenominator::Zero), "\"text\""),
            (tiers.clone(), r#"{"value": "12.5"}"#),
            (tiers, r#"{"value": {"value": 1}}"#),
            (boolean.clone(), r#"{"value": true}"#),
            (boolean, r#"{"value": "yes"}"#),
            (choice(), r#"{"option": "deputy"}"#),
            (choice(), r#"{"option": "dep\u0075ty"}"#),
            (choice(), r#"{"option": "boss"}"#),
            (choice(), r#"{"option": 1}"#),
            (
                capped(),
                r#"{"items": {"zzz": 1, "app": -2, "a/b": "1e9"}}"#,
            ),
            (capped(), r#"{"items": {"app": 1, "a\/b": 2, "app": 3}}"#),
            (capped(), r#"{"items": [1]}"#),
            (Method::Manual, r#"{"points": "10"}"#),
            (Method::Manual, r#"{"points": 10.01}"#),
            (Method::Manual, r#"{"points": 1e20}"#),
        ];
        for (method, text) in cases {
            let value: Value = serde_json::from_str(text).expect(text);
            assert_eq!(
                parse_input_text(&method, dec!(10), text.as_bytes()),
                parse_input(&method, dec!(10), &value),
                "{text}"
            );
        }
        assert_eq!(
            codes_of(parse_input_text(
                &Method::Manual,
                dec!(10),
                b"{\"points\": "
            )),
            vec![c("", INPUT_NOT_OBJECT)]
        );
    }

    #[test]
    fn input_to_json_is_the_inverse_of_parse_input() {
        let cases = [
            (
                ratio(ZeroDenominator::Zero),
                Input::Ratio {
                    numerator: dec!(0),
                    denominator: dec!(0),
                },
            ),
            (
                Method::Survey {
                    zero_denominator: ZeroDenominator::Reject,
                },
                Input::Survey {
                    satisfied: dec!(820),
                    respondents: dec!(1000.0),
                },
            ),
            (
                Method::RelativeToBest {
                    direction: Direction::LowerIsBetter,
                },
                Input::Value(dec!(4.25)),
            ),
            (
                Method::Boolean {
                    direction: Direction::LowerIsBetter,
                },
                Input::Bool(false),
            ),
            (choice(), Input::Choice("deputy".into())),
            (
                capped(),
                Input::Items([("app".to_string(), dec!(7))].into_iter().collect()),
            ),
            (Method::Manual, Input::Points(dec!(2.50))),
        ];
        for (method, input) in cases {
            let j = input_to_json(&input);
            assert_eq!(parse_input(&method, dec!(10), &j).unwrap(), input, "{j}");
        }
        assert_eq!(
            input_to_json(&Input::Ratio {
                numerator: dec!(3),
                denominator: dec!(4)
            }),
            json!({"numerator": "3", "denominator": "4"})
        );
    }

    #[test]
    fn schemas_describe_every_method() {
        let s = input_schema(&choice(), dec!(10));
        assert_eq!(s["type"], "object");
        assert_eq!(s["required"], json!(["option"]));
        assert_eq!(
            s["properties"]["option"]["enum"],
            json!(["chair", "deputy"])
        );
        assert_eq!(
            s["properties"]["option"]["oneOf"][1]["title"],
            "Phó chủ tịch"
        );
        assert_eq!(s["additionalProperties"], false);

        let s = input_schema(&Method::Manual, dec!(12.5));
        assert_eq!(s["properties"]["points"]["maximum"], json!(12.5));
        assert_eq!(s["x-max-points"], "12.5");

        let s = input_schema(&capped(), dec!(5));
        assert_eq!(
            s["properties"]["items"]["properties"]["a/b"]["title"],
            "Odd"
        );

        let s = input_schema(&ratio(ZeroDenominator::Zero), dec!(20));
        assert_eq!(s["required"], json!(["denominator", "numerator"]));
        assert_eq!(s["properties"]["numerator"]["pattern"], DECIMAL_PATTERN);
        assert_eq!(
            input_schema(
                &Method::Boolean {
                    direction: Direction::HigherIsBetter
                },
                dec!(1)
            )["properties"]["value"]["type"],
            "boolean"
        );
    }

    #[test]
    fn every_method_schema_lists_exactly_its_input_names() {
        let methods = [
            ratio(ZeroDenominator::Reject),
            Method::RatioToTarget {
                target: dec!(0.8),
                direction: Direction::HigherIsBetter,
                zero_denominator: ZeroDenominator::Reject,
            },
            Method::Survey {
                zero_denominator: ZeroDenominator::Zero,
            },
            Method::Tiers {
                direction: Direction::HigherIsBetter,
                bands: vec![],
            },
            Method::RelativeToBest {
                direction: Direction::HigherIsBetter,
            },
            Method::Boolean {
                direction: Direction::HigherIsBetter,
            },
            choice(),
            capped(),
            Method::Manual,
        ];
        for m in methods {
            let s = input_schema(&m, dec!(10));
            let mut keys: Vec<&str> = s["properties"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort();
            let mut names = m.input_names().to_vec();
            names.sort();
            assert_eq!(keys, names, "{}", m.name());
        }
    }

    #[test]
    fn a_node_schema_carries_what_to_count_and_what_to_attach() {
        let node: Node = serde_json::from_value(json!({
            "code": "1.2", "kind": "component", "name": "Tỷ lệ cuộc họp do Chủ tịch chủ trì",
            "max_points": "20", "method": {"type": "ratio"},
            "guidance": "Tính các cuộc họp Ban chỉ đạo trong năm đánh giá.",
            "inputs": {
                "numerator": {"label": "Số cuộc họp do Chủ tịch chủ trì",
                              "description": "Cuộc họp có biên bản ghi Chủ tịch chủ trì"},
                "denominator": {"label": "Tổng số cuộc họp Ban chỉ đạo"}
            },
            "evidence": "required", "evidence_expected": "Biên bản các cuộc họp",
            "data_source": "UBND xã", "verifying_body": "Sở Khoa học và Công nghệ"
        }))
        .unwrap();
        let s = node_input_schema(&node).unwrap();
        assert_eq!(s["title"], "Tỷ lệ cuộc họp do Chủ tịch chủ trì");
        let d = s["description"].as_str().unwrap();
        assert!(d.starts_with("Tính các cuộc họp Ban chỉ đạo"), "{d}");
        assert!(d.contains("S = 20 × numerator / denominator"), "{d}");
        assert_eq!(
            s["x-formula"],
            input_schema(node.method.as_ref().unwrap(), dec!(20))["description"]
        );
        let num = &s["properties"]["numerator"];
        assert_eq!(num["title"], "Số cuộc họp do Chủ tịch chủ trì");
        assert_eq!(
            num["description"],
            "Cuộc họp có biên bản ghi Chủ tịch chủ trì"
        );
        assert_eq!(
            s["properties"]["denominator"]["title"],
            "Tổng số cuộc họp Ban chỉ đạo"
        );
        assert_eq!(s["x-evidence"], "required");
        assert_eq!(s["x-evidence-expected"], "Biên bản các cuộc họp");
        assert_eq!(s["x-data-source"], "UBND xã");
        assert_eq!(s["x-verifying-body"], "Sở Khoa học và Công nghệ");
        // a node without texts keeps the method's defaults
        let bare: Node = serde_json::from_value(json!({
            "code": "2", "kind": "component", "name": "Có chuyên mục", "max_points": "5",
            "method": {"type": "boolean"}}))
        .unwrap();
        let s = node_input_schema(&bare).unwrap();
        assert_eq!(s["properties"]["value"]["title"], "Có / Không (yes / no)");
        assert_eq!(s["description"], s["x-formula"]);
        assert!(s.get("x-evidence-expected").is_none());
    }
}

/// The JSON shapes of answers, for the OpenAPI document: one object per method, as
/// [`parse_input`] reads them and [`input_to_json`] writes them (a test holds the two
/// together). A frontend renders the form of one component from its `input_schema`; these
/// shapes type the `inputs` member of requests and responses.
pub mod shapes {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
    use utoipa::{PartialSchema, ToSchema};

    /// A non-negative number of an answer: a JSON number or a plain decimal string (`"12.5"`).
    #[derive(Debug, Deserialize)]
    #[serde(untagged)]
    pub enum AnswerNumber {
        Number(serde_json::Number),
        Text(String),
    }

    impl PartialSchema for AnswerNumber {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::Number, Type::String]))
                .description(Some(
                    "A non-negative number: a JSON number or a plain decimal string (\"12.5\"), at most 10^15.",
                ))
                .pattern(Some(super::DECIMAL_PATTERN))
                .max_length(Some(40))
                .minimum(Some(0))
                .maximum(Some(1e15))
                .examples(["12.5"])
                .into()
        }
    }
    impl ToSchema for AnswerNumber {}

    /// `ratio`, `ratio_to_target`: `numerator ≤ denominator`.
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RatioInputs {
        pub numerator: AnswerNumber,
        pub denominator: AnswerNumber,
    }

    /// `survey`: `satisfied ≤ respondents`.
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct SurveyInputs {
        pub satisfied: AnswerNumber,
        pub respondents: AnswerNumber,
    }

    /// `tiers`, `relative_to_best`: the measured value.
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ValueInputs {
        pub value: AnswerNumber,
    }

    /// `boolean`.
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct BooleanInputs {
        pub value: bool,
    }

    /// `choice`: an option code of the method.
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ChoiceInputs {
        #[schema(min_length = 1, max_length = 64, example = "deputy")]
        pub option: String,
    }

    /// `capped_sum`: item code → value; items not listed count as 0.
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ItemsInputs {
        pub items: BTreeMap<String, AnswerNumber>,
    }

    /// `manual`: points in `[0, max_points]`.
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct PointsInputs {
        pub points: AnswerNumber,
    }

    /// The inputs of an answer, by the component's method (its `input_schema` says which).
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(untagged)]
    pub enum AnswerInputs {
        Ratio(RatioInputs),
        Survey(SurveyInputs),
        Value(ValueInputs),
        Boolean(BooleanInputs),
        Choice(ChoiceInputs),
        Items(ItemsInputs),
        Points(PointsInputs),
    }

    #[cfg(test)]
    mod tests {
        use std::str::FromStr;

        use rust_decimal::Decimal;

        use super::super::{Input, input_to_json};
        use super::*;

        /// What the service writes is what the document declares.
        #[test]
        fn every_input_json_reads_as_one_shape() {
            let d = |s: &str| Decimal::from_str(s).unwrap();
            for input in [
                Input::Ratio {
                    numerator: d("3"),
                    denominator: d("4.5"),
                },
                Input::Survey {
                    satisfied: d("820"),
                    respondents: d("1000"),
                },
                Input::Value(d("12.5")),
                Input::Bool(true),
                Input::Choice("deputy".into()),
                Input::Items([("app".to_string(), d("7"))].into()),
                Input::Points(d("12.25")),
            ] {
                let json = input_to_json(&input);
                let shape: AnswerInputs = serde_json::from_value(json.clone())
                    .unwrap_or_else(|e| panic!("{json} is no declared shape: {e}"));
                let matches = matches!(
                    (&input, &shape),
                    (Input::Ratio { .. }, AnswerInputs::Ratio(_))
                        | (Input::Survey { .. }, AnswerInputs::Survey(_))
                        | (Input::Value(_), AnswerInputs::Value(_))
                        | (Input::Bool(_), AnswerInputs::Boolean(_))
                        | (Input::Choice(_), AnswerInputs::Choice(_))
                        | (Input::Items(_), AnswerInputs::Items(_))
                        | (Input::Points(_), AnswerInputs::Points(_))
                );
                assert!(matches, "{json} read as {shape:?}");
            }
        }
    }
}
