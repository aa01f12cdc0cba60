//! The order endpoints (reference §2.1–§2.6): place, read, list, modify, cancel.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;

use mbt::engine::ReplaceRequest;
use mbt::{Instrument, OrderRequest, OrderType};

use super::auth::{OrderPath, TradierAccount};
use super::errors::{refusal, TradierError};
use super::format::Format;
use super::forms::{self, field, Form};
use super::markets::trading_date;
use super::orders::{self, acknowledged, numeric_id, type_word};
use super::wire::{self, Ack, AckDoc, Listing, OrderDoc, OrdersDoc};
use crate::brokerage::{BrokerError, BrokerOrder, SimBrokerage};
use crate::face::{LoseThisResponse, Shared};
use crate::faults::{Decision, Outcome};

#[derive(Deserialize, Default)]
pub struct OrdersQuery {
    #[serde(rename = "includeTags")]
    include_tags: Option<String>,
    page: Option<String>,
    limit: Option<String>,
    filter: Option<String>,
}

impl OrdersQuery {
    /// `includeTags=true`, or `True` as Python's requests writes a bool (§1.3).
    fn tags(&self) -> bool {
        self.include_tags
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("true"))
    }

    /// A positive count from the query, or the default.
    fn count(v: &Option<String>, default: usize) -> usize {
        v.as_deref()
            .and_then(|p| p.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(default)
    }
}

fn order_of<'a>(
    b: &'a SimBrokerage,
    acct: &str,
    id: &str,
) -> Result<&'a BrokerOrder, TradierError> {
    b.order(id)
        .filter(|o| o.account == acct && acknowledged(o))
        .ok_or_else(|| TradierError::unauthorized_account(acct))
}

pub async fn get_order(
    format: Format,
    path: OrderPath,
    State(s): State<Shared>,
    Query(q): Query<OrdersQuery>,
) -> Response {
    let mut b = s.lock();
    b.sync();
    let order = order_of(&b, &path.account, &path.id).map(|o| OrderDoc {
        order: orders::render(&b, o, q.tags()),
    });
    format.answer(order)
}

/// The current ET trading day's orders by default (§2.4, §8.10); every
/// order with `filter=all`. A page past the end is "null", which is how
/// clients that page until "null" stop (§2.4).
pub async fn list_orders(
    format: Format,
    TradierAccount(acct): TradierAccount,
    State(s): State<Shared>,
    Query(q): Query<OrdersQuery>,
) -> Response {
    let mut b = s.lock();
    b.sync();
    let page = OrdersQuery::count(&q.page, 1);
    let limit = OrdersQuery::count(&q.limit, 25);
    let all = q.filter.as_deref() == Some("all");
    let today = trading_date(&b, b.now());
    let items = b
        .orders_of(&acct)
        .filter(|o| acknowledged(o) && (all || trading_date(&b, o.submitted_at) == today))
        .skip(page.saturating_sub(1).saturating_mul(limit))
        .take(limit)
        .map(|o| orders::render(&b, o, q.tags()))
        .collect();
    format.answer(Ok(OrdersDoc {
        orders: Listing::new(items),
    }))
}

fn ack(b: &SimBrokerage, id: &str) -> AckDoc {
    AckDoc {
        order: Ack {
            id: numeric_id(id),
            status: "ok",
            partner_id: Some(crate::ids::stable_uuid(&[
                "tradier-partner",
                &b.profile().slug,
            ])),
        },
    }
}

/// What a submit comes to: an acknowledgement, or one the client never hears.
enum Placed {
    Ack(AckDoc),
    Lost,
}

pub async fn submit(
    format: Format,
    TradierAccount(acct): TradierAccount,
    State(s): State<Shared>,
    Extension(decision): Extension<Decision>,
    body: Bytes,
) -> Response {
    let placed = forms::parse_form(&body).and_then(|form| {
        let request = forms::to_request(&acct, &form)?;
        if field(&form, "preview").is_some_and(|p| p.eq_ignore_ascii_case("true")) {
            return Err(TradierError::invalid(
                "preview orders are not simulated by raxx-sim",
            ));
        }
        place(&mut s.lock(), request, &decision)
    });
    match placed {
        Ok(Placed::Ack(ack)) => format.answer(Ok(ack)),
        Ok(Placed::Lost) => LoseThisResponse.into_response(),
        Err(e) => e.render(format),
    }
}

/// The symbol a refusal names: the first the venue does not list, else the order's own.
fn named_symbol(b: &SimBrokerage, r: &OrderRequest) -> String {
    let legs = r.legs.iter().flatten().map(|l| &l.instrument);
    let single = (!r.is_multi_leg()).then_some(&r.instrument);
    legs.chain(single)
        .find(|i| !b.engine().is_listed(i))
        .map_or_else(|| wire::symbol(&r.instrument), wire::symbol)
}

/// The account's position in `instrument` (signed).
fn held(b: &SimBrokerage, account: &str, instrument: &Instrument) -> rust_decimal::Decimal {
    b.engine()
        .account(account)
        .map_or(rust_decimal::Decimal::ZERO, |a| {
            a.position_quantity(instrument)
        })
}

