//! `/v2/orders`: submit, read, list, cancel and replace (reference §2.1–§2.8).
//! Every handler locks the brokerage once, with no await while it holds it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use mbt::engine::ReplaceRequest;
use mbt::{OrderStatus, Trail};
use rust_decimal::Decimal;

use super::auth::AlpacaAuth;
use super::errors::AlpacaError;
use super::extract::{JsonBody, Params, Seg};
use super::orders::{side_word, to_wire, to_wire_nested};
use super::pretrade::{self, Freed};
use super::rules::{self, Context, Placement};
use super::state::{FaceState, Tables};
use super::wire::{self, CancelResult, Order};
use crate::brokerage::{BrokerError, BrokerOrder, SimBrokerage};
use crate::face::{LoseThisResponse, Shared};
use crate::faults::Decision;
use crate::ids::canonical_uuid;

/// Places an order the rules accepted: a client order id unique for the
/// account forever (§4), the account checks, then the brokerage; the face
/// records what the core has no field for. Answers the new vendor id.
pub fn place(
    b: &mut SimBrokerage,
    t: &mut Tables,
    account: &str,
    p: Placement,
    freed: &Freed,
    decision: &Decision,
) -> Result<String, AlpacaError> {
    let config = t.configurations(account);
    {
        let cx = Context {
            b: &*b,
            account,
            config: &config,
        };
        if b.order_by_client_id(account, &p.request.client_order_id)
            .is_some()
        {
            return Err(AlpacaError::invalid("client_order_id must be unique"));
        }
        pretrade::check(&cx, &p.request, freed)?;
    }
    let submitted = match p.exits.clone() {
        None => b.submit(p.request.clone(), decision),
        Some(exits) => b.submit_group(exits.class, p.request.clone(), exits.orders, decision),
    }
    .map(|o| o.vendor_id.clone());
    match submitted {
        Ok(vendor_id) => {
            if let Some(o) = b.order(&vendor_id) {
                t.record(o, p.extras);
            }
            Ok(vendor_id)
        }
        Err((_, rejection)) => {
            let cx = Context {
                b: &*b,
                account,
                config: &config,
            };
            Err(pretrade::engine_refusal(&cx, &p.request, &rejection))
        }
    }
}

/// The answer for an order just placed, unless the fault plan (or a
/// per-request trigger) lost it after the broker committed.
fn placed(b: &SimBrokerage, t: &Tables, vendor_id: &str) -> Result<Response, AlpacaError> {
    let order = b
        .order(vendor_id)
        .ok_or_else(AlpacaError::order_not_found)?;
    if order.lose_response {
        return Ok(LoseThisResponse.into_response());
    }
    Ok(Json(to_wire_nested(b, t, order)).into_response())
}

/// `POST /v2/orders`.
pub async fn submit(
    State(s): State<Shared>,
    Extension(face): Extension<FaceState>,
    Extension(decision): Extension<Decision>,
    AlpacaAuth(account): AlpacaAuth,
    JsonBody(req): JsonBody<wire::OrderRequest>,
) -> Result<Response, AlpacaError> {
    let mut b = s.lock();
    b.sync();
    let mut t = face.tables(&b);
    // Drawn for every order, sent id or not, so generated ids follow the seed alone.
    let generated = b.generate_client_id();
    let client_order_id = req.client_order_id.clone().unwrap_or(generated);
    let config = t.configurations(&account);
    let placement = rules::placement(
        &Context {
            b: &b,
            account: &account,
            config: &config,
        },
        req,
        client_order_id,
    )?;
    let vendor_id = place(
        &mut b,
        &mut t,
        &account,
        placement,
        &Freed::default(),
        &decision,
    )?;
    placed(&b, &t, &vendor_id)
}

/// The account's order under an id in any form Alpaca reads (§2.3): a
/// segment that is no UUID is Alpaca's 422, an unknown one its 404.
/// Refused submissions never became Alpaca orders.
fn visible<'a>(
    b: &'a SimBrokerage,
    account: &str,
    id: &str,
) -> Result<&'a BrokerOrder, AlpacaError> {
    let id = canonical_uuid(id).ok_or_else(|| AlpacaError::invalid("order_id is missing"))?;
    b.order(&id)
        .filter(|o| o.account == account && o.taken)
        .ok_or_else(AlpacaError::order_not_found)
}

