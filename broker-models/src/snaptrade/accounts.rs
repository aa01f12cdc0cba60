//! Connections, accounts, balances and holdings (reference §4.3, §4.4).
//!
//! The user's plan is real-time (§8.1): holdings are fetched from the
//! brokerage on each call, so `data_freshness.as_of` is now, unless the
//! fault plan serves them from a cache (`stale_read`). A broken connection
//! still answers reads with what SnapTrade last synced, as of when it broke
//! (§6.3); a brokerage that is down fails them (503, code 3002).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

use mbt::Timestamp;

use super::auth::{Signed, UserCall};
use super::errors::SnapTradeError;
use super::hooks::Hooks;
use super::view::{self, connection_id};
use super::wire::{
    Account, AccountPositions, AllAccounts, Balance, Brokerage, BrokerageAuthorization,
    DataFreshness, OptionsPosition, Position,
};
use crate::brokerage::SimBrokerage;
use crate::face::Shared;
use crate::json::Double;
use crate::profile::Downstream;

/// How a request reaches the brokerage behind an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Answered from SnapTrade's sync: works on a broken connection.
    Read,
    /// Needs the brokerage live (orders): refused on a broken connection.
    Live,
}

/// The brokerage behind `account`, if the request can reach it.
pub fn reach(
    b: &SimBrokerage,
    account: &str,
    call: &Signed,
    how: Reach,
) -> Result<Downstream, SnapTradeError> {
    let d = b
        .profile()
        .downstream_of(account)
        .filter(|d| b.connection_deleted_at(&d.slug).is_none())
        .cloned()
        .ok_or_else(SnapTradeError::not_found)?;
    if call.decision.downstream_down(&d.slug) {
        return Err(SnapTradeError::brokerage_down());
    }
    if how == Reach::Live && b.connection_broken_since(&d.slug).is_some() {
        return Err(SnapTradeError::connection_disabled());
    }
    Ok(d)
}

/// When the account's holdings were fetched from the brokerage, as this
/// answer reports them: now; a cache's age back (the fault plan); never
/// after the connection broke.
fn synced(b: &SimBrokerage, d: &Downstream, call: &Signed) -> Timestamp {
    let now = b.now();
    let cached = call.decision.stale_ms.map_or(now, |age| {
        now.plus_millis(-i64::try_from(age).unwrap_or(i64::MAX))
    });
    b.connection_broken_since(&d.slug)
        .map_or(cached, |broke| broke.min(cached))
}

/// `GET /` (unsigned): the API's status.
pub async fn status(State(s): State<Shared>) -> Json<Value> {
    let now = s.lock().now();
    Json(json!({ "version": 151, "timestamp": view::iso(now), "online": true }))
}

/// `GET /brokerages`: the brokerages behind SnapTrade.
pub async fn brokerages(State(s): State<Shared>, _: Signed) -> Json<Vec<Brokerage>> {
    let b = s.lock();
    Json(b.profile().downstream.iter().map(view::brokerage).collect())
}

/// `GET /authorizations`.
pub async fn connections(
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Json<Vec<BrokerageAuthorization>> {
    let b = s.lock();
    Json(
        held(&b, &call)
            .iter()
            .map(|d| view::connection(&b, d))
            .collect(),
    )
}

/// The connections the caller holds: every one the account holder has not
/// deleted, none for a user the partner registered since.
fn held<'a>(b: &'a SimBrokerage, call: &Signed) -> Vec<&'a Downstream> {
    if call.holder {
        b.profile()
            .downstream
            .iter()
            .filter(|d| b.connection_deleted_at(&d.slug).is_none())
            .collect()
    } else {
        Vec::new()
    }
}

/// A connection by its id; a deleted one is not found.
pub(super) fn downstream_by_connection(
    b: &SimBrokerage,
    id: &str,
) -> Result<Downstream, SnapTradeError> {
    b.profile()
        .downstream
        .iter()
        .find(|d| connection_id(d) == id && b.connection_deleted_at(&d.slug).is_none())
        .cloned()
        .ok_or_else(SnapTradeError::not_found)
}

