//! The Charles Schwab Trader API adapter (reference: schwab.md). Tier A:
//! Raxx calls Schwab's REST API itself with the user's OAuth grant.
//!
//! Layout: `models` is Schwab's JSON, `parse` turns it into the contract,
//! `errors` turns refusals into contract errors, `spec` builds order
//! requests and holds the reconciliation match rule, `oauth` renews the
//! access token, `poll` follows order states.
//!
//! What makes Schwab different, and where it is handled:
//! - Every account path takes the account's hash, not its number (§2.1):
//!   resolved once from `/accounts/accountNumbers`, cached, and resolved
//!   again when Schwab no longer takes the cached one (`account_call`).
//! - Place and replace answer 201 with an empty body; the order's id is
//!   only in `Location` (§4). The id is read from there, and the order
//!   read back for its first state; a 201 whose `Location` names no order
//!   is found by listing, never sent again (it was placed).
//! - No client order id and no idempotency (§4): after an ambiguous submit
//!   the order is looked for among the account's recent orders by what it
//!   is, with the shared rule of [`crate::listing`] (`spec` says which
//!   fields must match). Exactly one match is the order; none means it
//!   never landed and may be sent again; several identical candidates
//!   cannot be told apart: the adapter reports `timeout` (the outcome stays
//!   unknown) naming them, and never sends again or picks one. The client
//!   order id lives in this adapter only (broker id → intent), for the
//!   orders it placed.
//! - Access tokens live 30 minutes and are renewed through the shared
//!   `TokenSource`; a refresh token past its 7 days is refused, and the
//!   connection then answers `reauth_required`.
//! - Order updates are polled (Schwab's streamer carries activity messages
//!   but no order state, §3): `poll`.

pub(crate) mod errors;
pub(crate) mod models;
pub(crate) mod parse;
mod poll;
mod spec;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::DateTime;
use http::Method;
use rust_decimal::Decimal;

use crate::adapter::{BrokerAdapter, OrderUpdates};
use crate::auth::{BasicRefresh, TokenSource};
use crate::contract::{
    Account, CancelResult, Capabilities, Description, Instrument, Order, OrderResult, OrderStatus,
    OrderType, Position, Replace, Tier, TimeInForce,
};
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{Backoff, HttpClient, HttpResponse, HttpSetup};
use crate::listing::{Candidate, Intents};
use crate::reconcile::{
    cancel_settled, original_or_unknown, read_back_failed, replace_once, replace_refused,
    retry_read, still_unknown, Lookup,
};
use crate::updates::UpdateHub;
use models::{AccountDoc, AccountNumberHash};
use spec::Spec;

/// How far Schwab's clock may be from ours when a submit's time bounds
/// the orders it could have become.
const CLOCK_SKEW_MS: i64 = 60_000;

/// How to reach one Schwab account.
#[derive(Clone)]
pub struct SchwabConfig {
    /// The Trader API base **with** `/trader/v1`, as Schwab documents it
    /// (`https://api.schwabapi.com/trader/v1`); the token endpoint is
    /// `/v1/oauth/token` on the same host.
    pub base_url: String,
    /// The app's key and secret (the token endpoint's Basic credentials).
    pub app_key: String,
    pub app_secret: String,
    /// The user's grant.
    pub access_token: String,
    pub refresh_token: String,
    /// The account number the user sees (not its hash).
    pub account_id: String,
}

impl fmt::Debug for SchwabConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchwabConfig")
            .field("base_url", &self.base_url)
            .field("app_key", &"<redacted>")
            .field("app_secret", &"<redacted>")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// What the adapter and its update poller share.
pub(crate) struct Inner {
    config: SchwabConfig,
    setup: HttpSetup,
    http: HttpClient,
    backoff: Backoff,
    tokens: TokenSource,
    /// The account's hash, once resolved; one resolution at a time.
    hash: tokio::sync::Mutex<Option<String>>,
    /// Orders this adapter placed or found, and intents whose submit ended unknown.
    intents: Intents,
    updates: UpdateHub,
}