/// An order as read: with a group's exits under `legs` when `nested` asks.
fn read_out(b: &SimBrokerage, t: &Tables, o: &BrokerOrder, nested: bool) -> Order {
    if nested {
        to_wire_nested(b, t, o)
    } else {
        to_wire(b, t, o)
    }
}

/// `GET /v2/orders/{order_id}?nested=`.
pub async fn get_one(
    State(s): State<Shared>,
    Extension(face): Extension<FaceState>,
    AlpacaAuth(account): AlpacaAuth,
    Seg(id): Seg,
    q: Params,
) -> Result<Json<Order>, AlpacaError> {
    let nested = q.flag("nested")?.unwrap_or(false);
    let mut b = s.lock();
    b.sync();
    let t = face.tables(&b);
    let o = visible(&b, &account, &id)?;
    Ok(Json(read_out(&b, &t, o, nested)))
}

/// `GET /v2/orders:by_client_order_id?client_order_id=`.
pub async fn by_client_id(
    State(s): State<Shared>,
    Extension(face): Extension<FaceState>,
    AlpacaAuth(account): AlpacaAuth,
    q: Params,
) -> Result<Json<Order>, AlpacaError> {
    let cid = q
        .get("client_order_id")
        // Message not in the reference (§2.4).
        .ok_or_else(|| AlpacaError::invalid("client_order_id is required"))?;
    let mut b = s.lock();
    b.sync();
    let t = face.tables(&b);
    let o = b
        .order_by_client_id(&account, cid)
        .ok_or_else(AlpacaError::order_not_found)?;
    Ok(Json(to_wire(&b, &t, o)))
}

fn parse_time(s: &str) -> Result<mbt::Timestamp, AlpacaError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| mbt::Timestamp::from_datetime(d.into()))
        .map_err(|_| AlpacaError::invalid(format!("invalid timestamp {s:?}")))
}

/// The filters of `GET /v2/orders` (§2.5).
struct ListFilter {
    status: String,
    limit: usize,
    ascending: bool,
    symbols: Vec<String>,
    side: Option<String>,
    classes: Vec<String>,
    after: Option<mbt::Timestamp>,
    until: Option<mbt::Timestamp>,
    /// Exits rolled under their parent's `legs` instead of listed apart.
    nested: bool,
}

impl ListFilter {
    fn read(q: &Params) -> Result<Self, AlpacaError> {
        let status = q.get("status").unwrap_or("open").to_ascii_lowercase();
        if !matches!(status.as_str(), "open" | "closed" | "all") {
            return Err(AlpacaError::invalid("invalid status"));
        }
        let limit = match q.get("limit") {
            None => 50,
            Some(l) => l
                .parse::<usize>()
                .map_err(|_| AlpacaError::invalid("invalid limit"))?
                .min(500),
        };
        Ok(Self {
            status,
            limit,
            ascending: q
                .get("direction")
                .is_some_and(|d| d.eq_ignore_ascii_case("asc")),
            symbols: q.list("symbols"),
            side: q.get("side").map(str::to_ascii_lowercase),
            classes: q
                .list("asset_class")
                .into_iter()
                .filter(|c| c != "all")
                .collect(),
            after: q.get("after").map(parse_time).transpose()?,
            until: q.get("until").map(parse_time).transpose()?,
            nested: q.flag("nested")?.unwrap_or(false),
        })
    }