/// Tradier's order desk refuses a side that does not fit the position
/// held; the broker still received the order, so it is on the ledger as
/// refused, like any refusal.
fn position_refusal(
    b: &mut SimBrokerage,
    request: &OrderRequest,
    decision: &Decision,
) -> Option<TradierError> {
    if request.is_multi_leg() {
        return None;
    }
    let held = held(b, &request.account_id, &request.instrument);
    let text = forms::position_refusal(request, held)?;
    let refuse = Decision {
        outcome: Some(Outcome::Reject {
            reason: text.to_string(),
        }),
        ..decision.clone()
    };
    let _ = b.submit(request.clone(), &refuse);
    Some(TradierError::refused(text))
}

fn place(
    b: &mut SimBrokerage,
    request: OrderRequest,
    decision: &Decision,
) -> Result<Placed, TradierError> {
    b.sync();
    if let Some(refused) = position_refusal(b, &request, decision) {
        return Err(refused);
    }
    let symbol = named_symbol(b, &request);
    match b.submit(request, decision) {
        Ok(order) if order.lose_response => Ok(Placed::Lost),
        Ok(order) => {
            let id = order.vendor_id.clone();
            Ok(Placed::Ack(ack(b, &id)))
        }
        Err((_, rejection)) => Err(refusal(&rejection, &symbol)),
    }
}

/// A modify form as engine changes. Tradier's modify takes `type`,
/// `duration`, `price` and `stop`; the quantity cannot be changed (§2.5).
/// The texts of the refusals below are not recorded (§2.5 leaves them open).
fn modification(form: &Form, o: &BrokerOrder) -> Result<ReplaceRequest, TradierError> {
    if field(form, "quantity").is_some() {
        return Err(TradierError::parameter(
            "quantity",
            "the quantity of an order cannot be changed",
        ));
    }
    let new_type = match field(form, "type").filter(|t| *t != type_word(&o.request)) {
        None => None,
        // A spread's type is its debit or credit, its side: turning one
        // into the other is refused, never ignored.
        Some(t) if o.request.is_multi_leg() => {
            return Err(TradierError::parameter(
                "type",
                format!("{t}: changing a multileg order's type is not simulated by raxx-sim"),
            ))
        }
        Some(t) => Some(forms::type_of(t)?),
    };
    let (price, stop) = (
        forms::decimal(form, "price")?,
        forms::decimal(form, "stop")?,
    );
    let t = new_type.unwrap_or(o.request.order_type);
    // A new type's price must be sent with it unless the order has one.
    let needs = |takes: bool, had: Option<_>, sent: Option<_>| takes && sent.or(had).is_none();
    let takes_limit = matches!(t, OrderType::Limit | OrderType::StopLimit);
    let takes_stop = matches!(t, OrderType::Stop | OrderType::StopLimit);
    if needs(takes_limit, o.request.limit_price, price) {
        return Err(TradierError::parameter(
            "price",
            "a price is required for this type",
        ));
    }
    if needs(takes_stop, o.request.stop_price, stop) {
        return Err(TradierError::parameter(
            "stop",
            "a stop is required for this type",
        ));
    }
    if price.is_some() && !matches!(t, OrderType::Limit | OrderType::StopLimit) {
        return Err(TradierError::parameter(
            "price",
            "this order type takes no price",
        ));
    }
    if stop.is_some() && !matches!(t, OrderType::Stop | OrderType::StopLimit) {
        return Err(TradierError::parameter(
            "stop",
            "this order type takes no stop",
        ));
    }
    Ok(ReplaceRequest {
        quantity: None,
        limit_price: price,
        stop_price: stop,
        time_in_force: field(form, "duration")
            .map(forms::duration_of)
            .transpose()?,
        client_order_id: None,
        trail: None,
        order_type: new_type,
    })
}

pub async fn modify(
    format: Format,
    path: OrderPath,
    State(s): State<Shared>,
    body: Bytes,
) -> Response {
    let form = match forms::parse_form(&body) {
        Ok(f) => f,
        Err(e) => return e.render(format),
    };
    let mut b = s.lock();
    b.sync();
    let result = order_of(&b, &path.account, &path.id)
        .and_then(|o| Ok((modification(&form, o)?, wire::symbol(&o.request.instrument))))
        .and_then(|(changes, symbol)| match b.replace(&path.id, changes) {
            Ok(_) => Ok(ack(&b, &path.id)),
            Err(BrokerError::NotCancelable(status)) => {
                Err(TradierError::finalized(b.profile().vendor_status(status)))
            }
            Err(BrokerError::Rejected(r)) => Err(refusal(&r, &symbol)),
            Err(BrokerError::NotFound | BrokerError::UnknownAccount) => {
                Err(TradierError::unauthorized_account(&path.account))
            }
        });
    format.answer(result)
}

pub async fn cancel(format: Format, path: OrderPath, State(s): State<Shared>) -> Response {
    let mut b = s.lock();
    b.sync();
    let result = order_of(&b, &path.account, &path.id)
        .map(|_| ())
        .and_then(|()| match b.cancel(&path.id) {
            // The measured cancel acknowledgement has no partner_id (§2.1.5).
            Ok(()) => Ok(AckDoc {
                order: Ack {
                    id: numeric_id(&path.id),
                    status: "ok",
                    partner_id: None,
                },
            }),
            Err(BrokerError::NotCancelable(status)) => {
                Err(TradierError::finalized(b.profile().vendor_status(status)))
            }
            Err(_) => Err(TradierError::unauthorized_account(&path.account)),
        });
    format.answer(result)
}