pub struct SchwabAdapter {
    inner: Arc<Inner>,
}

impl fmt::Debug for SchwabAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchwabAdapter")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl SchwabAdapter {
    pub fn new(mut config: SchwabConfig, setup: HttpSetup) -> Self {
        let trimmed = config.base_url.trim_end_matches('/').len();
        config.base_url.truncate(trimmed);
        let origin = config
            .base_url
            .strip_suffix("/trader/v1")
            .unwrap_or(&config.base_url);
        let tokens = TokenSource::refreshing(
            config.access_token.clone(),
            config.refresh_token.clone(),
            BasicRefresh {
                url: format!("{origin}/v1/oauth/token"),
                client_id: config.app_key.clone(),
                client_secret: config.app_secret.clone(),
                http: setup.client(),
                check: Box::new(errors::check_token_answer),
            },
        );
        let inner = Inner {
            tokens,
            http: setup.client(),
            backoff: setup.backoff(),
            hash: tokio::sync::Mutex::new(None),
            intents: Intents::default(),
            updates: UpdateHub::default(),
            config,
            setup,
        };
        Self {
            inner: Arc::new(inner),
        }
    }
}

/// Schwab order ids are int64 (§6); anything else names no order and must
/// not reach a URL path.
fn order_id(broker_order_id: &str) -> Result<&str> {
    crate::http::integer_order_id(broker_order_id, "Schwab")
}

/// The order id a 201's `Location` names: its last path segment
/// (`…/accounts/<hash>/orders/<id>`, §4), when that is an order id.
fn located(resp: &HttpResponse) -> Option<String> {
    let location = resp.header("location")?;
    let path = location.split(['?', '#']).next()?;
    let id = path.rsplit('/').find(|s| !s.is_empty())?;
    order_id(id).ok().map(str::to_string)
}

/// A query time as Schwab documents it: `yyyy-MM-dd'T'HH:mm:ss.SSSZ` (§2.5).
fn query_time(ms: i64) -> String {
    mbt::Timestamp::from_millis(ms)
        .to_datetime()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// An order's `enteredTime` (`2026-01-05T15:00:01+0000`; other offsets and
/// RFC 3339 read too, §6) in Unix ms.
fn entered_ms(text: &str) -> Option<i64> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.timestamp_millis())
}

impl Inner {
    fn now_ms(&self) -> i64 {
        self.setup.clock.now_ms()
    }

    /// One exchange with the access token: JSON in and out, every refusal
    /// an error; an expired token is renewed once and the exchange sent again.
    async fn call(&self, method: Method, url: &str, body: Option<&str>) -> Result<HttpResponse> {
        let body = body.map(|b| ("application/json", b));
        let http = &self.http;
        self.tokens
            .bearer_exchange(http, method, url, &[], body, errors::check)
            .await
    }

    /// The account's hash, resolved once (§2.1).
    async fn hash(&self) -> Result<String> {
        let mut cached = self.hash.lock().await;
        if let Some(h) = cached.as_ref() {
            return Ok(h.clone());
        }
        let url = format!("{}/accounts/accountNumbers", self.config.base_url);
        let resp = retry_read(&self.backoff, || self.call(Method::GET, &url, None)).await?;
        let pairs: Vec<AccountNumberHash> = resp.json()?;
        let hash = pairs
            .into_iter()
            .find(|p| p.account_number == self.config.account_id)
            .map(|p| p.hash_value)
            .ok_or_else(|| {
                AdapterError::new(
                    ErrorKind::ReauthRequired,
                    format!(
                        "account {} is not linked to this authorization",
                        self.config.account_id
                    ),
                )
            })?;
        *cached = Some(hash.clone());
        Ok(hash)
    }

    /// Forgets `stale`, so the next call resolves the hash again.
    async fn forget_hash(&self, stale: &str) {
        let mut cached = self.hash.lock().await;
        if cached.as_deref() == Some(stale) {
            *cached = None;
        }
    }

