//! The Plaid Investments adapter (reference: plaid.md). Tier C: Raxx imports
//! an account's holdings and history through Plaid and never places an
//! order; [`PlaidSource`] implements `ReadOnlySource` only, so there is no
//! way to ask it for one.
//!
//! A connection is an Item's access token (from `exchange_public_token`
//! after the user links their institution in Plaid Link; the harness's
//! connection carries the one `raxx-sim serve` linked) and one of its
//! investment accounts. Layout: `client` (transport and keys), `models`
//! (Plaid's JSON), `parse` (Plaid → contract), `errors` (refusals → kinds).

mod client;
pub(crate) mod errors;
pub(crate) mod models;
pub(crate) mod parse;

use std::collections::BTreeSet;
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::adapter::ReadOnlySource;
use crate::contract::{Account, Capabilities, Description, Holdings, Tier, Transaction};
use crate::error::{AdapterError, Result};
use crate::http::{Backoff, HttpSetup};
use crate::reconcile::retry_read;
use client::PlaidClient;
use models::{
    AccountFilter, AccountRequest, AccountsResponse, ExchangeRequest, ExchangeResponse,
    HoldingsResponse, ItemGetResponse, ItemRequest, TransactionsOptions, TransactionsRequest,
    TransactionsResponse,
};

pub use errors::{NOT_READY_WAIT_MS, RATE_LIMIT_WAIT_MS};

/// Transactions per page: Plaid's most (§2.6), so that an import takes as
/// few of the Item's 30 calls a minute (Production) as it can.
pub const DEFAULT_PAGE_SIZE: usize = 500;
/// Pages one import walks at most (with the largest page, 500,000 rows).
const MAX_PAGES: usize = 1_000;

/// How to reach one account of one Item.
#[derive(Clone)]
pub struct PlaidConfig {
    /// `https://production.plaid.com` or `https://sandbox.plaid.com` (no path).
    pub base_url: String,
    /// Raxx's own API keys.
    pub client_id: String,
    pub secret: String,
    /// The Item's access token (never expires; revoked by `/item/remove`).
    pub access_token: String,
    /// The investment account's `account_id`.
    pub account_id: String,
    /// Transactions per page, 1..=500.
    pub page_size: usize,
}

impl fmt::Debug for PlaidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlaidConfig")
            .field("base_url", &self.base_url)
            .field("client_id", &"<redacted>")
            .field("secret", &"<redacted>")
            .field("access_token", &"<redacted>")
            .field("account_id", &self.account_id)
            .field("page_size", &self.page_size)
            .finish()
    }
}

/// An Item just linked: what Raxx stores for the connection.
#[derive(Clone)]
pub struct Linked {
    pub access_token: String,
    pub item_id: String,
}

impl fmt::Debug for Linked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Linked")
            .field("access_token", &"<redacted>")
            .field("item_id", &self.item_id)
            .finish()
    }
}

/// Exchanges the public token Plaid Link handed the user's browser for the
/// Item's access token (§2.2). Not retried: a public token is good once,
/// and an exchange whose answer was lost has used it.
pub async fn exchange_public_token(
    base_url: &str,
    client_id: &str,
    secret: &str,
    public_token: &str,
    setup: &HttpSetup,
) -> Result<Linked> {
    let client = PlaidClient::new(base_url, client_id, secret, setup);
    let r: ExchangeResponse = client
        .post(
            "/item/public_token/exchange",
            &ExchangeRequest { public_token },
        )
        .await?;
    Ok(Linked {
        access_token: r.access_token,
        item_id: r.item_id,
    })
}

pub struct PlaidSource {
    client: PlaidClient,
    access_token: String,
    account_id: String,
    page_size: usize,
    backoff: Backoff,
}

impl PlaidSource {
    pub fn new(config: PlaidConfig, setup: HttpSetup) -> Self {
        Self {
            client: PlaidClient::new(&config.base_url, &config.client_id, &config.secret, &setup),
            access_token: config.access_token,
            account_id: config.account_id,
            page_size: config.page_size.clamp(1, DEFAULT_PAGE_SIZE),
            backoff: setup.backoff(),
        }
    }