    fn keeps(&self, b: &SimBrokerage, o: &BrokerOrder) -> bool {
        let r = &o.request;
        let terminal = b.state(o).status.is_terminal();
        let status_ok = match self.status.as_str() {
            "open" => !terminal,
            "closed" => terminal,
            _ => true,
        };
        let symbol_ok = self.symbols.is_empty()
            || self
                .symbols
                .iter()
                .any(|s| *s == wire::symbol(&r.instrument) || s == r.instrument.underlying());
        let side_ok = self
            .side
            .as_deref()
            .is_none_or(|s| !r.is_multi_leg() && s == side_word(r.side));
        let class_ok = self.classes.is_empty()
            || self
                .classes
                .iter()
                .any(|c| c == wire::asset_class(&r.instrument));
        let time_ok = self.after.is_none_or(|a| o.submitted_at > a)
            && self.until.is_none_or(|u| o.submitted_at < u);
        let top_level = !self.nested || o.parent.is_none();
        status_ok && symbol_ok && side_ok && class_ok && time_ok && top_level
    }
}

/// `GET /v2/orders`: newest first unless `direction=asc`.
pub async fn list(
    State(s): State<Shared>,
    Extension(face): Extension<FaceState>,
    AlpacaAuth(account): AlpacaAuth,
    q: Params,
) -> Result<Json<Vec<Order>>, AlpacaError> {
    let filter = ListFilter::read(&q)?;
    let mut b = s.lock();
    b.sync();
    let t = face.tables(&b);
    let mut orders: Vec<&BrokerOrder> = b
        .orders_of(&account)
        .filter(|o| o.taken && filter.keeps(&b, o))
        .collect();
    if !filter.ascending {
        orders.reverse();
    }
    Ok(Json(
        orders
            .into_iter()
            .take(filter.limit)
            .map(|o| read_out(&b, &t, o, filter.nested))
            .collect(),
    ))
}

/// Alpaca's answer to a cancel the brokerage refused.
fn cancel_refusal(b: &SimBrokerage, e: BrokerError) -> AlpacaError {
    match e {
        BrokerError::NotCancelable(status) => AlpacaError::unprocessable(format!(
            "order is already in \"{}\" state",
            b.profile().vendor_status(status)
        )),
        _ => AlpacaError::order_not_found(),
    }
}

/// `DELETE /v2/orders/{order_id}`: 204 at once; the cancel itself lands
/// later (§2.7). Cancelling a canceled order again succeeds (§2.7, measured).
pub async fn cancel(
    State(s): State<Shared>,
    AlpacaAuth(account): AlpacaAuth,
    Seg(id): Seg,
) -> Result<StatusCode, AlpacaError> {
    let mut b = s.lock();
    let id = visible(&b, &account, &id)?.vendor_id.clone();
    match b.cancel(&id) {
        Ok(()) | Err(BrokerError::NotCancelable(OrderStatus::Canceled)) => {
            Ok(StatusCode::NO_CONTENT)
        }
        Err(e) => Err(cancel_refusal(&b, e)),
    }
}

/// `DELETE /v2/orders`: 207 with one entry per open order (§2.8).
pub async fn cancel_all(
    State(s): State<Shared>,
    AlpacaAuth(account): AlpacaAuth,
) -> (StatusCode, Json<Vec<CancelResult>>) {
    let mut b = s.lock();
    b.sync();
    let open: Vec<String> = b
        .orders_of(&account)
        .filter(|o| o.taken && !b.state(o).status.is_terminal())
        .map(|o| o.vendor_id.clone())
        .collect();
    let results = open
        .into_iter()
        .map(|id| match b.cancel(&id) {
            Ok(()) => CancelResult {
                id,
                status: 200,
                body: None,
            },
            Err(e) => {
                let refusal = cancel_refusal(&b, e);
                CancelResult {
                    id,
                    status: refusal.status.as_u16(),
                    body: Some(refusal.body),
                }
            }
        })
        .collect();
    (StatusCode::MULTI_STATUS, Json(results))
}