    /// An exchange on `/accounts/{hash}{rest}`. Schwab refusing the hash
    /// (the account was relinked) refused the request before anything
    /// happened: the hash is resolved again and the request sent once more.
    async fn account_call(
        &self,
        method: Method,
        rest: &str,
        body: Option<&str>,
    ) -> Result<HttpResponse> {
        let hash = self.hash().await?;
        let url = |h: &str| format!("{}/accounts/{h}{rest}", self.config.base_url);
        match self.call(method.clone(), &url(&hash), body).await {
            Err(e) if e.broker_code.as_deref() == Some(errors::STALE_HASH) => {
                self.forget_hash(&hash).await;
                let fresh = self.hash().await?;
                self.call(method, &url(&fresh), body).await
            }
            outcome => outcome,
        }
    }

    fn to_result(&self, o: &models::Order) -> Result<OrderResult> {
        parse::order(o, self.intents.client_order_id(&o.order_id.to_string()))
    }

    async fn fetch(&self, id: &str) -> Result<models::Order> {
        let resp = self
            .account_call(Method::GET, &format!("/orders/{id}"), None)
            .await?;
        resp.json()
    }

    /// Every read of one order, so every open update stream learns what it says.
    async fn get_order(&self, id: &str) -> Result<OrderResult> {
        let id = order_id(id)?;
        let read = retry_read(&self.backoff, || async {
            self.to_result(&self.fetch(id).await?)
        })
        .await;
        self.updates.seen(read)
    }

    /// The account's orders entered in `[from, to]` (Unix ms); Schwab
    /// needs both ends (§2.5).
    async fn list(&self, from_ms: i64, to_ms: i64) -> Result<Vec<models::Order>> {
        let query = serde_urlencoded::to_string([
            ("fromEnteredTime", query_time(from_ms)),
            ("toEnteredTime", query_time(to_ms)),
        ])
        .map_err(|e| AdapterError::invalid_request(format!("cannot encode the window: {e}")))?;
        let rest = format!("/orders?{query}");
        let resp = retry_read(&self.backoff, || {
            self.account_call(Method::GET, &rest, None)
        })
        .await?;
        resp.json()
    }

    /// Reconciliation (the rule is [`crate::listing`]'s, the fields
    /// compared `spec`'s): the order `spec` became if Schwab has it,
    /// entered no earlier than `sent_ms` less the skew.
    async fn find(&self, spec: &Spec, cid: &str, sent_ms: i64) -> Result<Lookup<OrderResult>> {
        let from = sent_ms.saturating_sub(CLOCK_SKEW_MS);
        let orders = self
            .list(from, self.now_ms().saturating_add(CLOCK_SKEW_MS))
            .await?;
        let candidates = orders
            .into_iter()
            .filter(|o| spec.matches(o))
            .map(|o| Candidate {
                id: o.order_id.to_string(),
                placed_ms: o.entered_time.as_deref().and_then(entered_ms),
                order: o,
            })
            .collect();
        match self.intents.claim(cid, from, candidates)? {
            Lookup::Found(o) => Ok(Lookup::Found(self.updates.seen(self.to_result(&o))?)),
            Lookup::Absent => Ok(Lookup::Absent),
        }
    }

    /// The order just placed as `id`, read back for its first state; the
    /// 201 said Schwab took it, so a failed read-back reports it pending
    /// rather than failing (which would make the caller send it again).
    async fn placed(&self, id: &str, order: &Order) -> Result<OrderResult> {
        match self.get_order(id).await {
            Ok(r) => Ok(r),
            Err(e) if e.kind.is_transient() || e.kind == ErrorKind::NotFound => Ok(OrderResult {
                broker_order_id: id.to_string(),
                client_order_id: order.client_order_id.clone(),
                status: OrderStatus::Pending,
                filled_quantity: Decimal::ZERO,
                remaining_quantity: order.quantity,
                average_fill_price: None,
                reject_reason: None,
                broker_status: String::new(),
            }),
            Err(e) => Err(e),
        }
    }

