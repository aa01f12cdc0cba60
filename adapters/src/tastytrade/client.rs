//! The REST client under the adapter and its stream: every exchange with
//! its headers, the shared token source renewing the access token once when
//! tastytrade calls it expired, and the reads the adapter is made of.

use http::Method;
use rust_decimal::Decimal;

use super::models::{Balance, Envelope, Items, Order, Placed, Position as TtPosition};
use super::{errors, parse, TastytradeConfig};
use crate::auth::TokenSource;
use crate::contract::{Instrument, OrderResult, Position};
use crate::error::Result;
use crate::http::{Backoff, HttpClient, HttpResponse, HttpSetup};
use crate::reconcile::{retry_read, Lookup};
use crate::updates::UpdateHub;

/// tastytrade refuses a request whose User-Agent is not `<product>/<version>`
/// (§1.3: with an nginx page).
pub const USER_AGENT: &str = "raxx-adapters/0.1";

/// The order-api version asked for (§1.3): the newest documented one.
/// Its one documented change, a start date on order searches, does not
/// touch this adapter, which reads single orders and the day's list.
pub const API_VERSION: &str = "20261012";

/// What the adapter and its order-update stream share.
pub struct Inner {
    pub config: TastytradeConfig,
    pub setup: HttpSetup,
    pub http: HttpClient,
    pub backoff: Backoff,
    /// The open `order_updates` streams; every order state read here feeds them.
    pub updates: UpdateHub,
    pub tokens: TokenSource,
}

impl Inner {
    pub fn account_url(&self, rest: &str) -> String {
        format!(
            "{}/accounts/{}{rest}",
            self.config.base_url, self.config.account_id
        )
    }

    /// One exchange with the access token; an expired token is renewed
    /// and the exchange sent once more.
    pub async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&str>,
    ) -> Result<HttpResponse> {
        let headers = [("Accept-Version", API_VERSION), ("User-Agent", USER_AGENT)];
        let body = body.map(|b| ("application/json", b));
        let http = &self.http;
        self.tokens
            .bearer_exchange(http, method, url, &headers, body, errors::check)
            .await
    }

    pub async fn fetch_raw(&self, id: &str) -> Result<Order> {
        let url = self.account_url(&format!("/orders/{id}"));
        let resp = self.call(Method::GET, &url, None).await?;
        Ok(resp.json::<Envelope<Order>>()?.data)
    }

    /// Every read of one order, so every open update stream learns what it says.
    pub async fn get_order(&self, id: &str) -> Result<OrderResult> {
        let read = retry_read(&self.backoff, || async {
            parse::order(&self.fetch_raw(id).await?)
        })
        .await;
        self.updates.seen(read)
    }

    /// `/orders/live`: every order created or updated today, in any
    /// status, and older ones still working (§2.6).
    pub async fn live_orders(&self) -> Result<Vec<Order>> {
        let url = self.account_url("/orders/live");
        let resp = retry_read(&self.backoff, || self.call(Method::GET, &url, None)).await?;
        Ok(resp.json::<Envelope<Items<Order>>>()?.data.items)
    }

    /// Reconciliation: the order the broker holds under `external_id`, if
    /// any (no idempotency at tastytrade, §4: looking is the only guard).
    pub async fn find_by_external_id(&self, external_id: &str) -> Result<Lookup<OrderResult>> {
        let orders = self.live_orders().await?;
        match orders
            .iter()
            .rev()
            .find(|o| o.external_identifier.as_deref() == Some(external_id))
        {
            Some(o) => Ok(Lookup::Found(parse::order(o)?)),
            None => Ok(Lookup::Absent),
        }
    }

    /// Sends an order once (201 with the order in its first state).
    pub async fn place_once(&self, body: &str) -> Result<OrderResult> {
        let url = self.account_url("/orders");
        let resp = self.call(Method::POST, &url, Some(body)).await?;
        parse::order(&resp.json::<Envelope<Placed>>()?.data.order)
    }

    pub async fn positions(&self) -> Result<Vec<Position>> {
        let url = self.account_url("/positions");
        let resp = retry_read(&self.backoff, || self.call(Method::GET, &url, None)).await?;
        let items = resp.json::<Envelope<Items<TtPosition>>>()?.data.items;
        let mut out = Vec::new();
        for p in &items {
            if let Some(p) = parse::position(p, &self.config.account_id)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// What the account holds of `instrument` (signed).
    pub async fn held(&self, instrument: &Instrument) -> Result<Decimal> {
        Ok(self
            .positions()
            .await?
            .iter()
            .filter(|p| &p.instrument == instrument)
            .map(|p| p.quantity)
            .fold(Decimal::ZERO, Decimal::saturating_add))
    }

    pub async fn balance(&self) -> Result<Balance> {
        let url = self.account_url("/balances/USD");
        let resp = retry_read(&self.backoff, || self.call(Method::GET, &url, None)).await?;
        Ok(resp.json::<Envelope<Balance>>()?.data)
    }
}
