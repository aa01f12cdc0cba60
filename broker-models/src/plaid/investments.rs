//! `/accounts/get`, `/investments/holdings/get`, `/investments/transactions/get`
//! and `/investments/refresh` (reference §2.4-2.7): the institution's data
//! for one Item, counted against the Item's per-endpoint limits.

use axum::extract::State;
use axum::{Extension, Json};

use super::call::{readable, Call};
use super::errors::PlaidError;
use super::link::item_wire;
use super::report::{self, accounts_of, report, Report};
use super::requests::{AccountsOf, ItemOnly, TransactionsGet};
use super::state::{Item, Plaid, EXTRACTION_MS};
use super::wire::{
    AccountsGetResponse, Acknowledged, HoldingsGetResponse, TransactionsGetResponse,
};
use crate::brokerage::SimBrokerage;
use crate::face::Shared;

const HOLDINGS: &str = "/investments/holdings/get";
const TRANSACTIONS: &str = "/investments/transactions/get";
const ACCOUNTS: &str = "/accounts/get";
const REFRESH: &str = "/investments/refresh";

/// Plaid's page size bounds (§2.6).
const DEFAULT_COUNT: i64 = 100;
const MAX_COUNT: i64 = 500;

/// The Item behind a data request, counted against the endpoint's limit.
fn data_item<'a>(
    state: &'a mut super::state::State,
    b: &SimBrokerage,
    endpoint: &str,
    access_token: &str,
) -> Result<&'a mut Item, PlaidError> {
    let item_id = readable(state, access_token)?.item_id.clone();
    if !state.allow(b, endpoint, &item_id) {
        return Err(PlaidError::rate_limited(endpoint));
    }
    readable(state, access_token)
}

/// The report an answer is made from, or PRODUCT_NOT_READY before the
/// institution has reported anything in the window asked for.
fn report_for(b: &SimBrokerage, stale_ms: Option<u64>) -> Result<Report<'_>, PlaidError> {
    report(b, stale_ms).ok_or_else(PlaidError::product_not_ready)
}

pub async fn accounts(
    State(s): State<Shared>,
    Extension(plaid): Extension<Plaid>,
    call: Call<AccountsOf>,
) -> Result<Json<AccountsGetResponse>, PlaidError> {
    let mut state = plaid.lock();
    let mut b = s.lock();
    b.sync();
    let item = data_item(&mut state, &b, ACCOUNTS, &call.body.access_token)?;
    let r = report_for(&b, call.stale_ms)?;
    let filter = call.body.options.and_then(|o| o.account_ids);
    let chosen = accounts_of(item, r.snapshot, filter.as_deref())
        .ok_or_else(PlaidError::invalid_account_id)?;
    Ok(Json(AccountsGetResponse {
        accounts: chosen
            .iter()
            .map(|(i, id, view)| report::account(*i, id, view, false))
            .collect(),
        item: item_wire(item, false),
        request_id: call.request_id,
    }))
}

pub async fn holdings(
    State(s): State<Shared>,
    Extension(plaid): Extension<Plaid>,
    call: Call<AccountsOf>,
) -> Result<Json<HoldingsGetResponse>, PlaidError> {
    let mut state = plaid.lock();
    let mut b = s.lock();
    b.sync();
    let item = data_item(&mut state, &b, HOLDINGS, &call.body.access_token)?;
    add_investments(item);
    let r = report_for(&b, call.stale_ms)?;
    let filter = call.body.options.and_then(|o| o.account_ids);
    let chosen = accounts_of(item, r.snapshot, filter.as_deref())
        .ok_or_else(PlaidError::invalid_account_id)?;
    let (holdings, securities) = report::holdings(&chosen, r.snapshot.time);
    Ok(Json(HoldingsGetResponse {
        accounts: chosen
            .iter()
            .map(|(i, id, view)| report::account(*i, id, view, true))
            .collect(),
        holdings,
        securities,
        item: item_wire(item, false),
        request_id: call.request_id,
    }))
}

