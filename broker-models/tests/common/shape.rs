//! Does a body the model sends have the vendor's shape? One check for every
//! face's tests, against the vendor's bodies in `test_data/<vendor>/`, with
//! each vendor's few differences written as [`Rules`].

use serde_json::Value;

/// How one vendor's bodies may differ from its fixtures and still be its shape.
pub struct Rules {
    /// Named in the messages: "number where Schwab sends a string".
    pub vendor: &'static str,
    /// A null on either side fits any type: the vendor's keys are always
    /// there and mostly nullable (Alpaca, Plaid).
    pub null_fits_any: bool,
    /// The vendor leaves out a key it has no value for (Schwab): a key of the
    /// fixture may be missing, never one the fixture lacks.
    pub omits_keys: bool,
    /// Keys of the fixtures that the model never sends (ids of the vendor's
    /// own back office).
    pub not_emitted: &'static [&'static str],
    /// A bare object stands for a one-item collection (Tradier, §8.1).
    pub bare_single_items: bool,
}

impl Rules {
    /// Every key present, nulls typed like the rest.
    pub const fn strict(vendor: &'static str) -> Self {
        Self {
            vendor,
            null_fits_any: false,
            omits_keys: false,
            not_emitted: &[],
            bare_single_items: false,
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every place where `actual` does not have `expected`'s shape (empty when
/// it does), each as `$.path: why`. An array's items each fit one of the
/// fixture's items; an empty fixture array says nothing about items.
pub fn misfits(actual: &Value, expected: &Value, rules: &Rules) -> Vec<String> {
    let mut out = Vec::new();
    walk(actual, expected, "$", rules, &mut out);
    out
}

/// [`misfits`] as one message, or None when `actual` has the shape.
pub fn mismatch(actual: &Value, expected: &Value, rules: &Rules) -> Option<String> {
    let why = misfits(actual, expected, rules);
    (!why.is_empty()).then(|| why.join("; "))
}

fn walk(actual: &Value, expected: &Value, at: &str, rules: &Rules, out: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Null, _) | (_, Value::Null) if rules.null_fits_any => {}
        (Value::Object(_), Value::Array(_)) if rules.bare_single_items => {
            walk(
                &Value::Array(vec![actual.clone()]),
                expected,
                at,
                rules,
                out,
            );
        }
        (Value::Object(a), Value::Object(e)) => {
            if !rules.omits_keys {
                let missing = e
                    .keys()
                    .filter(|k| !a.contains_key(*k) && !rules.not_emitted.contains(&k.as_str()));
                out.extend(missing.map(|k| format!("{at}.{k}: missing")));
            }
            for (k, v) in a {
                match e.get(k) {
                    Some(ev) => walk(v, ev, &format!("{at}.{k}"), rules, out),
                    None => out.push(format!("{at}.{k}: not in {}'s body", rules.vendor)),
                }
            }
        }
        (Value::Array(_), Value::Array(e)) if e.is_empty() => {}
        (Value::Array(a), Value::Array(e)) if rules.omits_keys => {
            // Each item shows only the keys it had values for: an item's
            // shape is every key any of them shows.
            let all = union(e).unwrap_or_default();
            for (i, item) in a.iter().enumerate() {
                walk(item, &all, &format!("{at}[{i}]"), rules, out);
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            for (i, item) in a.iter().enumerate() {
                let at = format!("{at}[{i}]");
                // The fixture item it comes closest to says why it fits none.
                let closest = e
                    .iter()
                    .map(|x| {
                        let mut why = Vec::new();
                        walk(item, x, &at, rules, &mut why);
                        why
                    })
                    .min_by_key(Vec::len)
                    .unwrap_or_default();
                out.extend(closest);
            }
        }
        (a, e) if kind(a) == kind(e) => {}
        (a, e) => out.push(format!(
            "{at}: {} {a} where {} sends a {}",
            kind(a),
            rules.vendor,
            kind(e)
        )),
    }
}

/// One body with every key any of `items` has (objects merged deeply, the
/// first value of a key deciding its type): for a vendor whose bodies carry
/// any key one of several fixtures shows.
pub fn union(items: &[Value]) -> Option<Value> {
    let mut out = items.first()?.clone();
    for item in &items[1..] {
        merge(&mut out, item);
    }
    Some(out)
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let Some(all) = union(&[a.clone(), b.clone()].concat()) {
                *a = vec![all];
            }
        }
        _ => {}
    }
}

/// A vendor body from `test_data/<vendor>/`, as text.
pub fn fixture_text(vendor: &str, name: &str) -> String {
    let path = format!(
        "{}/../test_data/{vendor}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A vendor body from `test_data/<vendor>/`, parsed.
pub fn fixture(vendor: &str, name: &str) -> Value {
    let text = fixture_text(vendor, name);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("test_data/{vendor}/{name}: {e}"))
}