    /// One POST of the order. The id comes from `Location` (§4); a 201
    /// without one placed the order all the same: it is looked for, and an
    /// order that cannot be found is an error the caller must not retry.
    async fn place_once(
        &self,
        body: &str,
        spec: &Spec,
        order: &Order,
        sent_ms: i64,
    ) -> Result<OrderResult> {
        let resp = self
            .account_call(Method::POST, "/orders", Some(body))
            .await?;
        let cid = &order.client_order_id;
        if let Some(id) = located(&resp) {
            self.intents.remember(&id, cid);
            return self.placed(&id, order).await;
        }
        match self.find(spec, cid, sent_ms).await {
            Ok(Lookup::Found(r)) => Ok(r),
            Ok(Lookup::Absent) => Err(AdapterError::unknown(format!(
                "Schwab answered HTTP {} without an order id in Location, and the order is not listed yet",
                resp.status.as_u16()
            ))),
            Err(e) => Err(AdapterError::unknown(format!(
                "Schwab answered HTTP {} without an order id in Location: {}",
                resp.status.as_u16(),
                e.message
            ))),
        }
    }

    async fn document(&self, positions: bool) -> Result<AccountDoc> {
        let rest = if positions { "?fields=positions" } else { "" };
        let resp = retry_read(&self.backoff, || self.account_call(Method::GET, rest, None)).await?;
        resp.json()
    }

    async fn positions(&self) -> Result<Vec<Position>> {
        parse::positions(&self.document(true).await?, &self.config.account_id)
    }

    /// The account's position in `instrument` (signed).
    async fn held(&self, instrument: &Instrument) -> Result<Decimal> {
        Ok(self
            .positions()
            .await?
            .iter()
            .filter(|p| &p.instrument == instrument)
            .map(|p| p.quantity)
            .sum())
    }

    /// One PUT of a complete order; the replacement's id from `Location`.
    async fn replace_put(&self, id: &str, body: &str) -> Result<String> {
        let resp = self
            .account_call(Method::PUT, &format!("/orders/{id}"), Some(body))
            .await?;
        located(&resp).ok_or_else(|| {
            AdapterError::unknown(format!(
                "Schwab replaced order {id} (HTTP {}) without the new id in Location",
                resp.status.as_u16()
            ))
        })
    }

    /// After a replace whose answer was lost: the old order read back says
    /// whether it was replaced, and by which order (§2.7); otherwise the
    /// outcome stays unknown. The replace is never sent again.
    async fn replaced_after(
        &self,
        id: &str,
        spec: &Spec,
        cid: &str,
        err: AdapterError,
    ) -> Result<OrderResult> {
        let old =
            original_or_unknown(&err, id, retry_read(&self.backoff, || self.fetch(id))).await?;
        let replacement = old
            .replacing_order_collection
            .iter()
            .find(|o| spec.matches(o));
        match (old.status.as_str(), replacement) {
            ("REPLACED", Some(new)) => {
                let new_id = new.order_id.to_string();
                self.intents.remember(&new_id, cid);
                self.get_order(&new_id).await
            }
            _ => Err(still_unknown(
                &err,
                format!("order {id} does not show the replacement: the replace may still land"),
            )),
        }
    }
}

#[async_trait]
impl BrokerAdapter for SchwabAdapter {
    fn describe(&self) -> Description {
        Description {
            name: "Charles Schwab (raxx adapters)".to_string(),
            broker: "schwab".to_string(),
            tier: Tier::A,
            capabilities: Capabilities {
                equities: true,
                options: true,
                multi_leg: true,
                // PUT …/orders/{id}: a complete order under a new id (§2.7).
                replace: true,
                // Order states are polled: the streamer carries none (§3).
                streaming: false,
                read_only: false,
                short_selling: true,
                fractional: false,
                token_refresh: true,
                brackets: false,
                order_types: OrderType::ALL.to_vec(),
                time_in_force: TimeInForce::ALL.to_vec(),
            },
            request_timeout_ms: u64::try_from(self.inner.setup.request_timeout.as_millis()).ok(),
            history_lag_days: 0,
        }
    }

