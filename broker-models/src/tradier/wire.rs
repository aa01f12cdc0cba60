//! Tradier's JSON, exactly: numbers as JSON numbers (written from the
//! decimal's own digits, never through a float), absent numeric fields
//! omitted rather than null, ISO timestamps with milliseconds, and the
//! collection quirks — no items is the string "null", one item a bare object.

use rust_decimal::Decimal;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use mbt::{Instrument, Timestamp};

pub use crate::ids::stable_int as stable_id;

/// A decimal as a JSON number with exactly its digits.
pub fn num(d: Decimal) -> Value {
    let text = d.normalize().to_string();
    RawValue::from_string(text)
        .ok()
        .and_then(|raw| serde_json::to_value(raw).ok())
        .unwrap_or(Value::Null)
}

/// `2018-06-01T12:02:29.682Z`.
pub fn time(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The symbol Tradier uses: the ticker, or the OCC symbol without padding.
pub fn symbol(i: &Instrument) -> String {
    match i {
        Instrument::Equity { symbol } => symbol.clone(),
        Instrument::Option { occ } => occ.compact(),
    }
}

/// `{"<outer>":"null"}`, `{"<outer>":{"<inner>":{…}}}` or `{"<outer>":{"<inner>":[…]}}`.
pub fn collection(outer: &str, inner: &str, mut items: Vec<Value>) -> Value {
    let body = match items.len() {
        0 => Value::String("null".into()),
        1 => json!({ inner: items.remove(0) }),
        _ => json!({ inner: items }),
    };
    let mut m = Map::new();
    m.insert(outer.to_string(), body);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_digits_and_collections_their_quirks() {
        assert_eq!(
            serde_json::to_string(&num(Decimal::new(17798360, 3))).unwrap(),
            "17798.36"
        );
        assert_eq!(
            serde_json::to_string(&num(Decimal::new(1, 1))).unwrap(),
            "0.1"
        );
        assert_eq!(
            collection("orders", "order", vec![]),
            json!({"orders": "null"})
        );
        assert_eq!(
            collection("orders", "order", vec![json!(1)]),
            json!({"orders": {"order": 1}})
        );
        assert_eq!(
            collection("orders", "order", vec![json!(1), json!(2)]),
            json!({"orders": {"order": [1, 2]}})
        );
        assert_eq!(
            time(Timestamp::from_millis(1_527_854_549_682)),
            "2018-06-01T12:02:29.682Z"
        );
    }
}
