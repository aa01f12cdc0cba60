//! The Alpaca Trading API v2 adapter (reference: alpaca.md). Tier A: Raxx
//! calls Alpaca's REST API with the account's key pair and follows orders on
//! the trade_updates WebSocket.
//!
//! Layout (as NautilusTrader's venue adapters): `models` is Alpaca's JSON,
//! `parse` maps it to and from the contract, `errors` maps error answers,
//! `client` is the authenticated REST transport, `stream` the WebSocket.

mod client;
pub mod errors;
pub mod models;
pub mod parse;
mod stream;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use http::Method;

use crate::adapter::{BrokerAdapter, OrderUpdates};
use crate::contract::{
    Account, CancelResult, Capabilities, Description, Order, OrderResult, OrderType, Position,
    Replace, Tier, TimeInForce,
};
use crate::error::{AdapterError, Result};
use crate::http::HttpSetup;
use crate::reconcile::{
    cancel_settled, original_or_unknown, replace_once, retry_read, still_unknown,
    submit_reconciled, Duplicates, Lookup,
};
use crate::updates::UpdateHub;
use client::{path_segment, Rest};
use errors::Context;
use models::{AlpacaAccount, AlpacaOrder, AlpacaPosition};

/// How to reach one Alpaca account.
#[derive(Clone)]
pub struct AlpacaConfig {
    /// As Alpaca documents it, without `/v2` (e.g. `https://api.alpaca.markets`).
    pub base_url: String,
    pub key_id: String,
    pub secret_key: String,
    /// Alpaca's `account_number` (e.g. `PA…` on paper).
    pub account_id: String,
}

/// Written by hand so neither key can reach a log through `{:?}`.
impl fmt::Debug for AlpacaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlpacaConfig")
            .field("base_url", &self.base_url)
            .field("key_id", &"<redacted>")
            .field("secret_key", &"<redacted>")
            .field("account_id", &self.account_id)
            .finish()
    }
}

pub struct AlpacaAdapter {
    config: AlpacaConfig,
    setup: HttpSetup,
    rest: Arc<Rest>,
    /// The open `order_updates` streams; every order state read here feeds them.
    updates: UpdateHub,
}

impl fmt::Debug for AlpacaAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlpacaAdapter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AlpacaAdapter {
    pub fn new(config: AlpacaConfig, setup: HttpSetup) -> Self {
        let rest = Arc::new(Rest::new(
            &config.base_url,
            &config.key_id,
            &config.secret_key,
            &setup,
        ));
        Self {
            config,
            setup,
            rest,
            updates: UpdateHub::default(),
        }
    }

    /// One POST. A duplicate client_order_id means this intent already became
    /// an order (an earlier attempt landed, §4): that order is the answer.
    async fn post_order(&self, body: &[u8], client_order_id: &str) -> Result<OrderResult> {
        let r = self
            .rest
            .exchange(Method::POST, "/v2/orders", Some(body.to_vec()))
            .await?;
        if errors::is_duplicate_client_id(&r) {
            return match self.rest.order_by_client_id(client_order_id).await? {
                Lookup::Found(o) => parse::order_result(&o),
                Lookup::Absent => Err(AdapterError::unknown(format!(
                    "Alpaca says client_order_id {client_order_id:?} is taken but has no order for it"
                ))),
            };
        }
        parse::order_result(&self.rest.decode::<AlpacaOrder>(&r, Context::Submit)?)
    }

    async fn delete_order(&self, id: &str) -> Result<()> {
        let r = self
            .rest
            .exchange(Method::DELETE, &format!("/v2/orders/{id}"), None)
            .await?;
        if r.status.is_success() {
            Ok(())
        } else {
            Err(self.rest.error(&r, Context::Cancel))
        }
    }

    /// One PATCH (§2.6); the answer is the replacement, a new order.
    async fn patch_order(&self, id: &str, body: &[u8]) -> Result<OrderResult> {
        let o: AlpacaOrder = self
            .rest
            .call(
                Method::PATCH,
                &format!("/v2/orders/{id}"),
                Some(body.to_vec()),
                Context::Replace,
            )
            .await?;
        parse::order_result(&o)
    }

    /// After a replace whose outcome is unknown (no answer in time, a broken
    /// connection, a 5xx): the original order says what happened. Once it is
    /// `replaced`, `replaced_by` names the replacement, which is the answer
    /// if it carries the changes asked for. Anything else (still open,
    /// `pending_replace`, unreadable) leaves the outcome unknown: `err` is
    /// returned, and the request is never sent a second time.
    async fn replaced_after(
        &self,
        id: &str,
        changes: &Replace,
        err: AdapterError,
    ) -> Result<OrderResult> {
        let original = original_or_unknown(&err, id, self.rest.order(id)).await?;
        let new_id = match (original.status.as_str(), original.replaced_by.as_deref()) {
            ("replaced", Some(new_id)) => new_id,
            (status, _) => {
                return Err(still_unknown(
                    &err,
                    format!("order {id} is {status}, not replaced: the replace may still land"),
                ))
            }
        };
        let replacement = match self.rest.order(new_id).await {
            Ok(o) => o,
            Err(e) => {
                return Err(still_unknown(
                    &err,
                    format!("order {id} was replaced by {new_id}, which could not be read ({e})"),
                ))
            }
        };
        if matches!(parse::carries(&replacement, changes), Ok(true)) {
            parse::order_result(&replacement)
        } else {
            Err(still_unknown(
                &err,
                format!("order {id} was replaced by {new_id}, which does not carry the changes asked for"),
            ))
        }
    }

