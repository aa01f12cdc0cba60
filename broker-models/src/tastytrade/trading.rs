//! The order endpoints (reference §2.2-§2.8): submit and dry run, read one,
//! the day's orders and the paged search, cancel, replace (PUT) and edit
//! (PATCH). No idempotency (§4): `external-identifier` is kept and shown,
//! and two identical submissions are two orders.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rust_decimal::Decimal;

use mbt::{Instrument, OrderRequest, OrderStatus};

use super::auth::{AccountPath, IdPath};
use super::errors::TastytradeError;
use super::orders;
use super::preview;
use super::request::{self, OrderBody, Wanted};
use super::search::{self, Search};
use super::wire::{Data, Items, Note, Order, Placed};
use crate::brokerage::{BrokerError, BrokerOrder, SimBrokerage};
use crate::face::{LoseThisResponse, Shared};
use crate::faults::{Decision, Outcome};

type Answer = Result<Response, TastytradeError>;

fn data<T: serde::Serialize>(status: StatusCode, data: T, context: &str) -> Response {
    (
        status,
        Json(Data {
            data,
            context: context.to_string(),
        }),
    )
        .into_response()
}

/// The account's position in `instrument` (signed).
pub fn held(b: &SimBrokerage, account: &str, instrument: &Instrument) -> Decimal {
    b.engine()
        .account(account)
        .map_or(Decimal::ZERO, |a| a.position_quantity(instrument))
}

/// The order a submit body asks for, with its closes relaxed unless strict.
pub fn prepared(
    b: &SimBrokerage,
    account: &str,
    body: &OrderBody,
) -> Result<Wanted, TastytradeError> {
    let mut w = request::wanted(account, body)?;
    if !w.strict {
        request::relax_closes(&mut w.request, |i| held(b, account, i));
    }
    Ok(w)
}

/// tastytrade took the order: the placed-order answer, in its first state.
fn placed(b: &SimBrokerage, o: &BrokerOrder) -> Placed {
    Placed {
        buying_power_effect: preview::buying_power(b, &o.request),
        fee_calculation: preview::fees(b, &o.request),
        order: orders::render(b, o),
        warnings: Vec::new(),
    }
}

/// A preflight refusal the face decides (the direction of the price, a
/// GTC market order) still reached the broker: it is on the ledger as refused.
pub fn refuse(
    b: &mut SimBrokerage,
    request: OrderRequest,
    decision: &Decision,
    refusal: TastytradeError,
) -> TastytradeError {
    let reason = match &refusal {
        TastytradeError::Api { errors, .. } => format!("{errors:?}"),
        other => format!("{other:?}"),
    };
    let refuse = Decision {
        outcome: Some(Outcome::Reject { reason }),
        ..decision.clone()
    };
    let _ = b.submit(request, &refuse);
    refusal
}

/// `POST /accounts/{n}/orders` → 201 with the order `Routed` (§2.2, §8.6).
pub async fn submit(
    path: AccountPath,
    State(s): State<Shared>,
    Extension(decision): Extension<Decision>,
    body: Bytes,
) -> Answer {
    let body: OrderBody = request::parse(&body)?;
    let mut b = s.lock();
    b.sync();
    let w = prepared(&b, &path.account, &body)?;
    if let Some(refusal) = w.refused {
        return Err(refuse(&mut b, w.request, &decision, refusal));
    }
    match b.submit(w.request, &decision) {
        Ok(o) if o.lose_response => Ok(LoseThisResponse.into_response()),
        Ok(o) => {
            let o = o.clone();
            Ok(data(
                StatusCode::CREATED,
                placed(&b, &o),
                &path.caller.context,
            ))
        }
        Err((_, rejection)) => Err(TastytradeError::refusal(&rejection)),
    }
}

/// `POST /accounts/{n}/orders/dry-run` (§2.3): the same checks and answer,
/// nothing placed; the order has no id, reads `Received`, `updated-at` 0.
pub async fn dry_run(path: AccountPath, State(s): State<Shared>, body: Bytes) -> Answer {
    let body: OrderBody = request::parse(&body)?;
    let mut b = s.lock();
    b.sync();
    let w = prepared(&b, &path.account, &body)?;
    if let Some(refusal) = w.refused {
        return Err(refusal);
    }
    b.engine()
        .validate(&w.request)
        .map_err(|r| TastytradeError::refusal(&r))?;
    let warnings = if b.engine().is_open() {
        Vec::new()
    } else {
        // The captured warning, its spelling included (§2.3).
        vec![Note {
            code: "tif_next_valid_sesssion",
            message: "Your order will begin working during next valid session.",
        }]
    };
    let answer = Placed {
        buying_power_effect: preview::buying_power(&b, &w.request),
        fee_calculation: preview::fees(&b, &w.request),
        order: orders::unplaced(&w.request),
        warnings,
    };
    Ok(data(StatusCode::CREATED, answer, &path.caller.context))
}

