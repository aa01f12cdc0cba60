//! The Tradier brokerage API adapter (reference: tradier.md). Tier A: Raxx
//! calls Tradier's REST API itself with the user's Bearer token.
//!
//! Layout (NautilusTrader's split): `models` is Tradier's JSON exactly,
//! `parse` turns it into the contract, `errors` turns refusals into
//! contract errors, `form` builds order forms, `tag` maps client order ids
//! to Tradier tags, `stream` follows the account-events WebSocket.
//!
//! Tradier has no idempotency: the adapter labels every order with a tag
//! derived from its client_order_id and, after an ambiguous submit, looks
//! the tag up in the day's order list before it ever sends again.

pub(crate) mod errors;
mod form;
pub(crate) mod models;
pub(crate) mod parse;
mod stream;
mod tag;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use http::Method;

use crate::adapter::{BrokerAdapter, OrderUpdates};
use crate::auth::{BasicRefresh, TokenSource};
use crate::contract::{
    Account, CancelResult, Capabilities, Description, Instrument, Order, OrderResult, OrderStatus,
    OrderType, Position, Replace, Tier, TimeInForce,
};
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{Backoff, HttpClient, HttpResponse, HttpSetup};
use crate::reconcile::{
    cancel_settled, original_or_unknown, read_back_failed, replace_once, replace_refused,
    retry_read, still_unknown, submit_reconciled, Duplicates, Lookup,
};
use crate::updates::UpdateHub;
use models::{AckBody, BalancesBody, OrderBody, OrdersBody, PositionsBody, TradierOrder};

/// Orders per page when listing (reconciliation); Tradier's default is 25.
const PAGE_LIMIT: usize = 100;
/// A day's order list longer than this is not walked further.
const MAX_PAGES: usize = 50;

/// How to reach one Tradier account.
#[derive(Clone)]
pub struct TradierConfig {
    /// REST base **with** `/v1`, as Tradier documents it
    /// (`https://api.tradier.com/v1`, `https://sandbox.tradier.com/v1`).
    pub base_url: String,
    pub access_token: String,
    /// The account number (`VA…`, `6YA…`).
    pub account_id: String,
    /// An OAuth partner app's grant, renewed when the access token expires;
    /// None for a personal token, which does not expire.
    pub oauth: Option<TradierOAuth>,
}

/// What renews a Tradier access token (§1.2): the user's refresh token and
/// the partner app's client credentials.
#[derive(Clone)]
pub struct TradierOAuth {
    pub refresh_token: String,
    pub client_id: String,
    pub client_secret: String,
}

impl fmt::Debug for TradierConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TradierConfig")
            .field("base_url", &self.base_url)
            .field("access_token", &"<redacted>")
            .field("account_id", &self.account_id)
            .field("oauth", &self.oauth.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What the adapter and its order-update stream share.
pub(crate) struct Inner {
    config: TradierConfig,
    setup: HttpSetup,
    http: HttpClient,
    backoff: Backoff,
    /// Tags this adapter sent that cannot be decoded (hashed), → client_order_id.
    hashed_tags: Mutex<BTreeMap<String, String>>,
    /// The open `order_updates` streams; every order state read here feeds them.
    updates: UpdateHub,
    tokens: TokenSource,
}

pub struct TradierAdapter {
    inner: Arc<Inner>,
}

impl fmt::Debug for TradierAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TradierAdapter")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl TradierAdapter {
    pub fn new(mut config: TradierConfig, setup: HttpSetup) -> Self {
        let trimmed = config.base_url.trim_end_matches('/').len();
        config.base_url.truncate(trimmed);
        let tokens = match &config.oauth {
            Some(oauth) => TokenSource::refreshing(
                config.access_token.clone(),
                oauth.refresh_token.clone(),
                BasicRefresh {
                    url: format!("{}/oauth/refreshtoken", config.base_url),
                    client_id: oauth.client_id.clone(),
                    client_secret: oauth.client_secret.clone(),
                    http: setup.client(),
                    check: {
                        let clock = setup.clock.clone();
                        Box::new(move |resp| errors::check(resp, clock.as_ref()))
                    },
                },
            ),
            None => TokenSource::fixed(config.access_token.clone()),
        };
        let inner = Inner {
            tokens,
            http: setup.client(),
            backoff: setup.backoff(),
            hashed_tags: Mutex::new(BTreeMap::new()),
            updates: UpdateHub::default(),
            config,
            setup,
        };
        Self {
            inner: Arc::new(inner),
        }
    }
}