    /// The order as it stands, for the cancel protocol's read-back.
    async fn current(&self, id: &str) -> Result<OrderResult> {
        self.rest
            .order(id)
            .await
            .and_then(|o| parse::order_result(&o))
    }
}

#[async_trait]
impl BrokerAdapter for AlpacaAdapter {
    fn describe(&self) -> Description {
        Description {
            name: "alpaca".to_string(),
            broker: "alpaca".to_string(),
            tier: Tier::A,
            capabilities: Capabilities {
                equities: true,
                options: true,
                // `order_class: mleg` (§2.1), market and limit.
                multi_leg: true,
                // PATCH /v2/orders/{id}: the replacement is a new order (§2.6).
                replace: true,
                streaming: true,
                read_only: false,
                short_selling: true,
                fractional: false,
                token_refresh: false,
                // order_class bracket and oto (§2.1): the exits wait for the entry.
                brackets: true,
                order_types: OrderType::ALL.to_vec(),
                time_in_force: TimeInForce::ALL.to_vec(),
            },
            request_timeout_ms: u64::try_from(self.setup.request_timeout.as_millis()).ok(),
            history_lag_days: 0,
        }
    }

    fn account_id(&self) -> &str {
        &self.config.account_id
    }

    async fn submit_order(&self, order: &Order) -> Result<OrderResult> {
        let request = parse::order_request(order)?;
        let body = serde_json::to_vec(&request)
            .map_err(|e| AdapterError::invalid_request(format!("cannot encode the order: {e}")))?;
        let cid = order.client_order_id.as_str();
        let placed = submit_reconciled(
            &self.rest.backoff,
            // A second order under a client_order_id Alpaca holds is refused.
            Duplicates::Refused,
            || self.post_order(&body, cid),
            || async {
                Ok(match self.rest.order_by_client_id(cid).await? {
                    Lookup::Found(o) => Lookup::Found(parse::order_result(&o)?),
                    Lookup::Absent => Lookup::Absent,
                })
            },
        )
        .await;
        self.updates.seen(placed)
    }

    async fn cancel_order(&self, broker_order_id: &str) -> Result<CancelResult> {
        let id = path_segment(broker_order_id)?;
        // DELETE is idempotent at Alpaca (a canceled order cancels again), so
        // it is retried like a read.
        let sent = retry_read(&self.rest.backoff, || self.delete_order(id)).await;
        // 204 only says the request was taken (§2.7, cancel is asynchronous).
        cancel_settled(id, sent, || self.current(id)).await
    }

    async fn get_order(&self, broker_order_id: &str) -> Result<OrderResult> {
        let read = self
            .rest
            .order(broker_order_id)
            .await
            .and_then(|o| parse::order_result(&o));
        self.updates.seen(read)
    }

    /// PATCH with the changed fields; the answer is the replacement, a new
    /// order whose `replaces` is `broker_order_id` (the original ends
    /// `replaced`). Sent once (`reconcile::replace_once`); an unknown
    /// outcome is read back through `replaced_by` (see `replaced_after`).
    /// Refusals are `rejected` with Alpaca's message and code, an unknown
    /// order `not_found`.
    async fn replace_order(&self, broker_order_id: &str, changes: &Replace) -> Result<OrderResult> {
        let id = path_segment(broker_order_id)?;
        let request = parse::replace_request(changes)?;
        let body = serde_json::to_vec(&request).map_err(|e| {
            AdapterError::invalid_request(format!("cannot encode the replace: {e}"))
        })?;
        let body = body.as_slice();
        let replaced = replace_once(
            &self.rest.backoff,
            || self.patch_order(id, body),
            |e| self.replaced_after(id, changes, e),
        )
        .await;
        self.updates.seen(replaced)
    }

    async fn get_positions(&self) -> Result<Vec<Position>> {
        let list: Vec<AlpacaPosition> = self.rest.read("/v2/positions").await?;
        list.iter()
            .map(|p| parse::position(&self.config.account_id, p))
            .collect()
    }

    async fn get_account(&self) -> Result<Account> {
        let a: AlpacaAccount = self.rest.read("/v2/account").await?;
        parse::account(&a)
    }

    async fn order_updates(&self) -> Result<OrderUpdates> {
        stream::open(
            stream::StreamConfig {
                base_url: self.config.base_url.clone(),
                key_id: self.config.key_id.clone(),
                secret_key: self.config.secret_key.clone(),
            },
            &self.setup,
            self.rest.clone(),
            &self.updates,
        )
        .await
    }
}
