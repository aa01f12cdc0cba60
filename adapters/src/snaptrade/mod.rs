//! The SnapTrade adapter (reference: snaptrade.md), commercial-key mode.
//! Tier B: Raxx calls SnapTrade, which holds the user's brokerage
//! credentials and routes to the brokerage behind it.
//!
//! Layout: `client` signs and sends (and `sign` computes the signature),
//! `models` is SnapTrade's JSON, `parse` turns it into the contract,
//! `errors` turns refusals into contract errors, `spec` builds order
//! requests and says which listed order a submit became, `poll` follows
//! order states.
//!
//! What makes SnapTrade different, and where it is handled:
//! - Every request is signed (§2): `client`, with the timestamp from the
//!   injected clock (simulated time under the harness).
//! - No client order id round-trips and nothing de-duplicates (§4.5):
//!   after an ambiguous submit (timeout, lost answer, 5xx after sending)
//!   the order is looked for among `recentOrders` by what it is, with the
//!   shared rule of [`crate::listing`] (`spec` says which fields must
//!   match). Exactly one match is the order; none means it never landed
//!   and may be sent again; several identical candidates cannot be told
//!   apart: the adapter reports `timeout` naming them, and never sends
//!   again or picks one. The client order id lives in this adapter only.
//! - A submit answers with the order's first state as SnapTrade reports it
//!   (usually PENDING); it is never read back for a fill.
//! - The brokerage behind SnapTrade can fail on its own (503/3002) or have
//!   its connection disabled (402/3003, the user must reconnect): errors
//!   name it once the account has been read (`institution_name`).
//! - Order updates are polled (no stream; webhooks only): `poll`.
//! - A brokerage SnapTrade only reads (Fidelity, Robinhood, IBKR, §7.2) is
//!   a read-only source, [`SnapTradeSource`], which cannot place an order;
//!   its history is SnapTrade's activities, a day late (`source`).

mod client;
pub(crate) mod errors;
pub(crate) mod models;
pub(crate) mod parse;
mod poll;
mod sign;
mod source;
mod spec;

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use http::Method;

use crate::adapter::{BrokerAdapter, OrderUpdates};
use crate::contract::{
    Account, CancelResult, CancelStatus, Capabilities, Description, Holdings, Order, OrderResult,
    OrderStatus, OrderType, Position, Tier, TimeInForce,
};
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{Backoff, HttpResponse, HttpSetup};
use crate::listing::{Candidate, Intents};
use crate::reconcile::{cancel_refused, cancel_settled, retry_read, Lookup};
use crate::updates::UpdateHub;
use client::{encode, Client};
use errors::Call;
use models::{OrderIdRequest, OrderRecord};
use spec::Spec;

pub use source::SnapTradeSource;

/// How far SnapTrade's (and its brokerage's) clock may be from ours when
/// a submit's time bounds the orders it could have become.
const CLOCK_SKEW_MS: i64 = 60_000;

/// The longest brokerage order id taken: ids are free-form strings (§3),
/// and one longer than this names no order.
const MAX_ORDER_ID: usize = 256;

/// How to reach one account through SnapTrade.
#[derive(Clone)]
pub struct SnapTradeConfig {
    /// Root paths, no `/api/v1` (`https://api.snaptrade.com`, or
    /// `http://127.0.0.1:PORT`); a path part is sent but not signed (§1.3).
    pub base_url: String,
    /// Raxx's partner credentials; the consumer key signs every request.
    pub client_id: String,
    pub consumer_key: String,
    /// The SnapTrade user Raxx registered for this person, and its secret.
    pub user_id: String,
    pub user_secret: String,
    /// The SnapTrade account UUID (the contract's `account_id`).
    pub account_id: String,
}

impl fmt::Debug for SnapTradeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapTradeConfig")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("consumer_key", &"<redacted>")
            .field("user_id", &self.user_id)
            .field("user_secret", &"<redacted>")
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// What the adapter and its update poller share.
pub(crate) struct Inner {
    config: SnapTradeConfig,
    setup: HttpSetup,
    client: Client,
    backoff: Backoff,
    /// Orders this adapter placed or found, and intents whose submit ended unknown.
    intents: Intents,
    updates: UpdateHub,
    /// The brokerage behind the account, once read: errors about it name it.
    institution: Mutex<Option<String>>,
}

