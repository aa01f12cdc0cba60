//! A brokerage SnapTrade only reads (§7.2: Fidelity, Robinhood, Interactive
//! Brokers): a read-only source. It has no way to place an order, so a
//! read-only connection cannot trade by mistake; SnapTrade would refuse
//! anyway (403, code 1066).
//!
//! Holdings and the account are read as the trading adapter reads them.
//! The history is SnapTrade's activities (§4.4), synced once a day and a
//! day late (§8.1): today's trades are not in it until tomorrow. Pages are
//! read by offset; a history that grows between two pages (a day's sync
//! landing mid-import) shifts every offset, so the import starts again.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use http::Method;

use super::errors::Call;
use super::{models, parse, Inner, SnapTradeAdapter, SnapTradeConfig};
use crate::adapter::ReadOnlySource;
use crate::contract::{Account, Description, Holdings, Transaction};
use crate::error::{AdapterError, Result};
use crate::http::HttpSetup;
use crate::reconcile::retry_read;

/// SnapTrade's activities run a day behind on every plan (§8.1).
const HISTORY_LAG_DAYS: u32 = 1;

/// How often an import starts again when the history changes under it.
const RESTARTS: usize = 3;

/// SnapTrade's largest page (and its default): 1000 activities.
pub const MAX_PAGE: usize = 1000;

pub struct SnapTradeSource {
    inner: Arc<Inner>,
    page_size: usize,
}

impl SnapTradeSource {
    /// `page_size` activities per request, at most SnapTrade's 1000.
    pub fn new(config: SnapTradeConfig, setup: HttpSetup, page_size: usize) -> Self {
        Self {
            inner: SnapTradeAdapter::new(config, setup).inner,
            page_size: page_size.clamp(1, MAX_PAGE),
        }
    }

    /// One import of `start..=end`: every page, or None when the history
    /// changed between two of them.
    async fn import(&self, start: &str, end: &str) -> Result<Option<Vec<Transaction>>> {
        let inner = &self.inner;
        let path = inner.account_path("/activities");
        let limit = self.page_size.to_string();
        let mut rows: Vec<Transaction> = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut total = None;
        loop {
            let offset = rows.len().to_string();
            let params = [
                ("startDate", start),
                ("endDate", end),
                ("offset", offset.as_str()),
                ("limit", limit.as_str()),
            ];
            let resp = retry_read(&inner.backoff, || {
                inner.call(Method::GET, &path, &params, None, Call::Read)
            })
            .await?;
            let page: models::Activities = resp.json()?;
            if total.is_some_and(|t| t != page.pagination.total) {
                return Ok(None);
            }
            total = Some(page.pagination.total);
            let got = page.data.len();
            for a in &page.data {
                let t = parse::transaction(a, &inner.config.account_id)?;
                if !seen.insert(t.transaction_id.clone()) {
                    // Offsets shifted under the import: the same entry twice.
                    return Ok(None);
                }
                rows.push(t);
            }
            if got == 0 || rows.len() >= page.pagination.total {
                return Ok(Some(rows));
            }
        }
    }
}

#[async_trait]
impl ReadOnlySource for SnapTradeSource {
    fn describe(&self) -> Description {
        let mut d = self.inner.describe();
        d.name = "SnapTrade read-only (raxx adapters)".to_string();
        d.capabilities.read_only = true;
        d.capabilities.order_types = Vec::new();
        d.capabilities.time_in_force = Vec::new();
        d.history_lag_days = HISTORY_LAG_DAYS;
        d
    }

    fn account_id(&self) -> &str {
        &self.inner.config.account_id
    }

    async fn get_holdings(&self) -> Result<Holdings> {
        self.inner.holdings().await
    }

    async fn get_account(&self) -> Result<Account> {
        self.inner.account().await
    }

    /// Deletes the account's connection at SnapTrade (as the trading adapter does).
    async fn revoke(&self) -> Result<bool> {
        self.inner.delete_connection().await
    }

    /// Every activity dated `start..=end` (SnapTrade's dates are inclusive),
    /// each once.
    async fn get_transactions(&self, start: &str, end: &str) -> Result<Vec<Transaction>> {
        for _ in 0..RESTARTS {
            if let Some(rows) = self.import(start, end).await? {
                return Ok(rows);
            }
        }
        Err(AdapterError::unavailable(format!(
            "SnapTrade's activities changed during each of {RESTARTS} imports; try again later"
        )))
    }
}