    fn account_id(&self) -> &str {
        &self.inner.config.account_id
    }

    /// Places an order once per intent. An intent this adapter already
    /// placed answers with its order; one whose earlier submit ended
    /// unknown is looked for before anything is sent (see the module).
    async fn submit_order(&self, order: &Order) -> Result<OrderResult> {
        order.without_exits()?;
        let inner = &self.inner;
        let cid = order.client_order_id.as_str();
        if let Some(id) = inner.intents.order_of(cid) {
            return inner.get_order(&id).await;
        }
        let held = if spec::needs_position(order) {
            inner.held(&order.instrument).await?
        } else {
            Decimal::ZERO
        };
        let spec = Spec::of(order, held)?;
        let body = serde_json::to_string(&spec.request())
            .map_err(|e| AdapterError::invalid_request(format!("cannot encode the order: {e}")))?;
        let (body, spec) = (&body, &spec);
        let placed = inner
            .intents
            .submit(
                inner.setup.clock.as_ref(),
                &inner.backoff,
                cid,
                |first_sent| inner.place_once(body, spec, order, first_sent),
                |first_sent| inner.find(spec, cid, first_sent),
            )
            .await;
        inner.updates.seen(placed)
    }

    async fn cancel_order(&self, broker_order_id: &str) -> Result<CancelResult> {
        let inner = &self.inner;
        let id = order_id(broker_order_id)?;
        let rest = format!("/orders/{id}");
        // A second cancel of a canceling order changes nothing: retried like a read.
        let sent = retry_read(&inner.backoff, || {
            inner.account_call(Method::DELETE, &rest, None)
        })
        .await;
        // The cancel is asynchronous (§2.6): the order says where it is.
        cancel_settled(id, sent.map(drop), || inner.get_order(id)).await
    }

    async fn get_order(&self, broker_order_id: &str) -> Result<OrderResult> {
        self.inner.get_order(broker_order_id).await
    }

    /// Schwab's replace: the order read back, changed, PUT whole (§2.7);
    /// the replacement is a new order under the id in `Location`, serving
    /// the same intent. Only a rate limit is retried; after a timeout, a
    /// broken connection or a 5xx the old order is read back instead
    /// (`replaced_after`). A replace of a final order is `rejected` (the
    /// order is unchanged and no cancel was asked for).
    async fn replace_order(&self, broker_order_id: &str, changes: &Replace) -> Result<OrderResult> {
        let inner = &self.inner;
        let id = order_id(broker_order_id)?;
        let old = retry_read(&inner.backoff, || inner.fetch(id)).await?;
        let spec = Spec::replacing(&old, changes)?;
        let body = serde_json::to_string(&spec.request()).map_err(|e| {
            AdapterError::invalid_request(format!("cannot encode the replace: {e}"))
        })?;
        let cid = changes
            .client_order_id
            .clone()
            .unwrap_or_else(|| inner.intents.client_order_id(id));
        let (body, cid, spec) = (body.as_str(), cid.as_str(), &spec);
        let replaced = replace_once(
            &inner.backoff,
            || async move {
                let new_id = inner.replace_put(id, body).await?;
                inner.intents.remember(&new_id, cid);
                inner.get_order(&new_id).await.map_err(|e| {
                    read_back_failed(format!("Schwab replaced order {id} with {new_id}"), e)
                })
            },
            |e| async move { inner.replaced_after(id, spec, cid, e).await },
        )
        .await;
        replace_refused("Schwab", id, replaced)
    }

    async fn get_positions(&self) -> Result<Vec<Position>> {
        self.inner.positions().await
    }

    async fn get_account(&self) -> Result<Account> {
        let inner = &self.inner;
        parse::account(&inner.document(false).await?, &inner.config.account_id)
    }

    async fn order_updates(&self) -> Result<OrderUpdates> {
        poll::open(self.inner.clone()).await
    }
}
