//! Tradier's JSON, exactly as it arrives (reference §2, §6, §8): every
//! amount a JSON number (read from its own digits, never through a float),
//! integer ids, absent fields omitted, and collections that are a bare
//! object for one item, an array for several and the *string* `"null"` for
//! none. Nothing here interprets; `parse.rs` turns these into the contract.

use std::collections::BTreeMap;

use serde::de::{DeserializeOwned, Error as _};
use serde::Deserialize;
use serde_json::value::RawValue;

pub use crate::json::{IntegerId, Number};

/// The one helper for Tradier's collections: `X | [X] | "null" | null | ""` → `Vec<X>`.
pub fn one_or_many<T: DeserializeOwned>(raw: Option<&RawValue>) -> serde_json::Result<Vec<T>> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let text = raw.get().trim_start();
    match text.as_bytes().first() {
        None | Some(b'n') => Ok(Vec::new()),
        // Only the empty markers are accepted as strings.
        Some(b'"') => match serde_json::from_str::<String>(text)?.as_str() {
            "null" | "" => Ok(Vec::new()),
            other => Err(serde_json::Error::custom(format!(
                "expected a collection, got the string {other:.40}"
            ))),
        },
        Some(b'[') => serde_json::from_str(text),
        _ => Ok(vec![serde_json::from_str(text)?]),
    }
}

/// `{"<outer>": "null" | {"<inner>": X | [X]}}`: the items inside a wrapper.
pub fn wrapped<T: DeserializeOwned>(outer: &RawValue, inner: &str) -> serde_json::Result<Vec<T>> {
    let text = outer.get().trim_start();
    if !text.starts_with('{') {
        return one_or_many(Some(outer));
    }
    let map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(text)?;
    one_or_many(map.get(inner).map(AsRef::as_ref))
}

/// A submit, modify or cancel acknowledgement: `{"order":{"id":…,"status":"ok"}}`.
#[derive(Debug, Deserialize)]
pub struct AckBody {
    pub order: Ack,
}

#[derive(Debug, Deserialize)]
pub struct Ack {
    pub id: Option<IntegerId>,
    pub status: Option<String>,
}

/// `{"order":{…}}` from `GET …/orders/{id}`.
#[derive(Debug, Deserialize)]
pub struct OrderBody {
    pub order: TradierOrder,
}

/// `{"orders": "null" | {"order": X | [X]}}`.
#[derive(Debug, Deserialize)]
pub struct OrdersBody {
    pub orders: Box<RawValue>,
}

impl OrdersBody {
    pub fn items(&self) -> serde_json::Result<Vec<TradierOrder>> {
        wrapped(&self.orders, "order")
    }
}

/// The order object (§2.2). Only what the adapter reads is declared.
#[derive(Debug, Clone, Deserialize)]
pub struct TradierOrder {
    pub id: IntegerId,
    pub status: String,
    pub quantity: Option<Number>,
    pub avg_fill_price: Option<Number>,
    pub exec_quantity: Option<Number>,
    pub remaining_quantity: Option<Number>,
    pub tag: Option<String>,
    pub reason_description: Option<String>,
    /// The limit price; omitted on market orders.
    pub price: Option<Number>,
    pub stop_price: Option<Number>,
    pub duration: Option<String>,
}

/// `{"positions": "null" | {"position": X | [X]}}`.
#[derive(Debug, Deserialize)]
pub struct PositionsBody {
    pub positions: Box<RawValue>,
}

impl PositionsBody {
    pub fn items(&self) -> serde_json::Result<Vec<TradierPosition>> {
        wrapped(&self.positions, "position")
    }
}

/// A position (§2.7): signed quantity, total cost basis (negative for short).
#[derive(Debug, Clone, Deserialize)]
pub struct TradierPosition {
    pub cost_basis: Number,
    pub quantity: Number,
    pub symbol: String,
}

/// `{"balances":{…}}` (§2.8) with one sub-object named after the account type.
#[derive(Debug, Deserialize)]
pub struct BalancesBody {
    pub balances: Balances,
}

#[derive(Debug, Deserialize)]
pub struct Balances {
    pub account_number: Option<String>,
    pub account_type: Option<String>,
    pub total_equity: Option<Number>,
    pub total_cash: Option<Number>,
    pub margin: Option<MarginBalances>,
    pub pdt: Option<MarginBalances>,
    pub cash: Option<CashBalances>,
}

