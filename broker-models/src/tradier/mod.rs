//! The Tradier brokerage API wire face (reference: ../shared/reference/brokers/tradier.md).
//! Base URL with `/v1`; Bearer tokens; form-encoded requests; JSON answers
//! for `Accept: application/json`; account events on a WebSocket.

mod errors;
mod oauth;
mod orders;
mod stream;
pub mod wire;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use mbt::engine::ReplaceRequest;
use mbt::{AccountKind, OrderStatus, RejectReason};

use crate::brokerage::{BrokerError, SimBrokerage};
use crate::face::{LoseThisResponse, Shared, WireFace};
use crate::faults::{Decision, Operation};
use crate::model::with_face;
use crate::ratelimit::RateState;
use crate::vendor::{CredentialField, Vendor, ALNUM};

pub use errors::TradierError;
use wire::{collection, num};

pub struct Tradier;

/// The Tradier model in the broker registry.
pub const VENDOR: Vendor = Vendor {
    slug: "tradier",
    profile: include_str!("../../profiles/tradier.toml"),
    face: with_face::<Tradier>,
    // An OAuth partner app's grant (§1.2): the user's tokens and the app's
    // client credentials for the refresh endpoint.
    credentials: &[
        CredentialField {
            name: "access_token",
            prefix: "",
            len: 28,
            alphabet: ALNUM,
        },
        CredentialField {
            name: "refresh_token",
            prefix: "",
            len: 32,
            alphabet: ALNUM,
        },
        CredentialField {
            name: "client_id",
            prefix: "",
            len: 32,
            alphabet: ALNUM,
        },
        CredentialField {
            name: "client_secret",
            prefix: "",
            len: 16,
            alphabet: ALNUM,
        },
    ],
    base_path: "/v1",
};

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

impl WireFace for Tradier {
    fn routes() -> Router<Shared> {
        routes()
    }

    fn classify(method: &Method, path: &str) -> Operation {
        let in_orders = path.contains("/orders");
        if path.starts_with("/v1/oauth/") {
            return Operation::Auth;
        }
        match method.as_str() {
            "POST" if path.ends_with("/orders") => Operation::SubmitOrder,
            "DELETE" if in_orders => Operation::CancelOrder,
            "PUT" if in_orders => Operation::ReplaceOrder,
            "GET" if path.ends_with("/orders") => Operation::ListOrders,
            "GET" if in_orders => Operation::GetOrder,
            _ if path.ends_with("/positions") => Operation::Positions,
            _ if path.ends_with("/balances") || path.ends_with("/profile") => Operation::Account,
            _ if path.contains("/events") => Operation::Stream,
            _ => Operation::Other,
        }
    }

    fn rate_scope(headers: &HeaderMap) -> Option<String> {
        bearer(headers).map(str::to_string)
    }

    fn unavailable() -> Response {
        TradierError::unavailable().into_response()
    }

    fn rate_limited(state: Option<&RateState>, retry_after_ms: u64) -> Response {
        let expiry = state.map_or(i64::try_from(retry_after_ms).unwrap_or(0), |s| {
            s.resets_at.millis()
        });
        let mut r = TradierError::quota_violation(expiry).into_response();
        if let Some(s) = state {
            Self::rate_headers(s, r.headers_mut());
        }
        r
    }

    fn token_expired() -> Response {
        TradierError::token_expired().into_response()
    }

