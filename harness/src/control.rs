//! The harness's hand on a simulated broker: the model's `/_sim/` control
//! surface, reached over the simulated network like any client would, so
//! that nothing reads a model's state from outside its own host (each
//! turmoil host keeps its own clock).

use bytes::Bytes;
use http::Method;

use adapters::http::{request, HttpClient, HttpSetup};
use broker_models::brokerage::{BrokerEvent, FaultRecord, Ledger};
use broker_models::faults::{Fault, FaultPlan};
use broker_models::model::ControlAccess;
use broker_models::Connection;
use rust_decimal::Decimal;

use crate::error::VenueError;
use crate::trace::{Actor, Trace};

#[derive(Clone)]
pub struct Control {
    http: HttpClient,
    base: String,
    /// The header and token every control request carries.
    access: ControlAccess,
    trace: Trace,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").field("base", &self.base).finish()
    }
}

impl Control {
    /// The control surface of the model `connection` describes, at `authority`.
    pub fn new(authority: &str, connection: &Connection, setup: &HttpSetup, trace: Trace) -> Self {
        Self {
            // Control calls are never subject to the adapter's short timeout.
            http: HttpClient::new(setup.dialer.clone(), std::time::Duration::from_secs(30)),
            base: format!("http://{authority}/_sim"),
            access: connection.control.clone(),
            trace,
        }
    }

    /// One control request; a body is JSON unless `content_type` says otherwise.
    async fn call_as(
        &self,
        method: Method,
        path: &str,
        body: String,
        content_type: &str,
    ) -> Result<Bytes, VenueError> {
        let ct = (!body.is_empty()).then_some(content_type);
        let access = [(self.access.header, self.access.token.as_str())];
        let req = request(
            method,
            &format!("{}{path}", self.base),
            &access,
            ct,
            Bytes::from(body),
        )
        .map_err(|e| VenueError::Request {
            path: path.to_string(),
            why: e.to_string(),
        })?;
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|e| VenueError::Unreachable {
                path: path.to_string(),
                why: format!("{e:?}"),
            })?;
        if !resp.status.is_success() {
            return Err(VenueError::Refused {
                path: path.to_string(),
                status: resp.status.as_u16(),
                body: resp.snippet(),
            });
        }
        Ok(resp.body)
    }

    async fn call(&self, method: Method, path: &str, body: String) -> Result<Bytes, VenueError> {
        self.call_as(method, path, body, "application/json").await
    }

    /// Picks out the next order the broker receives for an order-level
    /// fault (no client order id involved: some vendors have none).
    pub async fn steer_next(&self, fault: &Fault) -> Result<(), VenueError> {
        let body = serde_json::json!({ "fault": fault }).to_string();
        self.trace.record(
            Actor::Control,
            format!("steer the next order: {}", fault_words(fault)),
        );
        self.call(Method::POST, "/steer", body).await.map(|_| ())
    }

    /// Breaks (or repairs) the user's connection at an aggregator that holds `account`.
    pub async fn set_connection_broken(
        &self,
        account: &str,
        broken: bool,
    ) -> Result<(), VenueError> {
        let body = serde_json::json!({ "account": account, "broken": broken }).to_string();
        let what = if broken { "breaks" } else { "is repaired" };
        self.trace.record(
            Actor::Control,
            format!("the connection holding account {account} {what}"),
        );
        self.call(Method::POST, "/connection", body)
            .await
            .map(|_| ())
    }

    /// The ground truth: every order the broker received, and every account.
    pub async fn ledger(&self) -> Result<Ledger, VenueError> {
        let body = self.call(Method::GET, "/ledger", String::new()).await?;
        serde_json::from_slice(&body).map_err(|e| unreadable("/ledger", e))
    }

    /// The broker's order events from sequence `since`.
    pub async fn events(&self, since: u64) -> Result<Vec<BrokerEvent>, VenueError> {
        let body = self
            .call(
                Method::GET,
                &format!("/events?since={since}"),
                String::new(),
            )
            .await?;
        serde_json::from_slice(&body).map_err(|e| unreadable("/events", e))
    }

    /// Every fault the broker's plan applied so far.
    pub async fn faults(&self) -> Result<Vec<FaultRecord>, VenueError> {
        let body = self.call(Method::GET, "/faults", String::new()).await?;
        serde_json::from_slice(&body).map_err(|e| unreadable("/faults", e))
    }

    /// Jumps the broker's clock forward.
    pub async fn advance(&self, ms: i64) -> Result<(), VenueError> {
        self.trace.record(Actor::Control, format!("advance {ms}ms"));
        self.call(Method::POST, "/advance", format!(r#"{{"ms":{ms}}}"#))
            .await
            .map(drop)
    }

    pub async fn set_price(&self, symbol: &str, price: Decimal) -> Result<(), VenueError> {
        self.trace
            .record(Actor::Control, format!("set price {symbol} {price}"));
        let body = serde_json::json!({ "symbol": symbol, "price": price }).to_string();
        self.call(Method::POST, "/price", body).await.map(drop)
    }

    /// Jumps `ms` forward and quotes `prices` there, all or none.
    pub async fn advance_to_prices(
        &self,
        ms: i64,
        prices: &[(String, Decimal)],
    ) -> Result<(), VenueError> {
        self.trace.record(
            Actor::Control,
            format!("advance {ms}ms to prices {}", listed(prices)),
        );
        let prices: std::collections::BTreeMap<&str, Decimal> =
            prices.iter().map(|(s, p)| (s.as_str(), *p)).collect();
        let body = serde_json::json!({ "ms": ms, "prices": prices }).to_string();
        self.call(Method::POST, "/advance", body).await.map(drop)
    }

    pub async fn set_faults(&self, plan: &FaultPlan) -> Result<(), VenueError> {
        let text = toml::to_string(plan).map_err(|e| VenueError::Request {
            path: "/faults".into(),
            why: e.to_string(),
        })?;
        self.trace.record(
            Actor::Control,
            format!("set faults: {}", text.replace('\n', " ").trim()),
        );
        self.call_as(Method::PUT, "/faults", text, "application/toml")
            .await
            .map(drop)
    }
}

/// A fault in the words of a plan (its `kind`).
fn fault_words(fault: &Fault) -> String {
    serde_json::to_value(fault)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_string))
        .unwrap_or_default()
}

fn unreadable(path: &str, e: impl std::fmt::Display) -> VenueError {
    VenueError::Unreadable {
        path: path.to_string(),
        why: e.to_string(),
    }
}

/// Prices as the trace and errors say them: `AAPL 190.00, MSFT 410.00`.
pub(crate) fn listed(prices: &[(String, Decimal)]) -> String {
    let said: Vec<String> = prices.iter().map(|(s, p)| format!("{s} {p}")).collect();
    said.join(", ")
}