/// An order tastytrade gave an id to, in the account of the path.
fn order_of<'a>(
    b: &'a SimBrokerage,
    account: &str,
    id: &str,
) -> Result<&'a BrokerOrder, TastytradeError> {
    b.order(id)
        .filter(|o| o.account == account && o.taken)
        .ok_or_else(TastytradeError::order_not_found)
}

pub async fn get_order(path: IdPath, State(s): State<Shared>) -> Answer {
    let mut b = s.lock();
    b.sync();
    let o = order_of(&b, &path.account, &path.id)?;
    Ok(data(
        StatusCode::OK,
        orders::render(&b, o),
        &path.caller.context,
    ))
}

/// `GET /accounts/{n}/orders/live` (§2.6, §8.7): every order created or
/// updated today, in any status, and older ones still working; not paged.
pub async fn live_orders(path: AccountPath, State(s): State<Shared>) -> Answer {
    let mut b = s.lock();
    b.sync();
    let today = b.now().date();
    let items: Vec<Order> = b
        .orders_of(&path.account)
        .filter(|o| o.taken)
        .filter(|o| {
            o.submitted_at.date() == today
                || o.updated_at.date() == today
                || !b.state(o).status.is_terminal()
        })
        .map(|o| orders::render(&b, o))
        .collect();
    Ok(data(StatusCode::OK, Items { items }, &path.caller.context))
}

/// `GET /accounts/{n}/orders` (§2.6): the paged search.
pub async fn search_orders(path: AccountPath, State(s): State<Shared>, query: Search) -> Answer {
    let mut b = s.lock();
    b.sync();
    let filter = query.filter(path.caller.version)?;
    let mut found: Vec<&BrokerOrder> = b
        .orders_of(&path.account)
        .filter(|o| o.taken && filter.matches(&b, o))
        .collect();
    if !filter.ascending {
        found.reverse();
    }
    let page = search::page(&found, &filter);
    let items = page.items.iter().map(|o| orders::render(&b, o)).collect();
    Ok(search::answer(items, page.pagination, &path.caller.context))
}

/// `DELETE /accounts/{n}/orders/{id}` → 200 with the order, `Cancel
/// Requested` until the cancel lands (§2.7); 422 for an order that is
/// no longer working.
pub async fn cancel(path: IdPath, State(s): State<Shared>) -> Answer {
    let mut b = s.lock();
    b.sync();
    let o = order_of(&b, &path.account, &path.id)?;
    if o.held {
        // A complex order's child is cancelled with its complex order (§2.4).
        return Err(TastytradeError::cannot_update(
            &path.id,
            "cancelled",
            "Contingent",
        ));
    }
    match b.cancel(&path.id) {
        Ok(()) => {}
        Err(BrokerError::NotCancelable(status)) => {
            let word = b.profile().vendor_status(status).to_string();
            return Err(TastytradeError::cannot_update(&path.id, "cancelled", &word));
        }
        Err(_) => return Err(TastytradeError::order_not_found()),
    }
    let o = order_of(&b, &path.account, &path.id)?;
    Ok(data(
        StatusCode::OK,
        orders::render(&b, o),
        &path.caller.context,
    ))
}

/// `PUT` (replace) and `PATCH` (edit) `/accounts/{n}/orders/{id}` (§2.8):
/// a new order under a new id, answered `Contingent` while the original is
/// being cancelled; the original ends `Cancelled`, `edited`.
pub async fn replace(path: IdPath, State(s): State<Shared>, body: Bytes) -> Answer {
    let body: OrderBody = request::parse(&body)?;
    let mut b = s.lock();
    b.sync();
    let old = order_of(&b, &path.account, &path.id)?;
    let state = b.state(old);
    if old.held
        || !matches!(
            state.status,
            OrderStatus::Pending | OrderStatus::Accepted | OrderStatus::PartiallyFilled
        )
    {
        let word = orders::status_word(&b, old, &state);
        return Err(TastytradeError::cannot_update(&path.id, "replaced", &word));
    }
    let changes = request::changes(&old.request, &body)?;
    let new_id = match b.replace(&path.id, changes) {
        Ok(id) => id,
        Err(BrokerError::NotCancelable(status)) => {
            let word = b.profile().vendor_status(status).to_string();
            return Err(TastytradeError::cannot_update(&path.id, "replaced", &word));
        }
        Err(BrokerError::Rejected(r)) => return Err(TastytradeError::refusal(&r)),
        Err(BrokerError::NotFound | BrokerError::UnknownAccount) => {
            return Err(TastytradeError::order_not_found())
        }
    };
    let new = order_of(&b, &path.account, &new_id)?;
    let mut answer = orders::render(&b, new);
    let untouched = b.state(new);
    if untouched.filled_quantity.is_zero() && !untouched.status.is_terminal() {
        // The replacement waits for the original's cancel (§2.8, §8.8).
        answer.status = "Contingent".to_string();
        answer.contingent_status = Some("Pending Order");
    }
    Ok(data(StatusCode::OK, answer, &path.caller.context))
}
