//! The fixed order flow of `raxx-sim bench serve` and the criterion serve
//! benches (`cargo bench -p broker-models`): Alpaca market orders for one
//! share of AAPL, buys and sells alternating, sent to a served model's
//! router at a set pace of simulated time. One home, so that the JSON line
//! and the criterion figure measure the same requests.

use axum::body::Body;
use axum::http::Request;

use crate::model::Model;

/// How much simulated time passes between orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// A quarter second after each: the order before is accepted and
    /// filled (86,000 fit in one session).
    Settled,
    /// This many orders to each simulated millisecond (20 is the pace wrk
    /// drives over loopback): thousands work at once.
    PerMs(u64),
}

/// Simulated time between two orders at the settled pace.
pub const SETTLED_STEP_MS: i64 = 250;

/// The orders that fit at the settled pace between the model's start and
/// the session's close (market orders after it would wait for the next
/// open, and the sells after them would find no shares).
pub const MAX_SETTLED_ORDERS: u64 = 86_000;

/// The flow's requests, signed with a model's credentials.
pub struct OrderFlow {
    key: String,
    secret: String,
    pace: Pace,
}

impl OrderFlow {
    pub fn alpaca(model: &Model, pace: Pace) -> Self {
        let credential = |name: &str| model.connection("bench").credential(name);
        Self {
            key: credential("key_id"),
            secret: credential("secret_key"),
            pace,
        }
    }

    /// Order `n` (from 0): a buy when `n` is even, else a sell.
    pub fn request(&self, n: u64) -> Result<Request<Body>, axum::http::Error> {
        let side = if n.is_multiple_of(2) { "buy" } else { "sell" };
        Request::post("/v2/orders")
            .header("APCA-API-KEY-ID", &self.key)
            .header("APCA-API-SECRET-KEY", &self.secret)
            .header("Content-Type", "application/json")
            .body(Body::from(format!(
                r#"{{"symbol":"AAPL","qty":"1","side":"{side}","type":"market","time_in_force":"day"}}"#
            )))
    }

    /// Lets the simulated time after order `n` pass on `model`'s clock.
    pub fn after(&self, model: &Model, n: u64) {
        match self.pace {
            Pace::Settled => model.shared.lock().advance(SETTLED_STEP_MS),
            Pace::PerMs(k) if n.saturating_add(1).is_multiple_of(k.max(1)) => {
                model.shared.lock().advance(1)
            }
            Pace::PerMs(_) => {}
        }
    }
}