/// Tradier order ids are integers; anything else cannot name one, and must
/// not reach a URL path.
fn order_id(broker_order_id: &str) -> Result<&str> {
    crate::http::integer_order_id(broker_order_id, "Tradier")
}

fn malformed(what: &str, e: serde_json::Error) -> AdapterError {
    AdapterError::unknown(format!("malformed Tradier {what}: {e}"))
}

impl Inner {
    fn account_url(&self, rest: &str) -> String {
        format!(
            "{}/accounts/{}{rest}",
            self.config.base_url, self.config.account_id
        )
    }

    /// One exchange: auth and Accept headers, an optional form body, and
    /// every refusal shape turned into an error; an expired OAuth token is
    /// renewed and the exchange sent once more.
    async fn call(&self, method: Method, url: &str, form: Option<&str>) -> Result<HttpResponse> {
        let body = form.map(|f| ("application/x-www-form-urlencoded", f));
        let clock = self.setup.clock.as_ref();
        let check = |resp| errors::check(resp, clock);
        self.tokens
            .bearer_exchange(&self.http, method, url, &[], body, check)
            .await
    }

    fn client_order_id(&self, tag: Option<&str>) -> String {
        let Some(tag) = tag.filter(|t| !t.is_empty()) else {
            return String::new();
        };
        if let Some(id) = self
            .hashed_tags
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(tag)
        {
            return id.clone();
        }
        tag::decode(tag).unwrap_or_else(|| tag.to_string())
    }

    fn to_result(&self, o: &TradierOrder) -> Result<OrderResult> {
        parse::order(o, self.client_order_id(o.tag.as_deref()))
    }

    async fn fetch_raw(&self, id: &str) -> Result<TradierOrder> {
        let url = self.account_url(&format!("/orders/{id}?includeTags=true"));
        let resp = self.call(Method::GET, &url, None).await?;
        let body: OrderBody = resp.json()?;
        Ok(body.order)
    }

    async fn fetch_order(&self, id: &str) -> Result<OrderResult> {
        self.to_result(&self.fetch_raw(id).await?)
    }

    /// Every read of one order, so every open update stream learns what it says.
    async fn get_order(&self, id: &str) -> Result<OrderResult> {
        let id = order_id(id)?;
        self.updates
            .seen(retry_read(&self.backoff, || self.fetch_order(id)).await)
    }

