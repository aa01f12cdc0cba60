//! The tastytrade Open API adapter (reference: tastytrade.md). Tier A:
//! Raxx calls tastytrade's REST API itself with the user's OAuth grant,
//! renewing the 15-minute access token through the shared token source.
//!
//! Layout: `client` (the REST exchanges and the reads they make), `oauth`
//! (the token renewal), `models` (tastytrade's JSON exactly), `parse`
//! (vendor → contract), `errors` (refusals → error kinds), `body` (a
//! contract order → tastytrade's JSON), `stream` (the account streamer).
//!
//! tastytrade has no idempotency (§4): every order carries its client
//! order id as `external-identifier`, and after an ambiguous submit the
//! day's orders are searched for it before anything is sent again.

mod body;
mod client;
pub(crate) mod errors;
pub(crate) mod models;
mod oauth;
pub(crate) mod parse;
mod stream;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use http::Method;
use rust_decimal::Decimal;

use crate::adapter::{BrokerAdapter, OrderUpdates};
use crate::auth::TokenSource;
use crate::contract::{
    Account, CancelResult, CancelStatus, Capabilities, Description, Order, OrderResult,
    OrderStatus, OrderType, Position, Replace, Tier, TimeInForce,
};
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::HttpSetup;
use crate::reconcile::{
    cancel_refused, original_or_unknown, replace_once, replace_refused, retry_read, still_unknown,
    submit_reconciled, Duplicates,
};
use crate::updates::UpdateHub;
use client::Inner;
use models::{Envelope, Order as TtOrder};

/// How to reach one tastytrade account.
#[derive(Clone)]
pub struct TastytradeConfig {
    /// REST base without a path (`https://api.tastyworks.com`, §1.1).
    pub base_url: String,
    /// The account streamer (`wss://streamer.tastyworks.com`, §1.1).
    pub streamer_url: String,
    /// The account number (`5W…`).
    pub account_id: String,
    /// The user's refresh token (it does not expire and is not rotated, §1.2).
    pub refresh_token: String,
    /// The OAuth app's secret, sent with every refresh.
    pub client_secret: String,
    /// The app's client id: optional on the wire, checked when sent.
    pub client_id: Option<String>,
    /// An access token from an earlier refresh, if one is at hand; without
    /// it the first call is refused and renews one.
    pub access_token: Option<String>,
}

impl fmt::Debug for TastytradeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TastytradeConfig")
            .field("base_url", &self.base_url)
            .field("streamer_url", &self.streamer_url)
            .field("account_id", &self.account_id)
            .field("refresh_token", &"<redacted>")
            .field("client_secret", &"<redacted>")
            .field("client_id", &self.client_id.as_ref().map(|_| "<redacted>"))
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

pub struct TastytradeAdapter {
    inner: Arc<Inner>,
}

impl fmt::Debug for TastytradeAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TastytradeAdapter")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl TastytradeAdapter {
    pub fn new(mut config: TastytradeConfig, setup: HttpSetup) -> Self {
        let trimmed = config.base_url.trim_end_matches('/').len();
        config.base_url.truncate(trimmed);
        let tokens = TokenSource::refreshing(
            config.access_token.clone().unwrap_or_default(),
            config.refresh_token.clone(),
            oauth::Refresh {
                url: format!("{}/oauth/token", config.base_url),
                client_id: config.client_id.clone(),
                client_secret: config.client_secret.clone(),
                http: setup.client(),
            },
        );
        let inner = Inner {
            tokens,
            http: setup.client(),
            backoff: setup.backoff(),
            updates: UpdateHub::default(),
            config,
            setup,
        };
        Self {
            inner: Arc::new(inner),
        }
    }
}

/// tastytrade order ids are integers; anything else names no order and
/// must not reach a URL path.
fn order_id(broker_order_id: &str) -> Result<&str> {
    crate::http::integer_order_id(broker_order_id, "tastytrade")
}

fn encode(body: &body::OrderBody) -> Result<String> {
    serde_json::to_string(body)
        .map_err(|e| AdapterError::invalid_request(format!("cannot encode the order: {e}")))
}

impl Inner {
    /// One replace (PUT, §2.8): the answer is the replacement, a new order.
    async fn replace_once(&self, id: &str, body: &str) -> Result<OrderResult> {
        let url = self.account_url(&format!("/orders/{id}"));
        let resp = self.call(Method::PUT, &url, Some(body)).await?;
        parse::order(&resp.json::<Envelope<TtOrder>>()?.data)
    }

    /// After a replace whose outcome is unknown: the original names its
    /// replacement once the replace landed (§2.8, `replacing-order-id`),
    /// and the replacement shows the changes; otherwise it stays unknown.
    async fn replaced_after(
        &self,
        id: &str,
        changes: &Replace,
        err: AdapterError,
    ) -> Result<OrderResult> {
        let old =
            original_or_unknown(&err, id, retry_read(&self.backoff, || self.fetch_raw(id))).await?;
        let Some(new_id) = old.replacing_order_id else {
            return Err(still_unknown(
                &err,
                format!("order {id} names no replacement: the replace may still land"),
            ));
        };
        match retry_read(&self.backoff, || self.fetch_raw(&new_id.0)).await {
            Ok(new) if body::carries(&new, changes) => self.updates.seen(parse::order(&new)),
            Ok(_) => Err(still_unknown(
                &err,
                format!(
                    "order {id} was replaced by {}, without these changes",
                    new_id.0
                ),
            )),
            Err(e) => Err(still_unknown(
                &err,
                format!("its replacement {} could not be read ({e})", new_id.0),
            )),
        }
    }
}

