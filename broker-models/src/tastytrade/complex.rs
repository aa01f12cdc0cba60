//! Complex orders (reference §2.4) on the brokerage's order groups: OTOCO
//! is a bracket (a trigger whose two exits wait `Contingent` until it
//! fills, then cancel each other), OTO a trigger with one waiting child,
//! OCO two live orders that cancel each other. What the groups cannot
//! express is refused loudly: PAIRS, OTO with several children (they would
//! cancel each other), and children sized unlike their trigger (the group
//! sizes them to the trigger's fill).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use mbt::OrderStatus;

use super::auth::{AccountPath, IdPath};
use super::errors::TastytradeError;
use super::orders::{self, complex_id, complex_kind};
use super::preview;
use super::request::{self, OrderBody};
use super::trading::{prepared, refuse};
use super::wire::{ComplexOrder, Data, Items, PlacedComplex};
use crate::brokerage::{BrokerOrder, OrderClass, SimBrokerage};
use crate::face::Shared;
use crate::faults::Decision;

type Answer = Result<Response, TastytradeError>;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ComplexBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    trigger_order: Option<OrderBody>,
    orders: Option<Vec<OrderBody>>,
}

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

/// The group a complex order's type makes, and how many orders it takes besides its trigger.
fn shape(body: &ComplexBody) -> Result<(OrderClass, usize), TastytradeError> {
    let kind = body
        .kind
        .as_deref()
        .ok_or_else(|| TastytradeError::invalid("type", "is missing"))?;
    let (class, others) = match kind {
        "OTOCO" => (OrderClass::Bracket, 2),
        "OTO" => (OrderClass::Oto, 1),
        "OCO" => (OrderClass::Oco, 2),
        "PAIRS" => return Err(TastytradeError::not_simulated("PAIRS complex orders")),
        _ => {
            return Err(TastytradeError::invalid(
                "type",
                "does not have a valid value",
            ))
        }
    };
    let n = body.orders.as_ref().map_or(0, Vec::len);
    if class == OrderClass::Oto && (2..=3).contains(&n) {
        return Err(TastytradeError::not_simulated(
            "OTO complex orders with more than one triggered order",
        ));
    }
    if n != others {
        return Err(TastytradeError::invalid(
            "orders",
            format!("a {kind} complex order has {others} orders"),
        ));
    }
    let triggered = class != OrderClass::Oco;
    if triggered != body.trigger_order.is_some() {
        return Err(TastytradeError::invalid(
            "trigger-order",
            if triggered {
                "is missing"
            } else {
                "is not allowed for OCO"
            },
        ));
    }
    Ok((class, others))
}

/// `POST /accounts/{n}/complex-orders` → 201 with `data.complex-order`.
pub async fn submit(
    path: AccountPath,
    State(s): State<Shared>,
    Extension(decision): Extension<Decision>,
    body: Bytes,
) -> Answer {
    let body: ComplexBody = request::parse(&body)?;
    let (class, _) = shape(&body)?;
    let mut b = s.lock();
    b.sync();
    let account = path.account.as_str();
    let children = body.orders.as_deref().unwrap_or_default();
    let (first, rest) = match (&body.trigger_order, children) {
        (Some(trigger), _) => (prepared(&b, account, trigger)?, children),
        (None, [first, rest @ ..]) => (prepared(&b, account, first)?, rest),
        (None, []) => return Err(TastytradeError::invalid("orders", "is missing")),
    };
    let mut others = Vec::new();
    for child in rest {
        // A triggered child is checked when its trigger has filled: its
        // "to Close" is for the position the trigger opens.
        let w = match class {
            OrderClass::Oco => prepared(&b, account, child)?,
            _ => request::wanted(account, child)?,
        };
        if let Some(refusal) = w.refused {
            return Err(refusal);
        }
        if class != OrderClass::Oco && w.request.quantity != first.request.quantity {
            return Err(TastytradeError::not_simulated(
                "triggered orders sized unlike their trigger order",
            ));
        }
        if class == OrderClass::Oco {
            b.engine()
                .validate(&w.request)
                .map_err(|r| TastytradeError::refusal(&r))?;
        }
        others.push(w.request);
    }
    if let Some(refusal) = first.refused {
        return Err(refuse(&mut b, first.request, &decision, refusal));
    }
    let lead = match b.submit_group(class, first.request, others, &decision) {
        Ok(o) => o.vendor_id.clone(),
        Err((_, rejection)) => return Err(TastytradeError::refusal(&rejection)),
    };
    let complex =
        render(&b, account, &lead).ok_or_else(TastytradeError::complex_order_not_found)?;
    let entry = b
        .order(&lead)
        .map(|o| o.request.clone())
        .ok_or_else(TastytradeError::complex_order_not_found)?;
    let answer = PlacedComplex {
        buying_power_effect: preview::buying_power(&b, &entry),
        fee_calculation: preview::fees(&b, &entry),
        complex_order: complex,
        warnings: Vec::new(),
    };
    Ok(data(StatusCode::CREATED, answer, &path.caller.context))
}