pub struct SnapTradeAdapter {
    inner: Arc<Inner>,
}

impl fmt::Debug for SnapTradeAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapTradeAdapter")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl SnapTradeAdapter {
    pub fn new(config: SnapTradeConfig, setup: HttpSetup) -> Self {
        let inner = Inner {
            client: Client::new(&config, &setup),
            backoff: setup.backoff(),
            intents: Intents::default(),
            updates: UpdateHub::default(),
            institution: Mutex::new(None),
            config,
            setup,
        };
        Self {
            inner: Arc::new(inner),
        }
    }
}

/// A brokerage order id as the adapter sends it: free-form (§3), but never
/// empty or unbounded; anything else names no order.
fn order_id(id: &str) -> Result<&str> {
    if id.is_empty() || id.len() > MAX_ORDER_ID {
        Err(AdapterError::not_found(format!(
            "{id:.40} is not a SnapTrade brokerage order id"
        )))
    } else {
        Ok(id)
    }
}

/// The body naming one order (detail reads and cancels).
fn order_body(id: &str) -> Result<String> {
    serde_json::to_string(&OrderIdRequest {
        brokerage_order_id: id,
    })
    .map_err(|e| AdapterError::invalid_request(format!("cannot encode the order id: {e}")))
}

impl Inner {
    fn account_path(&self, rest: &str) -> String {
        format!("/accounts/{}{rest}", encode(&self.config.account_id))
    }

