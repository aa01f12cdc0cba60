//! Read-only sources with a bug: each wraps a good source and breaks one
//! thing the read-only cases promise (freshness, units, every page once,
//! typed errors, never reaching for an order).

use std::sync::Arc;

use adapters::http::{request, HttpClient};
use adapters::{
    Account, AdapterError, Description, ErrorKind, Holdings, ReadOnlySource, Transaction,
};
use async_trait::async_trait;
use bytes::Bytes;
use http::Method;
use rust_decimal::Decimal;

use super::Reach;
use crate::brokers::READ_PAGE_SIZE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// Holdings without the institution's update time.
    DropsAsOf,
    /// Option holdings in shares, not contracts.
    OptionsInShares,
    /// The second page of the history never imported.
    SkipsAPage,
    /// The first page of the history imported twice.
    RepeatsAPage,
    /// ReauthRequired reported as AuthExpired.
    LoginRequiredAsExpired,
    /// ReauthRequired retried.
    RetriesLoginRequired,
    /// RateLimited without its wait.
    ThrottleWithoutWait,
    /// Unavailable reported as Unknown.
    UnavailableAsUnknown,
    /// An order-shaped request to the broker before every holdings import.
    ReachesForAnOrder,
}

/// Shares per option contract, as vendors that report option holdings in
/// shares-equivalent count them.
const SHARES_PER_CONTRACT: i64 = 100;

/// How often a stubborn source asks again after a refused login.
const STUBBORN_RETRIES: usize = 3;

pub fn wrap(inner: Arc<dyn ReadOnlySource>, reach: Reach, bug: Bug) -> Arc<dyn ReadOnlySource> {
    let http = reach.setup.client();
    Arc::new(BadSource {
        inner,
        bug,
        base_url: reach.base_url.trim_end_matches('/').to_string(),
        http,
    })
}

struct BadSource {
    inner: Arc<dyn ReadOnlySource>,
    bug: Bug,
    base_url: String,
    http: HttpClient,
}

impl BadSource {
    /// An error on its way out.
    fn error(&self, mut e: AdapterError) -> AdapterError {
        match self.bug {
            Bug::LoginRequiredAsExpired if e.kind == ErrorKind::ReauthRequired => {
                e.kind = ErrorKind::AuthExpired;
            }
            Bug::ThrottleWithoutWait if e.kind == ErrorKind::RateLimited => {
                e.retry_after_ms = None;
            }
            Bug::UnavailableAsUnknown if e.kind == ErrorKind::Unavailable => {
                e.kind = ErrorKind::Unknown;
            }
            _ => {}
        }
        e
    }

    /// Calls `op`, again and again while the login is refused (that bug only).
    async fn call<T, F, Fut>(&self, mut op: F) -> Result<T, AdapterError>
    where
        F: FnMut() -> Fut + Send,
        Fut: std::future::Future<Output = Result<T, AdapterError>> + Send,
        T: Send,
    {
        let mut r = op().await;
        if self.bug == Bug::RetriesLoginRequired {
            for _ in 0..STUBBORN_RETRIES {
                match &r {
                    Err(e) if e.kind == ErrorKind::ReauthRequired => r = op().await,
                    _ => break,
                }
            }
        }
        r.map_err(|e| self.error(e))
    }

    /// A market buy of one share, in the shape most brokers' order routes
    /// take, sent without credentials; whatever the broker answers is ignored.
    /// Order-shaped requests as vendors shape them: a broker-wide order
    /// route, and one scoped to the source's own account (an aggregator's).
    async fn reach_for_an_order(&self) {
        let account = self.inner.account_id();
        let body =
            r#"{"symbol":"AAPL","side":"buy","qty":"1","type":"market","time_in_force":"day"}"#;
        for url in [
            format!("{}/orders", self.base_url),
            format!("{}/accounts/{account}/trading/simple", self.base_url),
        ] {
            if let Ok(req) = request(
                Method::POST,
                &url,
                &[("Accept", "application/json")],
                Some("application/json"),
                Bytes::from_static(body.as_bytes()),
            ) {
                let _ = self.http.send(req).await;
            }
        }
    }
}

#[async_trait]
impl ReadOnlySource for BadSource {
    fn describe(&self) -> Description {
        self.inner.describe()
    }

    fn account_id(&self) -> &str {
        self.inner.account_id()
    }

    async fn get_holdings(&self) -> Result<Holdings, AdapterError> {
        if self.bug == Bug::ReachesForAnOrder {
            self.reach_for_an_order().await;
        }
        let mut h = self.call(|| self.inner.get_holdings()).await?;
        match self.bug {
            Bug::DropsAsOf => h.as_of = None,
            Bug::OptionsInShares => {
                let per = Decimal::from(SHARES_PER_CONTRACT);
                for p in h.positions.iter_mut().filter(|p| p.instrument.is_option()) {
                    p.quantity = p.quantity.saturating_mul(per);
                    p.average_price = p.average_price.checked_div(per).unwrap_or_default();
                }
            }
            _ => {}
        }
        Ok(h)
    }

    async fn get_account(&self) -> Result<Account, AdapterError> {
        self.call(|| self.inner.get_account()).await
    }

    async fn revoke(&self) -> Result<bool, AdapterError> {
        self.inner.revoke().await
    }

    async fn get_transactions(
        &self,
        start: &str,
        end: &str,
    ) -> Result<Vec<Transaction>, AdapterError> {
        let mut rows = self
            .call(|| self.inner.get_transactions(start, end))
            .await?;
        let page = READ_PAGE_SIZE.min(rows.len());
        match self.bug {
            Bug::SkipsAPage => {
                let end = page.saturating_mul(2).min(rows.len());
                rows.drain(page..end);
            }
            Bug::RepeatsAPage => {
                let again: Vec<Transaction> = rows.iter().take(page).cloned().collect();
                rows.extend(again);
            }
            _ => {}
        }
        Ok(rows)
    }
}