    fn filter(&self) -> AccountRequest<'_> {
        AccountRequest {
            access_token: &self.access_token,
            options: AccountFilter {
                account_ids: [&self.account_id],
            },
        }
    }

    /// When Plaid last read the institution for this Item (§6); an Item
    /// that reports its own error (inside `/item/get`'s 200) fails with it.
    async fn last_update(&self) -> Result<Option<DateTime<Utc>>> {
        let body = ItemRequest {
            access_token: &self.access_token,
        };
        let r: ItemGetResponse = self.client.post("/item/get", &body).await?;
        if let Some(e) = &r.item.error {
            return Err(errors::from_body(e, http::StatusCode::OK));
        }
        r.status
            .and_then(|s| s.investments)
            .and_then(|i| i.last_successful_update)
            .map(|t| parse::datetime(&t))
            .transpose()
    }

    async fn page(&self, start: &str, end: &str, offset: usize) -> Result<TransactionsResponse> {
        let body = TransactionsRequest {
            access_token: &self.access_token,
            start_date: start,
            end_date: end,
            options: TransactionsOptions {
                account_ids: [&self.account_id],
                count: self.page_size,
                offset,
            },
        };
        self.client
            .post("/investments/transactions/get", &body)
            .await
    }

    /// One pass over every page, adding the transactions not seen yet;
    /// answers whether the total moved while it paged.
    async fn pass(
        &self,
        start: &str,
        end: &str,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<Transaction>,
    ) -> Result<bool> {
        let (mut offset, mut first_total) = (0usize, None);
        for _ in 0..MAX_PAGES {
            let page = retry_read(&self.backoff, || self.page(start, end, offset)).await?;
            let total = page.total_investment_transactions;
            let moved = *first_total.get_or_insert(total) != total;
            for t in page
                .investment_transactions
                .iter()
                .filter(|t| t.account_id == self.account_id)
            {
                let tx = parse::transaction(t, &page.securities)?;
                if seen.insert(tx.transaction_id.clone()) {
                    out.push(tx);
                }
            }
            // Paging goes on to the latest total, never to a fixed count.
            offset = offset.saturating_add(page.investment_transactions.len());
            if page.investment_transactions.is_empty() || offset >= total {
                return Ok(moved);
            }
        }
        Err(AdapterError::unknown(format!(
            "Plaid's transactions did not end within {MAX_PAGES} pages"
        )))
    }
}

fn description() -> Description {
    Description {
        name: "plaid".into(),
        broker: "plaid".into(),
        tier: Tier::C,
        capabilities: Capabilities {
            equities: true,
            options: true,
            multi_leg: false,
            replace: false,
            streaming: false,
            read_only: true,
            short_selling: false,
            fractional: false,
            token_refresh: false,
            brackets: false,
            order_types: Vec::new(),
            time_in_force: Vec::new(),
        },
        request_timeout_ms: None,
        history_lag_days: 0,
    }
}

#[async_trait]
impl ReadOnlySource for PlaidSource {
    fn describe(&self) -> Description {
        description()
    }

    fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The account's holdings, as old as the older of the institution's
    /// last update Plaid reports for the Item and the oldest price among
    /// them: data served from a stale cache says so in both.
    async fn get_holdings(&self) -> Result<Holdings> {
        let filter = self.filter();
        let resp: HoldingsResponse = retry_read(&self.backoff, || {
            self.client.post("/investments/holdings/get", &filter)
        })
        .await?;
        let imported = parse::holdings(&resp, &self.account_id)?;
        if !resp
            .accounts
            .iter()
            .any(|a| a.account_id == self.account_id)
        {
            return Err(AdapterError::not_found(format!(
                "Plaid lists no account {} for this Item",
                self.account_id
            )));
        }
        let updated = retry_read(&self.backoff, || self.last_update()).await?;
        let as_of = match (imported.priced_at, updated) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(Holdings {
            account_id: self.account_id.clone(),
            positions: imported.positions,
            as_of: as_of.map(parse::rfc3339),
        })
    }

    /// Balances as Plaid last read them (cached, about daily: §2.4).
    async fn get_account(&self) -> Result<Account> {
        let filter = self.filter();
        let resp: AccountsResponse =
            retry_read(&self.backoff, || self.client.post("/accounts/get", &filter)).await?;
        parse::account(&resp.accounts, &self.account_id)
    }

    /// Every page of the window, each transaction once (by its id, across
    /// pages and passes), newest first. When the total moved while paging
    /// (a sync landed mid-import and shifted the offsets), the window is
    /// read once more and what the shift hid is added.
    /// `/item/remove`: the Item's access token stops working for good.
    async fn revoke(&self) -> Result<bool> {
        let body = ItemRequest {
            access_token: &self.access_token,
        };
        let _: serde::de::IgnoredAny = self.client.post("/item/remove", &body).await?;
        Ok(true)
    }

    async fn get_transactions(&self, start: &str, end: &str) -> Result<Vec<Transaction>> {
        for d in [start, end] {
            parse::date(d).map_err(|_| {
                AdapterError::invalid_request(format!("{d:.40} is not a YYYY-MM-DD date"))
            })?;
        }
        if start > end {
            return Err(AdapterError::invalid_request(format!(
                "the window {start}..{end} ends before it starts"
            )));
        }
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        if self.pass(start, end, &mut seen, &mut out).await? {
            self.pass(start, end, &mut seen, &mut out).await?;
        }
        // Rows a second pass added belong among the others, by date (stable).
        out.sort_by(|a, b| b.date.cmp(&a.date));
        Ok(out)
    }
}