/// `DELETE /connection/{id}`: the user removes the connection; it and its
/// accounts are gone from then on, announced by `CONNECTION_DELETED`.
/// SnapTrade answers before the deletion is done (asynchronous, §4.3); the
/// model is done when it answers.
pub async fn delete_connection(
    Path(id): Path<String>,
    State(s): State<Shared>,
    _: UserCall,
) -> Result<Json<Value>, SnapTradeError> {
    remove(&s, &id)?;
    Ok(Json(json!({
        "detail": format!("Connection {id} scheduled for deletion"),
        "connection_id": id,
    })))
}

/// `DELETE /authorizations/{id}` (legacy, SDK 11): the same removal, 204
/// with no body.
pub async fn remove_authorization(
    Path(id): Path<String>,
    State(s): State<Shared>,
    _: UserCall,
) -> Result<StatusCode, SnapTradeError> {
    remove(&s, &id)?;
    Ok(StatusCode::NO_CONTENT)
}

fn remove(s: &Shared, id: &str) -> Result<(), SnapTradeError> {
    let mut b = s.lock();
    let d = downstream_by_connection(&b, id)?;
    b.delete_connection(&d.slug);
    Ok(())
}

/// `GET /authorizations/{id}`.
pub async fn connection(
    Path(id): Path<String>,
    State(s): State<Shared>,
    _: UserCall,
) -> Result<Json<BrokerageAuthorization>, SnapTradeError> {
    let b = s.lock();
    let d = downstream_by_connection(&b, &id)?;
    Ok(Json(view::connection(&b, &d)))
}

/// `POST /authorizations/{id}/disable` (test keys only, §4.3): breaks the
/// connection as the brokerage would.
pub async fn disable(
    Path(id): Path<String>,
    State(s): State<Shared>,
    _: UserCall,
) -> Result<Json<Value>, SnapTradeError> {
    let mut b = s.lock();
    let d = downstream_by_connection(&b, &id)?;
    if b.connection_broken_since(&d.slug).is_some() {
        return Err(SnapTradeError::already_disabled());
    }
    let account = d.accounts.first().cloned().unwrap_or_default();
    b.set_connection_broken(&account, true)
        .map_err(SnapTradeError::invalid)?;
    Ok(Json(json!({ "detail": "Connection has been disabled." })))
}

/// `POST /authorizations/{id}/refresh`: a holdings sync of every account of
/// the connection, each announced by an `ACCOUNT_HOLDINGS_UPDATED` webhook
/// (a failed one too, saying so); refused while the connection is disabled.
/// The model's key is a commercial one, so refreshing is open to it even on
/// real-time connections (only Personal and pay-as-you-go plans are refused).
pub async fn refresh(
    Path(id): Path<String>,
    State(s): State<Shared>,
    Extension(hooks): Extension<Hooks>,
    UserCall(call): UserCall,
) -> Result<Json<Value>, SnapTradeError> {
    let b = s.lock();
    let d = downstream_by_connection(&b, &id)?;
    if b.connection_broken_since(&d.slug).is_some() {
        return Err(SnapTradeError::connection_disabled());
    }
    let failure = call
        .decision
        .downstream_down(&d.slug)
        .then_some("The brokerage could not be reached.");
    hooks.lock().holdings_updated(&b, &d, b.now(), failure);
    Ok(Json(
        json!({ "detail": format!("Connection {id} scheduled for refresh") }),
    ))
}

/// Every account of the user's, or of one connection.
fn accounts_of(b: &SimBrokerage, only: Option<&Downstream>, call: &Signed) -> Vec<Account> {
    let mut out = Vec::new();
    for d in held(b, call) {
        if only.is_some_and(|o| o.slug != d.slug) {
            continue;
        }
        let at = synced(b, d, call);
        out.extend(d.accounts.iter().map(|a| view::account(b, d, a, at)));
    }
    out
}