#[async_trait]
impl BrokerAdapter for TastytradeAdapter {
    fn describe(&self) -> Description {
        Description {
            name: "tastytrade (raxx adapters)".to_string(),
            broker: "tastytrade".to_string(),
            tier: Tier::A,
            capabilities: Capabilities {
                equities: true,
                options: true,
                // Up to four option legs at one net price.
                multi_leg: true,
                // PUT …/orders/{id}: prices and time in force, under a new id.
                replace: true,
                streaming: true,
                read_only: false,
                short_selling: true,
                fractional: false,
                token_refresh: self.inner.tokens.can_refresh(),
                brackets: false,
                order_types: OrderType::ALL.to_vec(),
                time_in_force: vec![TimeInForce::Day, TimeInForce::Gtc, TimeInForce::Ioc],
            },
            request_timeout_ms: u64::try_from(self.inner.setup.request_timeout.as_millis()).ok(),
            history_lag_days: 0,
        }
    }

    fn account_id(&self) -> &str {
        &self.inner.config.account_id
    }

    async fn submit_order(&self, order: &Order) -> Result<OrderResult> {
        order.without_exits()?;
        let inner = &self.inner;
        if order.client_order_id.is_empty() {
            return Err(AdapterError::invalid_request(
                "a client_order_id is needed: it is the only way to find an order after a lost answer",
            ));
        }
        let held = if body::needs_position(order) {
            inner.held(&order.instrument).await?
        } else {
            Decimal::ZERO
        };
        let body = encode(&body::order(order, held)?)?;
        let placed = submit_reconciled(
            &inner.backoff,
            // external-identifier is stored, never deduplicated (reference §4).
            Duplicates::Possible,
            || inner.place_once(&body),
            || inner.find_by_external_id(&order.client_order_id),
        )
        .await;
        inner.updates.seen(placed)
    }

    async fn cancel_order(&self, broker_order_id: &str) -> Result<CancelResult> {
        let inner = &self.inner;
        let id = order_id(broker_order_id)?;
        let url = inner.account_url(&format!("/orders/{id}"));
        // A cancel is idempotent in effect (a second one is refused as
        // `cannot_update_order`, read back as done), so it is retried like a read.
        let sent = retry_read(&inner.backoff, || inner.call(Method::DELETE, &url, None)).await;
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) if e.kind == ErrorKind::TooLateToCancel => {
                return cancel_refused(id, e, || inner.get_order(id)).await
            }
            Err(e) => return Err(e),
        };
        // The answer is the order, `Cancel Requested` until the cancel lands (§2.7).
        let status = match resp
            .json::<Envelope<TtOrder>>()
            .and_then(|e| parse::order(&e.data))
        {
            Ok(r) => inner.updates.seen(Ok(r)).map(|r| r.status),
            Err(_) => Ok(OrderStatus::PendingCancel),
        }?;
        Ok(CancelResult {
            broker_order_id: id.to_string(),
            status: if status == OrderStatus::Canceled {
                CancelStatus::Canceled
            } else {
                CancelStatus::PendingCancel
            },
        })
    }

    async fn get_order(&self, broker_order_id: &str) -> Result<OrderResult> {
        self.inner.get_order(order_id(broker_order_id)?).await
    }

    /// tastytrade's replace: PUT the order-level fields (type, time in
    /// force, price and its effect, stop) of the order read first, with the
    /// changes; the legs stay, so a new quantity is `unsupported` before
    /// anything is sent. The answer is a new order under a new id. Only a
    /// rate limit is retried; after a timeout, a broken connection or a 5xx
    /// the original is read back for its replacement. A replace of an
    /// order no longer working is `rejected` (tastytrade's
    /// `cannot_update_order`, which reads as too late for a cancel).
    async fn replace_order(&self, broker_order_id: &str, changes: &Replace) -> Result<OrderResult> {
        let inner = &self.inner;
        let id = order_id(broker_order_id)?;
        let current = retry_read(&inner.backoff, || inner.fetch_raw(id)).await?;
        let size = current.size.map_or(Decimal::ZERO, |s| s.0);
        let body = encode(&body::replacement(&current, size, changes)?)?;
        let body = body.as_str();
        let replaced = replace_once(
            &inner.backoff,
            || async move { inner.updates.seen(inner.replace_once(id, body).await) },
            |e| async move { inner.replaced_after(id, changes, e).await },
        )
        .await;
        replace_refused("tastytrade", id, replaced)
    }

    async fn get_positions(&self) -> Result<Vec<Position>> {
        self.inner.positions().await
    }

    async fn get_account(&self) -> Result<Account> {
        let b = self.inner.balance().await?;
        Ok(parse::account(&b))
    }

    async fn order_updates(&self) -> Result<OrderUpdates> {
        stream::open(self.inner.clone()).await
    }
}