#[derive(Debug, Deserialize)]
pub struct MarginBalances {
    pub stock_buying_power: Option<Number>,
}

#[derive(Debug, Deserialize)]
pub struct CashBalances {
    pub cash_available: Option<Number>,
}

/// `{"errors":{"error": "…" | ["…", …]}}` (§5.1), on a 400 or inside a 200.
#[derive(Debug, Deserialize)]
pub struct ErrorsProbe {
    pub errors: Option<Box<RawValue>>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorsInner {
    pub error: Option<Box<RawValue>>,
}

impl ErrorsProbe {
    /// The messages of an `errors` envelope, or None when the body has none.
    pub fn messages(&self) -> Option<Vec<String>> {
        let errors = self.errors.as_ref()?;
        let inner: ErrorsInner = serde_json::from_str(errors.get()).ok()?;
        let error = inner.error?;
        // Here a bare string is the one message, not an empty-collection marker.
        let messages = match serde_json::from_str::<String>(error.get()) {
            Ok(one) => vec![one],
            Err(_) => one_or_many::<String>(Some(&error)).unwrap_or_default(),
        };
        Some(messages)
    }
}

/// The API gateway's fault: `{"fault":{"faultstring":…,"detail":{"errorcode":…}}}`.
#[derive(Debug, Deserialize)]
pub struct FaultBody {
    pub fault: Fault,
}

#[derive(Debug, Deserialize)]
pub struct Fault {
    pub faultstring: Option<String>,
    pub detail: Option<FaultDetail>,
}

#[derive(Debug, Deserialize)]
pub struct FaultDetail {
    pub errorcode: Option<String>,
}

/// `{"stream":{"url":…,"sessionid":…}}` from `POST /v1/accounts/events/session`.
#[derive(Debug, Deserialize)]
pub struct SessionBody {
    pub stream: Session,
}

#[derive(Debug, Deserialize)]
pub struct Session {
    pub url: Option<String>,
    pub sessionid: String,
}

/// One account-events message (§2.9): heartbeats and order updates. The
/// filled quantity is `exec_quantity` in the docs' example and
/// `executed_quantity` in an older table; both are read.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    pub event: String,
    pub id: Option<IntegerId>,
    pub status: Option<String>,
    pub avg_fill_price: Option<Number>,
    pub exec_quantity: Option<Number>,
    pub executed_quantity: Option<Number>,
    pub remaining_quantity: Option<Number>,
    pub tag: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn orders(text: &str) -> Vec<TradierOrder> {
        serde_json::from_str::<OrdersBody>(text)
            .unwrap()
            .items()
            .unwrap()
    }

    #[test]
    fn collections_in_every_shape() {
        assert!(orders(r#"{"orders":"null"}"#).is_empty());
        assert!(orders(r#"{"orders":null}"#).is_empty());
        let one = orders(r#"{"orders":{"order":{"id":1,"status":"open"}}}"#);
        assert_eq!(one[0].id, IntegerId("1".into()));
        let two =
            orders(r#"{"orders":{"order":[{"id":1,"status":"open"},{"id":2,"status":"filled"}]}}"#);
        assert_eq!(two.len(), 2);
        assert!(
            serde_json::from_str::<OrdersBody>(r#"{"orders":"surprise"}"#)
                .unwrap()
                .items()
                .is_err()
        );
    }

    #[test]
    fn numbers_keep_their_digits() {
        let b: BalancesBody = serde_json::from_str(
            r#"{"balances":{"total_equity":17798.360000000000000000000000,"total_cash":0.1,"margin":{"stock_buying_power":"12.5"}}}"#,
        )
        .unwrap();
        assert_eq!(
            b.balances.total_equity.unwrap().0,
            Decimal::new(1_779_836, 2)
        );
        assert_eq!(b.balances.total_cash.unwrap().0, Decimal::new(1, 1));
    }

    #[test]
    fn error_envelopes_string_or_list() {
        let one: ErrorsProbe = serde_json::from_str(r#"{"errors":{"error":"nope"}}"#).unwrap();
        assert_eq!(one.messages(), Some(vec!["nope".to_string()]));
        let many: ErrorsProbe = serde_json::from_str(r#"{"errors":{"error":["a","b"]}}"#).unwrap();
        assert_eq!(many.messages().unwrap().len(), 2);
        let none: ErrorsProbe = serde_json::from_str(r#"{"order":{}}"#).unwrap();
        assert_eq!(none.messages(), None);
    }
}