    fn rate_headers(state: &RateState, headers: &mut HeaderMap) {
        for (name, value) in [
            ("x-ratelimit-allowed", state.limit.to_string()),
            ("x-ratelimit-used", state.used.to_string()),
            ("x-ratelimit-available", state.remaining.to_string()),
            ("x-ratelimit-expiry", state.resets_at.millis().to_string()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
    }
}

fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/user/profile", get(profile))
        .route("/v1/markets/clock", get(clock))
        .route("/v1/accounts/{account}/balances", get(balances))
        .route("/v1/accounts/{account}/positions", get(positions))
        .route(
            "/v1/accounts/{account}/orders",
            get(list_orders).post(submit),
        )
        .route(
            "/v1/accounts/{account}/orders/{id}",
            get(get_order).put(modify).delete(cancel),
        )
        .route("/v1/accounts/events/session", post(stream::create_session))
        .route("/v1/oauth/refreshtoken", post(oauth::refresh))
        .route("/v1/accounts/events", get(stream::upgrade))
        .fallback(|| async { TradierError::not_found() })
}

/// Checks the token, the Accept header and (when given) that the token owns `account`.
fn with_account(
    shared: &Shared,
    headers: &HeaderMap,
    account: Option<&str>,
    f: impl FnOnce(&mut SimBrokerage, &str) -> Result<Response, TradierError>,
) -> Response {
    let mut b = shared.lock();
    let result = (|| {
        let token = bearer(headers).ok_or_else(TradierError::invalid_token)?;
        b.authenticate(token).map_err(TradierError::token)?;
        let accepts_json = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("json") || a.contains("*/*"));
        if !accepts_json {
            return Err(TradierError::not_acceptable());
        }
        let owned = b.account_numbers();
        let acct = match account {
            Some(a) if owned.iter().any(|o| o == a) => a.to_string(),
            Some(a) => return Err(TradierError::unauthorized_account(a)),
            None => owned.into_iter().next().unwrap_or_default(),
        };
        b.sync();
        f(&mut b, &acct)
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn profile(State(s): State<Shared>, headers: HeaderMap) -> Response {
    with_account(&s, &headers, None, |b, _| {
        let created = wire::time(
            b.engine()
                .log()
                .entries()
                .first()
                .map_or(b.now(), |e| e.time),
        );
        let accounts: Vec<Value> = b
            .profile()
            .accounts
            .iter()
            .map(|a| {
                json!({
                    "account_number": a.number,
                    "classification": "individual",
                    "date_created": created,
                    "day_trader": false,
                    "option_level": 6,
                    "status": "active",
                    "type": if a.kind == AccountKind::Margin { "margin" } else { "cash" },
                    "last_update_date": created,
                })
            })
            .collect();
        // One account is a bare object, several an array.
        let account = if accounts.len() == 1 {
            accounts[0].clone()
        } else {
            json!(accounts)
        };
        Ok(Json(
            json!({ "profile": { "id": "id-raxx-sim", "name": "Raxx Sim", "account": account } }),
        )
        .into_response())
    })
}

async fn clock(State(s): State<Shared>, headers: HeaderMap) -> Response {
    with_account(&s, &headers, None, |b, _| {
        let now = b.now();
        let open = b.engine().is_open();
        Ok(Json(json!({ "clock": {
            "date": now.date().to_string(),
            "description": if open { "Market is open from 09:30 to 16:00" } else { "Market is closed" },
            "state": if open { "open" } else { "closed" },
            "timestamp": now.millis().div_euclid(1000),
            "next_change": if open { "16:00" } else { "09:30" },
            "next_state": if open { "postmarket" } else { "premarket" },
        }}))
        .into_response())
    })
}

async fn balances(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(account): Path<String>,
) -> Response {
    with_account(&s, &headers, Some(&account), |b, acct| {
        let v = b
            .account(acct)
            .ok_or_else(|| TradierError::unauthorized_account(acct))?;
        let (mut stock_long, mut option_long, mut option_short) =
            (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        for p in &v.positions {
            match (p.instrument.is_option(), p.market_value >= Decimal::ZERO) {
                (false, true) => stock_long += p.market_value,
                (true, true) => option_long += p.market_value,
                (true, false) => option_short += p.market_value,
                (false, false) => {}
            }
        }
        let pending = b
            .orders_of(acct)
            .filter(|o| o.taken && !b.state(o).status.is_terminal())
            .count();
        let kind = if v.kind == AccountKind::Margin {
            "margin"
        } else {
            "cash"
        };
        let mut body = json!({
            "option_short_value": num(option_short),
            "total_equity": num(v.equity.round_dp(2)),
            "account_number": acct,
            "account_type": kind,
            "close_pl": num(v.realized_pnl.round_dp(2)),
            "current_requirement": num(Decimal::ZERO),
            "equity": num(Decimal::ZERO),
            "long_market_value": num(v.long_market_value.round_dp(2)),
            "market_value": num((v.long_market_value + v.short_market_value).round_dp(2)),
            "open_pl": num(v.unrealized_pnl.round_dp(2)),
            "option_long_value": num(option_long.round_dp(2)),
            "option_requirement": num(Decimal::ZERO),
            "pending_orders_count": pending,
            "short_market_value": num(v.short_market_value.round_dp(2)),
            "stock_long_value": num(stock_long.round_dp(2)),
            "total_cash": num(v.cash.round_dp(2)),
            "uncleared_funds": num(Decimal::ZERO),
            "pending_cash": num(Decimal::ZERO),
        });
        body[kind] = if v.kind == AccountKind::Margin {
            json!({
                "fed_call": 0, "maintenance_call": 0,
                "option_buying_power": num((v.buying_power / Decimal::TWO).round_dp(2)),
                "stock_buying_power": num(v.buying_power.round_dp(2)),
                "stock_short_value": num(v.short_market_value.round_dp(2)),
                "sweep": 0,
            })
        } else {
            json!({ "cash_available": num(v.buying_power.round_dp(2)), "sweep": 0, "unsettled_funds": 0 })
        };
        Ok(Json(json!({ "balances": body })).into_response())
    })
}

async fn positions(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(account): Path<String>,
) -> Response {
    with_account(&s, &headers, Some(&account), |b, acct| {
        let v = b
            .account(acct)
            .ok_or_else(|| TradierError::unauthorized_account(acct))?;
        let items = v
            .positions
            .iter()
            .map(|p| {
                let symbol = wire::symbol(&p.instrument);
                // Acquired with the first fill of the position still held.
                let acquired = b
                    .events_since(0)
                    .iter()
                    .rev()
                    .filter(|e| e.account == acct)
                    .take_while(|e| !matches!(&e.kind, crate::brokerage::BrokerEventKind::Fill { instrument, position_quantity, .. } if *instrument == p.instrument && position_quantity.is_zero()))
                    .filter(|e| matches!(&e.kind, crate::brokerage::BrokerEventKind::Fill { instrument, .. } if *instrument == p.instrument))
                    .last()
                    .map_or(b.now(), |e| e.time);
                json!({
                    "cost_basis": num(p.cost_basis.round_dp(2)),
                    "date_acquired": wire::time(acquired),
                    "id": wire::stable_id(&[acct, &symbol]),
                    "quantity": num(p.quantity),
                    "symbol": symbol,
                })
            })
            .collect();
        Ok(Json(collection("positions", "position", items)).into_response())
    })
}

#[derive(Deserialize, Default)]
struct OrdersQuery {
    #[serde(rename = "includeTags")]
    include_tags: Option<String>,
    page: Option<String>,
    limit: Option<String>,
}

fn truthy(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("true"))
}

async fn list_orders(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(account): Path<String>,
    Query(q): Query<OrdersQuery>,
) -> Response {
    with_account(&s, &headers, Some(&account), |b, acct| {
        let page: usize = q
            .page
            .as_deref()
            .and_then(|p| p.parse().ok())
            .filter(|p| *p > 0)
            .unwrap_or(1);
        let limit: usize = q
            .limit
            .as_deref()
            .and_then(|p| p.parse().ok())
            .filter(|l| *l > 0)
            .unwrap_or(25);
        let today = b.now().date();
        let items: Vec<Value> = b
            .orders_of(acct)
            // Refused orders never got an id; the list covers the current day.
            .filter(|o| o.taken && o.submitted_at.date() == today)
            .skip((page - 1) * limit)
            .take(limit)
            .map(|o| orders::to_json(b, o, truthy(&q.include_tags)))
            .collect();
        Ok(Json(collection("orders", "order", items)).into_response())
    })
}

fn order_of<'a>(
    b: &'a SimBrokerage,
    acct: &str,
    id: &str,
) -> Result<&'a crate::brokerage::BrokerOrder, TradierError> {
    b.order(id)
        .filter(|o| o.account == acct && o.taken)
        .ok_or_else(|| TradierError::unauthorized_account(acct))
}

async fn get_order(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((account, id)): Path<(String, String)>,
    Query(q): Query<OrdersQuery>,
) -> Response {
    with_account(&s, &headers, Some(&account), |b, acct| {
        let o = order_of(b, acct, &id)?;
        Ok(
            Json(json!({ "order": orders::to_json(b, o, truthy(&q.include_tags)) }))
                .into_response(),
        )
    })
}

fn ack(b: &SimBrokerage, id: &str) -> Response {
    let partner = crate::ids::stable_uuid(&["tradier-partner", &b.profile().slug]);
    Json(json!({ "order": { "id": id.parse::<u64>().unwrap_or_default(), "status": "ok", "partner_id": partner } })).into_response()
}

fn refusal(r: &mbt::Rejection, symbol: &str) -> TradierError {
    match r.reason {
        RejectReason::InsufficientBuyingPower => {
            TradierError::refused("You do not have enough buying power for this trade.")
        }
        RejectReason::UnknownSymbol => {
            TradierError::invalid(format!("Invalid parameter, {symbol}: symbol not found."))
        }
        RejectReason::ShortSellingNotAllowed => {
            TradierError::refused("Short selling is not allowed in a cash account.")
        }
        RejectReason::NoPositionToClose => {
            TradierError::refused("There is no position to close for this order.")
        }
        _ => TradierError::invalid(r.message.clone()),
    }
}

async fn submit(
    State(s): State<Shared>,
    Extension(decision): Extension<Decision>,
    headers: HeaderMap,
    Path(account): Path<String>,
    body: Bytes,
) -> Response {
    with_account(&s, &headers, Some(&account), |b, acct| {
        let form = orders::parse_form(&body)?;
        let request = orders::to_request(acct, &form)?;
        let symbol = form
            .get("option_symbol")
            .or(form.get("symbol"))
            .cloned()
            .unwrap_or_default();
        if form
            .get("preview")
            .is_some_and(|p| p.eq_ignore_ascii_case("true"))
        {
            return Err(TradierError::invalid(
                "preview orders are not simulated by raxx-sim",
            ));
        }
        match b.submit(request, &decision) {
            Ok(order) => {
                let id = order.vendor_id.clone();
                if order.lose_response {
                    return Ok(LoseThisResponse.into_response());
                }
                Ok(ack(b, &id))
            }
            Err((_, rejection)) => Err(refusal(&rejection, &symbol)),
        }
    })
}

async fn modify(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((account, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    with_account(&s, &headers, Some(&account), |b, acct| {
        order_of(b, acct, &id)?;
        let form = orders::parse_form(&body)?;
        let decimal = |k: &str| {
            form.get(k)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    v.parse::<Decimal>()
                        .map_err(|_| TradierError::invalid(format!("Invalid parameter, {k}: {v}")))
                })
                .transpose()
        };
        let changes = ReplaceRequest {
            quantity: None,
            limit_price: decimal("price")?,
            stop_price: decimal("stop")?,
            time_in_force: form
                .get("duration")
                .filter(|v| !v.is_empty())
                .map(|d| orders::duration_of(d))
                .transpose()?,
            client_order_id: None,
        };
        match b.replace(&id, changes) {
            Ok(_) => Ok(ack(b, &id)),
            Err(BrokerError::NotCancelable(status)) => {
                Err(TradierError::finalized(b.profile().vendor_status(status)))
            }
            Err(BrokerError::Rejected(r)) => Err(refusal(&r, "")),
            Err(_) => Err(TradierError::unauthorized_account(acct)),
        }
    })
}

async fn cancel(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((account, id)): Path<(String, String)>,
) -> Response {
    with_account(&s, &headers, Some(&account), |b, acct| {
        order_of(b, acct, &id)?;
        match b.cancel(&id) {
            Ok(()) => Ok(Json(
                json!({ "order": { "id": id.parse::<u64>().unwrap_or_default(), "status": "ok" } }),
            )
            .into_response()),
            Err(BrokerError::NotCancelable(status)) => {
                let word = match status {
                    OrderStatus::Replaced => "canceled",
                    s => b.profile().vendor_status(s),
                };
                Err(TradierError::finalized(word))
            }
            Err(_) => Err(TradierError::unauthorized_account(acct)),
        }
    })
}