    /// Every order of the current trading day (Tradier's list covers only that), all pages.
    async fn list_orders(&self) -> Result<Vec<TradierOrder>> {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let url = self.account_url(&format!(
                "/orders?includeTags=true&page={page}&limit={PAGE_LIMIT}"
            ));
            let resp = retry_read(&self.backoff, || self.call(Method::GET, &url, None)).await?;
            let body: OrdersBody = resp.json()?;
            let items = body.items().map_err(|e| malformed("order list", e))?;
            let done = items.len() < PAGE_LIMIT;
            all.extend(items);
            if done {
                break;
            }
        }
        Ok(all)
    }

    /// Reconciliation: the order carrying `tag`, if Tradier has one.
    async fn find_by_tag(&self, tag: &str) -> Result<Lookup<OrderResult>> {
        let orders = self.list_orders().await?;
        match orders.iter().find(|o| o.tag.as_deref() == Some(tag)) {
            Some(o) => Ok(Lookup::Found(self.to_result(o)?)),
            None => Ok(Lookup::Absent),
        }
    }

    /// Sends the order once, then reads it back: the answer is only an
    /// acknowledgement (`status: ok`), and a post-acceptance rejection shows
    /// only on the order itself (§2.1.5).
    async fn place_once(&self, body: &str, order: &Order) -> Result<OrderResult> {
        let url = self.account_url("/orders");
        let resp = self.call(Method::POST, &url, Some(body)).await?;
        let ack: AckBody = resp.json()?;
        let id = ack.order.id.ok_or_else(|| {
            AdapterError::unknown(format!(
                "Tradier acknowledged an order without an id (status {:?})",
                ack.order.status
            ))
        })?;
        match self.get_order(&id.0).await {
            Ok(r) => Ok(r),
            // The order exists; failing here would make the caller resend it.
            // Report it as just accepted and let a later read tell more.
            Err(e) if e.kind.is_transient() || e.kind == ErrorKind::NotFound => Ok(OrderResult {
                broker_order_id: id.0,
                client_order_id: order.client_order_id.clone(),
                status: OrderStatus::Pending,
                filled_quantity: rust_decimal::Decimal::ZERO,
                remaining_quantity: order.quantity,
                average_fill_price: None,
                reject_reason: None,
                broker_status: ack.order.status.unwrap_or_else(|| "ok".to_string()),
            }),
            Err(e) => Err(e),
        }
    }

    /// One modify (§2.5). The answer is an acknowledgement, which must name
    /// the same order: a modify keeps the id (§8.8).
    async fn modify_once(&self, id: &str, body: &str) -> Result<()> {
        let url = self.account_url(&format!("/orders/{id}"));
        let resp = self.call(Method::PUT, &url, Some(body)).await?;
        let ack: AckBody = resp.json()?;
        match ack.order.id {
            Some(acked) if acked.0 != id => Err(AdapterError::unknown(format!(
                "Tradier acknowledged the modify of order {id} as order {}",
                acked.0
            ))),
            _ => Ok(()),
        }
    }

    /// After a modify whose outcome is unknown (no answer in time, a broken
    /// connection, a 5xx): the order read back is the answer if it has what
    /// the modify set; otherwise the outcome stays unknown and `err` is
    /// returned. The modify is never sent a second time.
    async fn modified_after(
        &self,
        id: &str,
        changes: &Replace,
        err: AdapterError,
    ) -> Result<OrderResult> {
        let o =
            original_or_unknown(&err, id, retry_read(&self.backoff, || self.fetch_raw(id))).await?;
        let modified = form::carries(
            changes,
            o.price.map(|n| n.0),
            o.stop_price.map(|n| n.0),
            o.duration.as_deref(),
        );
        if modified {
            self.to_result(&o)
        } else {
            Err(still_unknown(
                &err,
                format!("order {id} does not show the changes: the modify may still land"),
            ))
        }
    }

    async fn positions(&self) -> Result<Vec<Position>> {
        let url = self.account_url("/positions");
        let resp = retry_read(&self.backoff, || self.call(Method::GET, &url, None)).await?;
        let body: PositionsBody = resp.json()?;
        let items = body.items().map_err(|e| malformed("positions", e))?;
        let mut out = Vec::new();
        for p in &items {
            if let Some(p) = parse::position(p, &self.config.account_id)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// What the account holds of an equity (for the side word).
    async fn held(&self, instrument: &Instrument) -> Result<form::Held> {
        let held = self
            .positions()
            .await?
            .into_iter()
            .find(|p| &p.instrument == instrument)
            .map_or(rust_decimal::Decimal::ZERO, |p| p.quantity);
        Ok(form::Held(held))
    }
}

#[async_trait]
impl BrokerAdapter for TradierAdapter {
    fn describe(&self) -> Description {
        Description {
            name: "Tradier (raxx adapters)".to_string(),
            broker: "tradier".to_string(),
            tier: Tier::A,
            capabilities: Capabilities {
                equities: true,
                options: true,
                multi_leg: true,
                // PUT …/orders/{id}: prices and duration; the id stays (§2.5).
                replace: true,
                streaming: true,
                read_only: false,
                short_selling: true,
                fractional: false,
                token_refresh: self.inner.tokens.can_refresh(),
                brackets: false,
                order_types: OrderType::ALL.to_vec(),
                time_in_force: vec![TimeInForce::Day, TimeInForce::Gtc],
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
        let tag = tag::encode(&order.client_order_id)?;
        if tag::decode(&tag).is_none() {
            inner
                .hashed_tags
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(tag.clone(), order.client_order_id.clone());
        }
        let held = if form::needs_position(order) {
            inner.held(&order.instrument).await?
        } else {
            form::Held::default()
        };
        let fields = form::order_form(order, &tag, held)?;
        let body = serde_urlencoded::to_string(&fields)
            .map_err(|e| AdapterError::invalid_request(format!("cannot encode the order: {e}")))?;
        let placed = submit_reconciled(
            &inner.backoff,
            // Tradier's tag is a label, not a key: nothing refuses a second order.
            Duplicates::Possible,
            || inner.place_once(&body, order),
            || inner.find_by_tag(&tag),
        )
        .await;
        inner.updates.seen(placed)
    }

    async fn cancel_order(&self, broker_order_id: &str) -> Result<CancelResult> {
        let inner = &self.inner;
        let id = order_id(broker_order_id)?;
        let url = inner.account_url(&format!("/orders/{id}"));
        // A cancel is idempotent in effect (a second one answers "finalized:
        // canceled", which counts as done), so it is retried like a read.
        let sent = retry_read(&inner.backoff, || inner.call(Method::DELETE, &url, None)).await;
        // The answer is an acknowledgement; the order says whether it is gone.
        cancel_settled(id, sent.map(drop), || inner.get_order(id)).await
    }

    async fn get_order(&self, broker_order_id: &str) -> Result<OrderResult> {
        self.inner.get_order(broker_order_id).await
    }

    /// Tradier's modify: PUT the changed `duration` / `price` / `stop` as a
    /// form (see `form::modify_form`: a quantity change is `unsupported`
    /// before anything is sent), then GET the order, which keeps its id.
    ///
    /// Errors map as everywhere in this adapter, with one exception: Tradier
    /// answers a modify of a terminal order with the cancel text (`order
    /// already in finalized state: filled`), which reads as
    /// `too_late_to_cancel`; for a modify that is `rejected` (the order is
    /// unchanged and no cancel was asked for), as the Alpaca adapter maps
    /// Alpaca's 422 "order is not open" on a replace. An unknown order is
    /// `not_found` (Tradier's 401 `Unauthorized Account`).
    ///
    /// Only a rate limit is retried. After a timeout, a broken connection or
    /// a 5xx the order is read back instead of modified again (see
    /// `modified_after`), as Alpaca's replace does.
    async fn replace_order(&self, broker_order_id: &str, changes: &Replace) -> Result<OrderResult> {
        let inner = &self.inner;
        let fields = form::modify_form(changes)?;
        let id = order_id(broker_order_id)?;
        let body = serde_urlencoded::to_string(&fields)
            .map_err(|e| AdapterError::invalid_request(format!("cannot encode the modify: {e}")))?;
        let body = body.as_str();
        let modified = replace_once(
            &inner.backoff,
            || async move {
                inner.modify_once(id, body).await?;
                inner.get_order(id).await.map_err(|e| {
                    read_back_failed(format!("Tradier acknowledged the modify of order {id}"), e)
                })
            },
            |e| async move {
                inner
                    .updates
                    .seen(inner.modified_after(id, changes, e).await)
            },
        )
        .await;
        replace_refused("Tradier", id, modified)
    }

    async fn get_positions(&self) -> Result<Vec<Position>> {
        self.inner.positions().await
    }

    async fn get_account(&self) -> Result<Account> {
        let inner = &self.inner;
        let url = inner.account_url("/balances");
        let resp = retry_read(&inner.backoff, || inner.call(Method::GET, &url, None)).await?;
        let body: BalancesBody = resp.json()?;
        parse::account(&body.balances, &inner.config.account_id)
    }

    async fn order_updates(&self) -> Result<OrderUpdates> {
        stream::open(self.inner.clone()).await
    }
}
