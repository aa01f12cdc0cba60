//! Schwab's trap, as an adapter that falls into it (reference §4): a place
//! answers 201 with an empty body and the order's id only in `Location`,
//! and there is no client order id to look an order up by. This submit
//! never reads `Location`: after a 201 it finds "its" order as the
//! account's newest, and an answer that never arrives (the 201 lost after
//! Schwab placed the order) is to it a submit that failed, so it POSTs the
//! order again. Everything but the submit is the real adapter's.

use std::sync::Arc;

use adapters::http::{request, HttpClient, HttpResponse};
use adapters::{
    Account, AdapterError, BrokerAdapter, CancelResult, Description, Holdings, Order, OrderResult,
    OrderType, OrderUpdates, Position, Replace, Side, TimeInForce,
};
use async_trait::async_trait;
use bytes::Bytes;
use http::Method;
use serde::{Deserialize, Serialize};

use crate::world::ClientEnv;

/// How many times the naive submit POSTs before it gives up.
const ATTEMPTS: u32 = 3;

pub fn wrap(inner: Arc<dyn BrokerAdapter>, env: &ClientEnv) -> Arc<dyn BrokerAdapter> {
    let Some(broker) = env.brokers.first() else {
        return inner;
    };
    let c = &broker.connection;
    Arc::new(IgnoresLocation {
        http: env.setup.client(),
        clock: env.setup.clock.clone(),
        base: c.base_url.clone(),
        token: c.credential("access_token"),
        account: c.account(),
        inner,
    })
}

struct IgnoresLocation {
    inner: Arc<dyn BrokerAdapter>,
    http: HttpClient,
    clock: Arc<dyn adapters::http::Clock>,
    base: String,
    token: String,
    account: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountNumber {
    account_number: String,
    hash_value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    order_id: u64,
}

fn failed(what: &str, e: impl std::fmt::Display) -> AdapterError {
    AdapterError::unknown(format!("{what}: {e}"))
}

impl IgnoresLocation {
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<String>,
    ) -> Result<HttpResponse, AdapterError> {
        let auth = format!("Bearer {}", self.token);
        let ct = body.as_ref().map(|_| "application/json");
        let req = request(
            method,
            url,
            &[("Authorization", auth.as_str())],
            ct,
            Bytes::from(body.unwrap_or_default()),
        )?;
        self.http.send(req).await.map_err(AdapterError::from)
    }

    async fn hash(&self) -> Result<String, AdapterError> {
        let url = format!("{}/accounts/accountNumbers", self.base);
        let resp = self.send(Method::GET, &url, None).await?;
        let pairs: Vec<AccountNumber> = resp.json()?;
        pairs
            .into_iter()
            .find(|p| p.account_number == self.account)
            .map(|p| p.hash_value)
            .ok_or_else(|| failed("account numbers", "no such account"))
    }

    /// "Its" order: the newest the account lists.
    async fn newest(&self, hash: &str) -> Result<String, AdapterError> {
        let now = mbt::Timestamp::from_millis(self.clock.now_ms());
        let window =
            |t: mbt::Timestamp| t.to_datetime().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let url = format!(
            "{}/accounts/{hash}/orders?fromEnteredTime={}&toEnteredTime={}",
            self.base,
            window(now.plus_millis(-60_000)),
            window(now.plus_millis(60_000)),
        );
        let orders: Vec<Listed> = self.send(Method::GET, &url, None).await?.json()?;
        orders
            .first()
            .map(|o| o.order_id.to_string())
            .ok_or_else(|| failed("the order list", "empty after a 201"))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlainOrder {
    session: &'static str,
    duration: &'static str,
    order_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<String>,
    order_strategy_type: &'static str,
    order_leg_collection: [PlainLeg; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlainLeg {
    instruction: &'static str,
    quantity: u64,
    instrument: PlainInstrument,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlainInstrument {
    asset_type: &'static str,
    symbol: String,
}

/// Schwab's JSON for a plain equity order, or None for what this naive
/// submit leaves to the real adapter.
fn body(order: &Order) -> Option<String> {
    if order.instrument.is_option() || order.is_multi_leg() {
        return None;
    }
    let (order_type, price) = match (order.order_type, order.limit_price) {
        (OrderType::Market, _) => ("MARKET", None),
        (OrderType::Limit, Some(p)) => ("LIMIT", Some(p.to_string())),
        _ => return None,
    };
    let o = PlainOrder {
        session: "NORMAL",
        duration: match order.time_in_force {
            TimeInForce::Day => "DAY",
            TimeInForce::Gtc => "GOOD_TILL_CANCEL",
            TimeInForce::Ioc => "IMMEDIATE_OR_CANCEL",
            TimeInForce::Fok => "FILL_OR_KILL",
        },
        order_type,
        price,
        order_strategy_type: "SINGLE",
        order_leg_collection: [PlainLeg {
            instruction: match order.side {
                Side::Buy => "BUY",
                Side::Sell => "SELL_SHORT",
            },
            quantity: order.quantity.to_string().parse().ok()?,
            instrument: PlainInstrument {
                asset_type: "EQUITY",
                symbol: order.instrument.to_string(),
            },
        }],
    };
    serde_json::to_string(&o).ok()
}

#[async_trait]
impl BrokerAdapter for IgnoresLocation {
    fn describe(&self) -> Description {
        self.inner.describe()
    }

    fn account_id(&self) -> &str {
        self.inner.account_id()
    }

    async fn submit_order(&self, order: &Order) -> Result<OrderResult, AdapterError> {
        let Some(json) = body(order) else {
            return self.inner.submit_order(order).await;
        };
        let hash = self.hash().await?;
        let url = format!("{}/accounts/{hash}/orders", self.base);
        let mut last = AdapterError::unknown("never sent");
        for _ in 0..ATTEMPTS {
            match self.send(Method::POST, &url, Some(json.clone())).await {
                Ok(resp) if resp.status.is_success() => {
                    let id = self.newest(&hash).await?;
                    return self.inner.get_order(&id).await.map(|mut r| {
                        r.client_order_id = order.client_order_id.clone();
                        r
                    });
                }
                Ok(resp) => {
                    return Err(AdapterError::rejected(format!(
                        "HTTP {}: {}",
                        resp.status.as_u16(),
                        resp.snippet()
                    )))
                }
                // No answer: "the POST failed", so it goes again.
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    async fn cancel_order(&self, id: &str) -> Result<CancelResult, AdapterError> {
        self.inner.cancel_order(id).await
    }

    async fn replace_order(
        &self,
        id: &str,
        changes: &Replace,
    ) -> Result<OrderResult, AdapterError> {
        self.inner.replace_order(id, changes).await
    }

    async fn get_order(&self, id: &str) -> Result<OrderResult, AdapterError> {
        self.inner.get_order(id).await
    }

    async fn get_positions(&self) -> Result<Vec<Position>, AdapterError> {
        self.inner.get_positions().await
    }

    async fn get_holdings(&self) -> Result<Holdings, AdapterError> {
        self.inner.get_holdings().await
    }

    async fn get_account(&self) -> Result<Account, AdapterError> {
        self.inner.get_account().await
    }

    async fn order_updates(&self) -> Result<OrderUpdates, AdapterError> {
        self.inner.order_updates().await
    }

    async fn revoke(&self) -> Result<bool, AdapterError> {
        self.inner.revoke().await
    }

    fn credential_leaks(&self) -> Vec<String> {
        self.inner.credential_leaks()
    }
}