/// An Item linked without investments gets them on first use (§2.6).
fn add_investments(item: &mut Item) {
    if !item.has("investments") {
        item.products.push("investments".to_string());
    }
}

pub async fn transactions(
    State(s): State<Shared>,
    Extension(plaid): Extension<Plaid>,
    call: Call<TransactionsGet>,
) -> Result<Json<TransactionsGetResponse>, PlaidError> {
    let TransactionsGet {
        access_token,
        start_date,
        end_date,
        options,
    } = call.body;
    let options = options.unwrap_or_default();
    if start_date > end_date {
        return Err(PlaidError::invalid_field(
            "start_date must be before or the same as end_date",
        ));
    }
    let count = options.count.unwrap_or(DEFAULT_COUNT);
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(PlaidError::invalid_field("count must be between 1 and 500"));
    }
    let offset = options.offset.unwrap_or(0);
    let (Ok(count), Ok(offset)) = (usize::try_from(count), usize::try_from(offset)) else {
        return Err(PlaidError::invalid_field("offset must not be negative"));
    };
    let mut state = plaid.lock();
    let mut b = s.lock();
    b.sync();
    let now = b.now();
    let item = data_item(&mut state, &b, TRANSACTIONS, &access_token)?;
    if !item.has("investments") {
        // Asked asynchronously for an Item linked without investments: the
        // first extraction takes a while and answers PRODUCT_NOT_READY until done.
        add_investments(item);
        if options.async_update == Some(true) {
            item.investments_ready_at = Some(now.plus_millis(EXTRACTION_MS));
        }
    }
    if item.investments_ready_at.is_some_and(|t| now < t) {
        return Err(PlaidError::product_not_ready());
    }
    if item.investments_ready_at.take().is_some() {
        super::webhooks::historical_update(&mut state, &b, &access_token);
    }
    let Some(item) = state.items.get(&access_token) else {
        return Err(PlaidError::invalid_access_token());
    };
    let r = report_for(&b, call.stale_ms)?;
    let chosen = accounts_of(item, r.snapshot, options.account_ids.as_deref())
        .ok_or_else(PlaidError::invalid_account_id)?;
    let history = b.holder().map(|h| h.activity()).unwrap_or_default();
    // Newest first, stable across calls: by time, later entries first at one instant.
    let window: Vec<(&str, &crate::brokerage::HolderActivity)> = history
        .iter()
        .rev()
        .filter(|a| a.time <= r.horizon)
        .filter(|a| (start_date..=end_date).contains(&a.time.date()))
        .filter_map(|a| {
            let (_, id, _) = chosen.iter().find(|(_, _, v)| v.account_id == a.account)?;
            Some((*id, a))
        })
        .collect();
    let page: Vec<_> = window.iter().skip(offset).take(count).collect();
    let entries: Vec<_> = page.iter().map(|(_, a)| *a).collect();
    Ok(Json(TransactionsGetResponse {
        item: item_wire(item, false),
        accounts: chosen
            .iter()
            .map(|(i, id, view)| report::account(*i, id, view, true))
            .collect(),
        securities: report::securities_of(&entries, r.snapshot),
        investment_transactions: page
            .iter()
            .map(|(id, a)| report::transaction(id, a))
            .collect(),
        total_investment_transactions: window.len(),
        request_id: call.request_id,
    }))
}

/// On-demand extraction (§2.7): the model's data is always current, so
/// there is nothing to fetch; the call is counted (1 per Item per minute).
pub async fn refresh(
    State(s): State<Shared>,
    Extension(plaid): Extension<Plaid>,
    call: Call<ItemOnly>,
) -> Result<Json<Acknowledged>, PlaidError> {
    let mut state = plaid.lock();
    let b = s.lock();
    data_item(&mut state, &b, REFRESH, &call.body.access_token)?;
    Ok(Json(Acknowledged {
        request_id: call.request_id,
    }))
}