/// The new trail a PATCH's `trail` sets: the same kind as the order's, as
/// a trail cannot switch between price and percent (§2.6). A trailing stop
/// is moved by its trail, never by a stop price; an order that does not
/// trail takes no trail (messages not in the reference).
fn new_trail(
    old: Option<Trail>,
    trail: Option<Decimal>,
    stop_price: bool,
) -> Result<Option<Trail>, AlpacaError> {
    match (old, trail) {
        (Some(_), _) if stop_price => Err(AlpacaError::invalid(
            "stop_price is not allowed for trailing_stop orders, use trail",
        )),
        (_, None) => Ok(None),
        (None, Some(_)) => Err(AlpacaError::invalid(
            "trail is only for trailing_stop orders",
        )),
        (Some(Trail::Price(_)), Some(p)) => rules::checked_trail(Trail::Price(p)).map(Some),
        (Some(Trail::Percent(_)), Some(p)) => rules::checked_trail(Trail::Percent(p)).map(Some),
    }
}

/// The replacement an order's PATCH asks for, checked by the same rules as
/// a new order (so the same refusal carries the same code), then by the
/// replace-only ones: whole quantities and the trail's kind (§2.6).
fn replacement(
    cx: &Context,
    t: &Tables,
    old: &BrokerOrder,
    changes: wire::ReplaceRequest,
) -> Result<(ReplaceRequest, mbt::OrderRequest), AlpacaError> {
    let number = |n| rules::amount(cx, n);
    let quantity = changes.qty.map(number).transpose()?;
    if quantity.is_some_and(|q| !q.fract().is_zero()) {
        return Err(AlpacaError::invalid("qty must be integer"));
    }
    let trail = new_trail(
        old.request.trail,
        changes.trail.map(number).transpose()?,
        changes.stop_price.is_some(),
    )?;
    let changes = ReplaceRequest {
        quantity,
        limit_price: changes.limit_price.map(number).transpose()?,
        stop_price: changes.stop_price.map(number).transpose()?,
        time_in_force: changes
            .time_in_force
            .as_deref()
            .map(rules::replace_tif)
            .transpose()?,
        client_order_id: changes.client_order_id,
        trail,
        order_type: None,
    };
    let filled = cx.b.state(old).filled_quantity;
    let merged = changes.applied_to(&old.request, old.request.quantity.saturating_sub(filled));
    rules::check(cx, &merged, &t.extras(old))?;
    if changes.client_order_id.is_some()
        && cx
            .b
            .order_by_client_id(cx.account, &merged.client_order_id)
            .is_some()
    {
        // The reference presumes submit's uniqueness rule applies (§4, UNVERIFIED).
        return Err(AlpacaError::invalid("client_order_id must be unique"));
    }
    pretrade::check(cx, &merged, &Freed::order(cx.b, old))?;
    Ok((changes, merged))
}

/// `PATCH /v2/orders/{order_id}`: a new order replacing the old (§2.6).
pub async fn replace(
    State(s): State<Shared>,
    Extension(face): Extension<FaceState>,
    AlpacaAuth(account): AlpacaAuth,
    Seg(id): Seg,
    JsonBody(req): JsonBody<wire::ReplaceRequest>,
) -> Result<Json<Order>, AlpacaError> {
    let mut b = s.lock();
    b.sync();
    let mut t = face.tables(&b);
    let old = visible(&b, &account, &id)?.clone();
    if b.state(&old).status.is_terminal() {
        return Err(AlpacaError::unprocessable(
            "unable to replace order, order is not open",
        ));
    }
    let config = t.configurations(&account);
    let (changes, merged) = replacement(
        &Context {
            b: &b,
            account: &account,
            config: &config,
        },
        &t,
        &old,
        req,
    )?;
    let new_id = match b.replace(&old.vendor_id, changes) {
        Ok(new_id) => new_id,
        Err(BrokerError::Rejected(r)) => {
            let cx = Context {
                b: &b,
                account: &account,
                config: &config,
            };
            return Err(pretrade::engine_refusal(&cx, &merged, &r));
        }
        Err(BrokerError::NotFound) => return Err(AlpacaError::order_not_found()),
        Err(_) => {
            return Err(AlpacaError::unprocessable(
                "unable to replace order, order is not open",
            ))
        }
    };
    let extras = t.extras(&old);
    let new = b.order(&new_id).ok_or_else(AlpacaError::order_not_found)?;
    t.record(new, extras);
    Ok(Json(to_wire(&b, &t, new)))
}