    /// One signed exchange, every refusal an error.
    async fn call(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, &str)],
        body: Option<&str>,
        call: Call,
    ) -> Result<HttpResponse> {
        let resp = self.client.exchange(method, path, params, body).await?;
        let institution = self
            .institution
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        errors::check(resp, call, institution.as_deref())
    }

    fn to_result(&self, o: &OrderRecord) -> Result<OrderResult> {
        parse::order(o, self.intents.client_order_id(&o.brokerage_order_id))
    }

    /// Every read of one order, so every open update stream learns what it says.
    async fn get_order(&self, id: &str) -> Result<OrderResult> {
        let id = order_id(id)?;
        let body = order_body(id)?;
        let path = self.account_path("/orders/details");
        let read = retry_read(&self.backoff, || async {
            let resp = self
                .call(Method::POST, &path, &[], Some(&body), Call::Read)
                .await?;
            let record: OrderRecord = resp.json()?;
            if record.brokerage_order_id != id {
                return Err(AdapterError::unknown(format!(
                    "SnapTrade answered with order {:.40} when asked for {id:.40}",
                    record.brokerage_order_id
                )));
            }
            self.to_result(&record)
        })
        .await;
        self.updates.seen(read)
    }

    /// The account's orders of the last 24 hours, executed or not. One
    /// request: the lookup after an ambiguous submit is retried whole by
    /// the intents' `submit` (retrying here as well made up to sixteen
    /// requests of one lookup against a SnapTrade that is down); the
    /// poller retries its own reads.
    async fn recent(&self) -> Result<Vec<OrderRecord>> {
        let path = self.account_path("/recentOrders");
        let params = [("only_executed", "false")];
        let resp = self
            .call(Method::GET, &path, &params, None, Call::Read)
            .await?;
        Ok(resp.json::<models::RecentOrders>()?.orders)
    }

    /// Reconciliation (the rule is [`crate::listing`]'s, the fields
    /// compared `spec`'s): the order `spec` became if SnapTrade lists it,
    /// placed no earlier than `sent_ms` less the skew.
    async fn find(&self, spec: &Spec, cid: &str, sent_ms: i64) -> Result<Lookup<OrderResult>> {
        let from = sent_ms.saturating_sub(CLOCK_SKEW_MS);
        let candidates = self
            .recent()
            .await?
            .into_iter()
            .filter(|o| spec.matches(o))
            .map(|o| Candidate {
                id: o.brokerage_order_id.clone(),
                placed_ms: parse::placed_ms(&o),
                order: o,
            })
            .collect();
        match self.intents.claim(cid, from, candidates)? {
            Lookup::Found(o) => Ok(Lookup::Found(self.updates.seen(self.to_result(&o))?)),
            Lookup::Absent => Ok(Lookup::Absent),
        }
    }

    /// One POST of the order; its answer is the order's first state. An
    /// answer that cannot be read still placed the order: it is looked
    /// for, and one that cannot be found is an error the caller must not
    /// retry (sending it again would place a second).
    async fn place_once(
        &self,
        (path, body): (&str, &str),
        spec: &Spec,
        cid: &str,
        sent_ms: i64,
    ) -> Result<OrderResult> {
        let resp = self
            .call(Method::POST, path, &[], Some(body), Call::Submit)
            .await?;
        // A spread answers its id beside its v1 record (`MlegOrderResponse`).
        let record = match spec.legs.is_empty() {
            true => resp.json::<OrderRecord>(),
            false => resp.json::<models::MlegPlaced>().and_then(|m| {
                m.orders
                    .into_iter()
                    .find(|o| o.brokerage_order_id == m.brokerage_order_id)
                    .ok_or_else(|| {
                        AdapterError::unknown("SnapTrade answered a spread without its order")
                    })
            }),
        };
        let unreadable = match record {
            Ok(record) => {
                self.intents.remember(&record.brokerage_order_id, cid);
                return self.to_result(&record);
            }
            Err(e) => e,
        };
        let why = match self.find(spec, cid, sent_ms).await {
            Ok(Lookup::Found(r)) => return Ok(r),
            Ok(Lookup::Absent) => "the order is not listed yet".to_string(),
            Err(e) => e.message,
        };
        Err(AdapterError::unknown(format!(
            "SnapTrade placed the order but its answer could not be read ({}), and {why}; it was not sent again",
            unreadable.message
        )))
    }

    /// Who the adapter is and what it can do through a trading connection.
    fn describe(&self) -> Description {
        Description {
            name: "SnapTrade (raxx adapters)".to_string(),
            broker: "snaptrade".to_string(),
            tier: Tier::B,
            capabilities: Capabilities {
                equities: true,
                // One option through /trade/place, a spread through
                // /trading/options (market and limit).
                options: true,
                multi_leg: true,
                // `trading/replace` exists, but not for every brokerage, and
                // its answer's id may differ: not offered.
                replace: false,
                // Order states are polled (webhooks only, §9).
                streaming: false,
                read_only: false,
                short_selling: false,
                fractional: false,
                token_refresh: false,
                brackets: false,
                order_types: OrderType::ALL.to_vec(),
                time_in_force: TimeInForce::ALL.to_vec(),
            },
            request_timeout_ms: u64::try_from(self.setup.request_timeout.as_millis()).ok(),
            history_lag_days: 0,
        }
    }

    /// The account's holdings with their age: `as_of` is when SnapTrade
    /// fetched them from the brokerage (`data_freshness.as_of`), which on
    /// a cached plan or a disabled connection can be long ago (§8.1).
    async fn holdings(&self) -> Result<Holdings> {
        let path = self.account_path("/positions/all");
        let resp = retry_read(&self.backoff, || {
            self.call(Method::GET, &path, &[], None, Call::Read)
        })
        .await?;
        parse::holdings(&resp.json()?, &self.config.account_id)
    }

    /// Cash and buying power from the USD balance, equity from the
    /// account's total value (two reads).
    async fn account(&self) -> Result<Account> {
        let account = self.read_account().await?;
        let path = self.account_path("/balances");
        let resp = retry_read(&self.backoff, || {
            self.call(Method::GET, &path, &[], None, Call::Read)
        })
        .await?;
        let balances: Vec<models::Balance> = resp.json()?;
        parse::account(&account, &balances, &self.config.account_id)
    }

    /// `GET /accounts/{id}`; the brokerage behind it is kept, so that
    /// errors about it name it.
    async fn read_account(&self) -> Result<models::Account> {
        let path = self.account_path("");
        let resp = retry_read(&self.backoff, || {
            self.call(Method::GET, &path, &[], None, Call::Read)
        })
        .await?;
        let account: models::Account = resp.json()?;
        let own = account.id == self.config.account_id;
        if let Some(name) = account
            .institution_name
            .clone()
            .filter(|n| own && !n.is_empty())
        {
            *self.institution.lock().unwrap_or_else(|p| p.into_inner()) = Some(name);
        }
        Ok(account)
    }

    /// Deletes the account's connection (`DELETE /connection/{id}`, §4.3).
    async fn delete_connection(&self) -> Result<bool> {
        let connection = self
            .read_account()
            .await?
            .brokerage_authorization
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                AdapterError::new(
                    ErrorKind::Unknown,
                    "SnapTrade's account names no brokerage_authorization to delete",
                )
            })?;
        let path = format!("/connection/{}", encode(&connection));
        self.call(Method::DELETE, &path, &[], None, Call::Read)
            .await?;
        Ok(true)
    }

    /// A cancel SnapTrade refused (400: the order can no longer be
    /// canceled, §4.5): the order read back says why. A cancel already on
    /// its way makes this one a success; a final order is too late (see
    /// [`cancel_refused`]); a working one that cannot be canceled is
    /// `rejected`, since nothing about it is late.
    async fn refused_cancel(&self, id: &str, refusal: AdapterError) -> Result<CancelResult> {
        let read = self.get_order(id).await;
        match &read {
            Ok(o) if o.status == OrderStatus::PendingCancel => Ok(CancelResult {
                broker_order_id: id.to_string(),
                status: CancelStatus::PendingCancel,
            }),
            Ok(o) if !o.status.is_terminal() => Err(AdapterError {
                kind: ErrorKind::Rejected,
                message: format!(
                    "SnapTrade refused to cancel order {id:.40} while it is {}: {}",
                    o.broker_status, refusal.message
                ),
                ..refusal
            }),
            _ => cancel_refused(id, refusal, || async { read }).await,
        }
    }
}