/// The members of the complex order led by `lead`, the leader first.
fn members<'a>(b: &'a SimBrokerage, account: &'a str, lead: &'a str) -> Vec<&'a BrokerOrder> {
    b.orders_of(account)
        .filter(|o| o.vendor_id == lead || o.parent.as_deref() == Some(lead))
        .collect()
}

/// The complex order led by `lead`, as it stands.
pub(super) fn render(b: &SimBrokerage, account: &str, lead: &str) -> Option<ComplexOrder> {
    let all = members(b, account, lead);
    let head = all.first().filter(|o| o.vendor_id == lead)?;
    let class = head.class?;
    let rendered: Vec<_> = all.iter().map(|o| orders::render(b, o)).collect();
    let (trigger, rest) = match class {
        OrderClass::Oco => (None, rendered),
        _ => {
            let mut it = rendered.into_iter();
            (it.next(), it.collect())
        }
    };
    let done = all.iter().all(|o| b.state(o).status.is_terminal());
    let terminal_at = done
        .then(|| all.iter().map(|o| o.updated_at).max())
        .flatten()
        .map(super::num::iso);
    Some(ComplexOrder {
        id: complex_id(lead),
        account_number: account.to_string(),
        kind: complex_kind(class),
        trigger_order: trigger,
        orders: rest,
        related_orders: Vec::new(),
        terminal_at,
    })
}

/// The leader of the complex order `id` in `account`.
fn find(b: &SimBrokerage, account: &str, id: &str) -> Result<String, TastytradeError> {
    b.orders_of(account)
        .filter(|o| o.class.is_some() && o.parent.is_none())
        .find(|o| complex_id(&o.vendor_id).to_string() == id)
        .map(|o| o.vendor_id.clone())
        .ok_or_else(TastytradeError::complex_order_not_found)
}

pub async fn get_one(path: IdPath, State(s): State<Shared>) -> Answer {
    let mut b = s.lock();
    b.sync();
    let lead = find(&b, &path.account, &path.id)?;
    let c =
        render(&b, &path.account, &lead).ok_or_else(TastytradeError::complex_order_not_found)?;
    Ok(data(StatusCode::OK, c, &path.caller.context))
}

fn listed(b: &SimBrokerage, account: &str, live_only: bool) -> Vec<ComplexOrder> {
    let today = b.now().date();
    b.orders_of(account)
        .filter(|o| o.class.is_some() && o.parent.is_none() && o.taken)
        .filter(|o| {
            !live_only
                || o.submitted_at.date() == today
                || o.updated_at.date() == today
                || !b.state(o).status.is_terminal()
        })
        .filter_map(|o| render(b, account, &o.vendor_id))
        .collect()
}

/// `GET /accounts/{n}/complex-orders`.
pub async fn list(path: AccountPath, State(s): State<Shared>) -> Answer {
    let mut b = s.lock();
    b.sync();
    let items = listed(&b, &path.account, false);
    Ok(data(StatusCode::OK, Items { items }, &path.caller.context))
}

/// `GET /accounts/{n}/complex-orders/live`: today's and the working ones.
pub async fn live(path: AccountPath, State(s): State<Shared>) -> Answer {
    let mut b = s.lock();
    b.sync();
    let items = listed(&b, &path.account, true);
    Ok(data(StatusCode::OK, Items { items }, &path.caller.context))
}

/// `DELETE /accounts/{n}/complex-orders/{id}`: cancels every member still
/// working (§2.4: a complex order is cancelled whole, not by its children).
pub async fn cancel(path: IdPath, State(s): State<Shared>) -> Answer {
    let mut b = s.lock();
    b.sync();
    let lead = find(&b, &path.account, &path.id)?;
    let working: Vec<String> = members(&b, &path.account, &lead)
        .into_iter()
        .filter(|o| {
            matches!(
                b.state(o).status,
                OrderStatus::Pending | OrderStatus::Accepted | OrderStatus::PartiallyFilled
            )
        })
        .map(|o| o.vendor_id.clone())
        .collect();
    if working.is_empty() {
        return Err(TastytradeError::cannot_update(
            &path.id,
            "cancelled",
            "no longer working",
        ));
    }
    for id in &working {
        // A member that ended meanwhile is no longer cancelable: nothing to do.
        let _ = b.cancel(id);
    }
    let c =
        render(&b, &path.account, &lead).ok_or_else(TastytradeError::complex_order_not_found)?;
    Ok(data(StatusCode::OK, c, &path.caller.context))
}