/// `GET /accounts`.
pub async fn accounts(State(s): State<Shared>, UserCall(call): UserCall) -> Json<Vec<Account>> {
    let mut b = s.lock();
    b.sync();
    Json(accounts_of(&b, None, &call))
}

/// `GET /accounts/all` (SDK 13.0.49; `list_user_accounts` is deprecated in
/// its favour): the same accounts, kind-discriminated.
pub async fn accounts_all(State(s): State<Shared>, UserCall(call): UserCall) -> Json<AllAccounts> {
    let mut b = s.lock();
    b.sync();
    let mut results = Vec::new();
    for d in held(&b, &call) {
        let at = synced(&b, d, &call);
        results.extend(
            d.accounts
                .iter()
                .map(|a| view::investment_account(&b, d, a, at)),
        );
    }
    Json(AllAccounts { results })
}

/// `GET /authorizations/{id}/accounts`.
pub async fn connection_accounts(
    Path(id): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<Vec<Account>>, SnapTradeError> {
    let mut b = s.lock();
    b.sync();
    let d = downstream_by_connection(&b, &id)?;
    Ok(Json(accounts_of(&b, Some(&d), &call)))
}

/// `GET /accounts/{id}`.
pub async fn account(
    Path(id): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<Account>, SnapTradeError> {
    let mut b = s.lock();
    b.sync();
    let d = reach(&b, &id, &call, Reach::Read)?;
    let at = synced(&b, &d, &call);
    Ok(Json(view::account(&b, &d, &id, at)))
}

/// `GET /accounts/{id}/balances`: one balance, in USD. Cash is the
/// brokerage's as it stands (the model keeps no history of cash).
pub async fn balances(
    Path(id): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<Vec<Balance>>, SnapTradeError> {
    let mut b = s.lock();
    b.sync();
    let d = reach(&b, &id, &call, Reach::Read)?;
    let at = synced(&b, &d, &call);
    let (cash, buying_power) = view::balances(&b, &id, at).ok_or_else(SnapTradeError::not_found)?;
    Ok(Json(vec![Balance {
        currency: view::usd(),
        cash: Some(Double(cash)),
        buying_power: Some(Double(buying_power)),
    }]))
}

/// The account's holdings as a read answers them, and when they were
/// fetched from the brokerage (see `synced`).
fn holdings_read(
    s: &Shared,
    id: &str,
    call: &Signed,
) -> Result<(Vec<view::Holding>, Timestamp), SnapTradeError> {
    let mut b = s.lock();
    b.sync();
    let d = reach(&b, id, call, Reach::Read)?;
    let at = synced(&b, &d, call);
    Ok((view::holdings(&b, id, at), at))
}

/// `GET /accounts/{id}/positions/all` (SDK 13): holdings with their age.
pub async fn positions_all(
    Path(id): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<AccountPositions>, SnapTradeError> {
    let (held, at) = holdings_read(&s, &id, &call)?;
    Ok(Json(AccountPositions {
        results: held.iter().map(view::position_v2).collect(),
        data_freshness: DataFreshness {
            as_of: view::iso(at),
        },
    }))
}

/// `GET /accounts/{id}/positions` (legacy, SDK 11): JSON numbers, no age,
/// no options (§4.4: "equities/ETF/crypto/funds only").
pub async fn positions_legacy(
    Path(id): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<Vec<Position>>, SnapTradeError> {
    let (held, _) = holdings_read(&s, &id, &call)?;
    Ok(Json(
        held.iter()
            .filter(|h| !h.instrument.is_option())
            .map(view::position_v1)
            .collect(),
    ))
}

/// `GET /accounts/{id}/options` (legacy, SDK 11's
/// `options.list_option_holdings`): the option holdings the legacy
/// positions leave out.
pub async fn option_positions(
    Path(id): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<Vec<OptionsPosition>>, SnapTradeError> {
    let (held, _) = holdings_read(&s, &id, &call)?;
    Ok(Json(
        held.iter().filter_map(view::option_position).collect(),
    ))
}