#[async_trait]
impl BrokerAdapter for SnapTradeAdapter {
    fn describe(&self) -> Description {
        self.inner.describe()
    }

    fn account_id(&self) -> &str {
        &self.inner.config.account_id
    }

    /// Places an order once per intent. An intent this adapter already
    /// placed answers with its order; one whose earlier submit ended
    /// unknown is looked for before anything is sent (see the module).
    async fn submit_order(&self, order: &Order) -> Result<OrderResult> {
        order.without_exits()?;
        let spec = Spec::of(order)?;
        let inner = &self.inner;
        let cid = order.client_order_id.as_str();
        if let Some(id) = inner.intents.order_of(cid) {
            return inner.get_order(&id).await;
        }
        let (path, body) = spec.request(&inner.config.account_id)?;
        let (sent, spec) = ((path.as_str(), body.as_str()), &spec);
        let placed = inner
            .intents
            .submit(
                inner.setup.clock.as_ref(),
                &inner.backoff,
                cid,
                |first_sent| inner.place_once(sent, spec, cid, first_sent),
                |first_sent| inner.find(spec, cid, first_sent),
            )
            .await;
        inner.updates.seen(placed)
    }

    async fn cancel_order(&self, broker_order_id: &str) -> Result<CancelResult> {
        let inner = &self.inner;
        let id = order_id(broker_order_id)?;
        let body = order_body(id)?;
        let path = inner.account_path("/trading/cancel");
        // A second cancel of a canceling order changes nothing: retried like a read.
        let sent = retry_read(&inner.backoff, || {
            inner.call(Method::POST, &path, &[], Some(&body), Call::Cancel)
        })
        .await;
        match sent {
            Err(e) if e.kind == ErrorKind::TooLateToCancel => inner.refused_cancel(id, e).await,
            // The answer only says the brokerage was asked: the order says where it is.
            sent => cancel_settled(id, sent.map(drop), || inner.get_order(id)).await,
        }
    }

    async fn get_order(&self, broker_order_id: &str) -> Result<OrderResult> {
        self.inner.get_order(broker_order_id).await
    }

    async fn get_positions(&self) -> Result<Vec<Position>> {
        Ok(self.get_holdings().await?.positions)
    }

    async fn get_holdings(&self) -> Result<Holdings> {
        self.inner.holdings().await
    }

    async fn get_account(&self) -> Result<Account> {
        self.inner.account().await
    }

    async fn order_updates(&self) -> Result<OrderUpdates> {
        poll::open(self.inner.clone()).await
    }

    /// Deletes the account's connection (`DELETE /connection/{id}`, §4.3),
    /// found from the account itself: SnapTrade holds the brokerage grant,
    /// and this is the user's way to take it back.
    async fn revoke(&self) -> Result<bool> {
        self.inner.delete_connection().await
    }
}
