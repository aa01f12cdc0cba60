//! Alpaca's order rules, from a request body to an engine request: the
//! words it takes, the fields each order needs, and what it refuses before
//! looking at the account (reference §2.1, §5.2). Where the reference
//! leaves a message open, the one used is said so beside it.
//!
//! Order types the model cannot carry out (OPG/CLS auctions) are refused
//! loudly with a 422 saying so, never turned into a simple order. Brackets,
//! OTO and OCO carry their exits (`exits`); a trailing stop is an engine
//! stop with a trail, whose stop price the engine moves.

use chrono::Timelike;
use rust_decimal::Decimal;

use mbt::fill::on_tick;
use mbt::{Instrument, Leg, OrderRequest, OrderType, PositionEffect, Side, TimeInForce, Trail};

use super::assets;
use super::errors::AlpacaError;
use super::exits::{self, Exits};
use super::num::WireNumber;
use super::state::OrderExtras;
use super::wire::{self, Configurations};
use crate::brokerage::{OrderClass, SimBrokerage};

const MAX_CLIENT_ORDER_ID: usize = 128;
/// Alpaca takes quantities to 9 decimal places (§2.1, §6).
const MAX_QTY_DP: u32 = 9;
/// The smallest notional order (the "notional must be >= 1.00" refusal).
const MIN_NOTIONAL: Decimal = Decimal::ONE;

/// What the rules read besides the request.
pub struct Context<'a> {
    pub b: &'a SimBrokerage,
    pub account: &'a str,
    pub config: &'a Configurations,
}

/// An order Alpaca's request rules accept, ready for the account checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub request: OrderRequest,
    pub extras: OrderExtras,
    /// A bracket's, OTO's or OCO's exits.
    pub exits: Option<Exits>,
}

/// A refusal for an amount no account could cover: a number beyond what
/// can be represented, which Alpaca reads and then refuses for buying power.
fn beyond_buying_power(cx: &Context) -> AlpacaError {
    let bp =
        cx.b.account(cx.account)
            .map_or(Decimal::ZERO, |v| v.buying_power);
    AlpacaError::insufficient_buying_power(wire::money(bp), None)
}

fn side_of(word: Option<&str>) -> Result<Side, AlpacaError> {
    match word {
        Some("buy") => Ok(Side::Buy),
        Some("sell") => Ok(Side::Sell),
        _ => Err(AlpacaError::invalid("invalid side")),
    }
}

/// `buy_to_open` and friends: the side and position effect they name.
fn intent(word: &str) -> Result<(Side, PositionEffect), AlpacaError> {
    match word {
        "buy_to_open" => Ok((Side::Buy, PositionEffect::Open)),
        "buy_to_close" => Ok((Side::Buy, PositionEffect::Close)),
        "sell_to_open" => Ok((Side::Sell, PositionEffect::Open)),
        "sell_to_close" => Ok((Side::Sell, PositionEffect::Close)),
        // Message not in the reference (§2.1 lists the words only).
        _ => Err(AlpacaError::invalid("invalid position_intent")),
    }
}

/// An order type word, and whether it is a trailing stop (a stop whose
/// stop price the engine sets from its trail).
fn type_of(word: Option<&str>) -> Result<(OrderType, bool), AlpacaError> {
    match word {
        Some("market") => Ok((OrderType::Market, false)),
        Some("limit") => Ok((OrderType::Limit, false)),
        Some("stop") => Ok((OrderType::Stop, false)),
        Some("stop_limit") => Ok((OrderType::StopLimit, false)),
        Some("trailing_stop") => Ok((OrderType::Stop, true)),
        _ => Err(AlpacaError::invalid("invalid order type")),
    }
}

/// The least trail_percent Alpaca takes (§5.2).
const MIN_TRAIL_PERCENT: Decimal = Decimal::from_parts(1, 0, 0, false, 1);

/// A trailing stop's trail: exactly one of `trail_price` and
/// `trail_percent` (§2.1), the percent at least 0.1 (§5.2), the price a
/// positive one on a valid tick. A trail on another type is refused, never
/// dropped. Messages other than the percent's are not in the reference.
fn trail_of(
    cx: &Context,
    req: &wire::OrderRequest,
    trailing: bool,
) -> Result<Option<Trail>, AlpacaError> {
    let price = optional_amount(cx, req.trail_price)?;
    let percent = optional_amount(cx, req.trail_percent)?;
    match (trailing, price, percent) {
        (false, None, None) => Ok(None),
        (false, _, _) => Err(AlpacaError::invalid(
            "trail_price and trail_percent are only for trailing_stop orders",
        )),
        (true, Some(_), Some(_)) => Err(AlpacaError::invalid(
            "only one of trail_price or trail_percent is accepted",
        )),
        (true, None, None) => Err(AlpacaError::invalid(
            "trailing_stop orders require trail_price or trail_percent",
        )),
        (true, Some(p), None) => checked_trail(Trail::Price(p)).map(Some),
        (true, None, Some(p)) => checked_trail(Trail::Percent(p)).map(Some),
    }
}

/// A trail Alpaca takes, on a submit or a replace: a price positive and on
/// a valid tick, a percent from 0.1 (§5.2) to below 100.
pub fn checked_trail(trail: Trail) -> Result<Trail, AlpacaError> {
    match trail {
        Trail::Price(p) if p <= Decimal::ZERO => {
            Err(AlpacaError::invalid("trail_price must be > 0"))
        }
        Trail::Price(p) => sub_penny("trail_price", Some(p)).map(|_| trail),
        Trail::Percent(p) if p < MIN_TRAIL_PERCENT => Err(AlpacaError::invalid(
            "trail_percent must be greater than or equal to 0.1",
        )),
        Trail::Percent(p) if p >= Decimal::ONE_HUNDRED => {
            Err(AlpacaError::invalid("trail_percent must be less than 100"))
        }
        Trail::Percent(_) => Ok(trail),
    }
}

/// Where a trailing stop may go: alone (Alpaca's orders page: "supported
/// only with single orders"), on an equity, for the day or until canceled
/// (the same page; the reference lists no TIF rule for it). Messages not in
/// the reference.
fn trailing_fits(shape: Shape, r: &OrderRequest) -> Result<(), AlpacaError> {
    if r.trail.is_none() {
        return Ok(());
    }
    if shape != Shape::Simple || r.instrument.is_option() {
        return Err(AlpacaError::invalid(
            "trailing_stop orders are only for simple equity orders",
        ));
    }
    if !matches!(r.time_in_force, TimeInForce::Day | TimeInForce::Gtc) {
        return Err(AlpacaError::unprocessable(
            "trailing_stop orders must be DAY or GTC orders",
        ));
    }
    Ok(())
}

/// A time in force: one the engine runs, or an auction TIF it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tif {
    Runs(TimeInForce),
    Opg,
    Cls,
}

fn tif_of(word: Option<&str>) -> Result<Tif, AlpacaError> {
    match word {
        Some("day") => Ok(Tif::Runs(TimeInForce::Day)),
        Some("gtc") => Ok(Tif::Runs(TimeInForce::Gtc)),
        Some("ioc") => Ok(Tif::Runs(TimeInForce::Ioc)),
        Some("fok") => Ok(Tif::Runs(TimeInForce::Fok)),
        Some("opg") => Ok(Tif::Opg),
        Some("cls") => Ok(Tif::Cls),
        _ => Err(AlpacaError::invalid("invalid time_in_force")),
    }
}

/// A time in force a replace may set (the auction ones cannot be simulated).
pub fn replace_tif(word: &str) -> Result<TimeInForce, AlpacaError> {
    match tif_of(Some(word))? {
        Tif::Runs(t) => Ok(t),
        Tif::Opg => Err(AlpacaError::not_simulated("opg orders are")),
        Tif::Cls => Err(AlpacaError::not_simulated("cls orders are")),
    }
}

/// OPG and CLS orders are taken only in their windows (§5.2); inside them
/// the model has no opening or closing auction to run them in.
fn auction(cx: &Context, tif: Tif) -> Result<TimeInForce, AlpacaError> {
    let minutes = {
        let t = mbt::engine::new_york(cx.b.now());
        t.hour() * 60 + t.minute()
    };
    let evening = 19 * 60;
    match tif {
        Tif::Runs(t) => Ok(t),
        Tif::Opg if minutes >= evening || minutes < 9 * 60 + 28 => {
            Err(AlpacaError::not_simulated("opg orders are"))
        }
        Tif::Opg => Err(AlpacaError::forbidden_trade(
            "opg orders must be submitted after 7:00pm and before 9:28am",
        )),
        Tif::Cls if minutes >= evening || minutes < 15 * 60 + 55 => {
            Err(AlpacaError::not_simulated("cls orders are"))
        }
        Tif::Cls => Err(AlpacaError::forbidden_trade(
            "cls orders must be submitted after 7:00pm and before 3:55pm",
        )),
    }
}

/// What an `order_class` makes of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Simple,
    Mleg,
    Tied(OrderClass),
}

/// Reads the order class; exit objects on a class that has no exits are
/// refused, never dropped.
fn shape(req: &wire::OrderRequest) -> Result<Shape, AlpacaError> {
    let class = req.order_class.as_deref().unwrap_or("simple");
    let has_exits = req.take_profit.is_some() || req.stop_loss.is_some();
    match class {
        // Message not in the reference (§2.1: the objects are for bracket, oco, oto).
        "simple" | "mleg" if has_exits => Err(AlpacaError::invalid(
            "take_profit and stop_loss are only for bracket, oco and oto orders",
        )),
        "simple" => Ok(Shape::Simple),
        "mleg" => Ok(Shape::Mleg),
        // Message not in the reference (§2.1 lists the classes only).
        other => exits::class_of(other)
            .map(Shape::Tied)
            .ok_or_else(|| AlpacaError::invalid("invalid order_class")),
    }
}

/// A number that must be representable: a huge positive one is refused the
/// way Alpaca refuses an order no account could pay for; a huge negative
/// one reads as the most negative `Decimal`, which the sign rules refuse.
pub fn amount(cx: &Context, n: WireNumber) -> Result<Decimal, AlpacaError> {
    match n {
        WireNumber::Value(d) => Ok(d),
        WireNumber::Huge { negative: false } => Err(beyond_buying_power(cx)),
        WireNumber::Huge { negative: true } => Ok(Decimal::MIN),
    }
}

fn optional_amount(cx: &Context, n: Option<WireNumber>) -> Result<Option<Decimal>, AlpacaError> {
    n.map(|n| amount(cx, n)).transpose()
}

/// How much the order is for: a quantity, or a dollar amount (§2.1).
enum Size {
    Qty(Decimal),
    Notional(Decimal),
}

fn size(cx: &Context, req: &wire::OrderRequest) -> Result<Size, AlpacaError> {
    match (req.qty, req.notional) {
        (Some(_), Some(_)) => Err(AlpacaError::invalid(
            "only one of qty or notional is accepted",
        )),
        (None, None) => Err(AlpacaError::invalid("qty or notional is required")),
        (Some(q), None) => amount(cx, q).map(Size::Qty),
        (None, Some(n)) => amount(cx, n).map(Size::Notional),
    }
}

/// The prices an order type needs, and none it does not take. A market
/// order with a price is refused (Alpaca's "market orders require no stop
/// or limit price"); a price another type does not use is ignored, as the
/// reference has no refusal for it (§5.2).
fn prices(
    order_type: OrderType,
    limit: Option<Decimal>,
    stop: Option<Decimal>,
) -> Result<(Option<Decimal>, Option<Decimal>), AlpacaError> {
    let needs_limit = matches!(order_type, OrderType::Limit | OrderType::StopLimit);
    let needs_stop = matches!(order_type, OrderType::Stop | OrderType::StopLimit);
    match (order_type, limit, stop) {
        (OrderType::Market, None, None) => Ok((None, None)),
        (OrderType::Market, _, _) => Err(AlpacaError::invalid(
            "market orders require no stop or limit price",
        )),
        (OrderType::StopLimit, None, _) | (OrderType::StopLimit, _, None) => Err(
            AlpacaError::invalid("stop limit orders require both stop and limit price"),
        ),
        (_, None, _) if needs_limit => {
            Err(AlpacaError::invalid("limit orders require a limit price"))
        }
        (_, _, None) if needs_stop => Err(AlpacaError::invalid("stop orders require a stop price")),
        _ => Ok((limit.filter(|_| needs_limit), stop.filter(|_| needs_stop))),
    }
}

/// The position effect Alpaca infers when an option order names none:
/// closing when it trades against a held position.
fn inferred_effect(cx: &Context, instrument: &Instrument, side: Side) -> PositionEffect {
    let held =
        cx.b.engine()
            .account(cx.account)
            .map_or(Decimal::ZERO, |a| a.position_quantity(instrument));
    match side {
        Side::Sell if held > Decimal::ZERO => PositionEffect::Close,
        Side::Buy if held < Decimal::ZERO => PositionEffect::Close,
        _ => PositionEffect::Open,
    }
}

/// Translates a submit body into an engine request under Alpaca's rules.
pub fn placement(
    cx: &Context,
    mut req: wire::OrderRequest,
    client_order_id: String,
) -> Result<Placement, AlpacaError> {
    if client_order_id.chars().count() > MAX_CLIENT_ORDER_ID {
        return Err(AlpacaError::invalid(
            "client_order_id must be no more than 128 characters",
        ));
    }
    let shape = shape(&req)?;
    let (take_profit, stop_loss) = (req.take_profit.take(), req.stop_loss.take());
    if shape == Shape::Tied(OrderClass::Oco) && req.limit_price.is_none() {
        // An OCO is the take-profit limit itself: alpaca-py sends no limit_price.
        req.limit_price = take_profit.as_ref().and_then(|tp| tp.limit_price);
    }
    let (order_type, trailing) = type_of(req.kind.as_deref())?;
    let trail = trail_of(cx, &req, trailing)?;
    let tif = tif_of(req.time_in_force.as_deref())?;
    let size = size(cx, &req)?;
    // A trailing stop's stop price is the engine's to set; prices sent
    // with it are ignored, like any price a type does not use.
    let (limit_price, stop_price) = match trailing {
        true => (None, None),
        false => prices(
            order_type,
            optional_amount(cx, req.limit_price)?,
            optional_amount(cx, req.stop_price)?,
        )?,
    };
    let time_in_force = auction(cx, tif)?;
    let (quantity, notional) = match size {
        Size::Qty(q) => (q, None),
        Size::Notional(n) => (Decimal::ZERO, Some(n)),
    };
    let base = OrderRequest {
        account_id: cx.account.to_string(),
        client_order_id,
        instrument: Instrument::equity(""),
        side: Side::Buy,
        position_effect: None,
        quantity,
        order_type,
        limit_price,
        stop_price,
        time_in_force,
        legs: None,
        trail,
    };
    let extras = OrderExtras {
        extended_hours: req.extended_hours.unwrap_or(false),
        notional,
    };
    let request = if shape == Shape::Mleg {
        multi_leg(cx, req, base)?
    } else {
        single(cx, req, base)?
    };
    let request = match notional {
        Some(n) => with_notional_quantity(cx, request, n)?,
        None => request,
    };
    trailing_fits(shape, &request)?;
    check(cx, &request, &extras)?;
    let exits = match shape {
        Shape::Tied(class) => {
            let exits = exits::tie(cx, class, &request, &extras, take_profit, stop_loss)?;
            for exit in &exits.orders {
                check(cx, exit, &OrderExtras::default())?;
            }
            Some(exits)
        }
        Shape::Simple | Shape::Mleg => None,
    };
    Ok(Placement {
        request,
        extras,
        exits,
    })
}

fn single(
    cx: &Context,
    req: wire::OrderRequest,
    base: OrderRequest,
) -> Result<OrderRequest, AlpacaError> {
    let text = req
        .symbol
        .ok_or_else(|| AlpacaError::invalid("symbol is required"))?;
    let instrument = assets::resolve(cx.b, &text)
        .ok_or_else(|| AlpacaError::unprocessable(format!("asset \"{text}\" not found")))?;
    let (side, effect) = match (req.side.as_deref(), req.position_intent.as_deref()) {
        (_, Some(i)) if instrument.is_option() => {
            let (s, e) = intent(i)?;
            (s, Some(e))
        }
        (s, _) => (side_of(s)?, None),
    };
    let position_effect = match effect {
        Some(e) => Some(e),
        None if instrument.is_option() => Some(inferred_effect(cx, &instrument, side)),
        None => None,
    };
    Ok(OrderRequest {
        instrument,
        side,
        position_effect,
        ..base
    })
}

fn multi_leg(
    cx: &Context,
    req: wire::OrderRequest,
    base: OrderRequest,
) -> Result<OrderRequest, AlpacaError> {
    if req.symbol.is_some() {
        return Err(AlpacaError::invalid("symbol is not allowed for mleg order"));
    }
    let legs_in = req.legs.unwrap_or_default();
    if !(2..=4).contains(&legs_in.len()) {
        // Message not in the reference (§2.1: "2–4 items").
        return Err(AlpacaError::invalid("mleg orders require 2 to 4 legs"));
    }
    let legs = legs_in
        .into_iter()
        .map(|l| leg(cx, l))
        .collect::<Result<Vec<_>, _>>()?;
    let underlying = legs
        .first()
        .map(|l| l.instrument.underlying().to_string())
        .unwrap_or_default();
    // Alpaca's mleg limit is signed: positive pays a debit, negative takes a credit.
    let (side, limit_price) = match base.limit_price {
        Some(p) if p < Decimal::ZERO => (Side::Sell, Some(-p)),
        other => (Side::Buy, other),
    };
    Ok(OrderRequest {
        instrument: Instrument::equity(underlying),
        side,
        limit_price,
        legs: Some(legs),
        ..base
    })
}

fn leg(cx: &Context, l: wire::LegRequest) -> Result<Leg, AlpacaError> {
    let symbol = l
        .symbol
        .ok_or_else(|| AlpacaError::invalid("leg symbol is required"))?;
    let instrument = Instrument::parse_symbol(&symbol);
    let (side, effect) = match (l.position_intent.as_deref(), l.side.as_deref()) {
        (Some(i), _) => intent(i)?,
        (None, s) => {
            let s = side_of(s)?;
            (s, inferred_effect(cx, &instrument, s))
        }
    };
    Ok(Leg {
        instrument,
        side,
        position_effect: Some(effect),
        ratio_quantity: optional_amount(cx, l.ratio_qty)?.unwrap_or(Decimal::ONE),
    })
}

/// A notional order's quantity: the amount at the price it would trade at
/// now (the ask to buy, the bid to sell), rounded down to Alpaca's 9 places.
fn with_notional_quantity(
    cx: &Context,
    r: OrderRequest,
    notional: Decimal,
) -> Result<OrderRequest, AlpacaError> {
    if r.instrument.is_option() || r.is_multi_leg() {
        // Message not in the reference: notional is for equities (§2.1).
        return Err(AlpacaError::invalid(
            "notional orders are only for equities",
        ));
    }
    if notional < MIN_NOTIONAL {
        return Err(AlpacaError::invalid("notional must be >= 1.00"));
    }
    let quote = cx.b.engine().quote(&r.instrument);
    let price = quote.map(|q| match r.side {
        Side::Buy => q.ask,
        Side::Sell => q.bid,
    });
    let quantity = price
        .filter(|p| *p > Decimal::ZERO)
        .and_then(|p| notional.checked_div(p))
        .map(|q| q.round_dp_with_strategy(MAX_QTY_DP, rust_decimal::RoundingStrategy::ToZero))
        .ok_or_else(|| {
            AlpacaError::unprocessable(format!(
                "asset \"{}\" not found",
                wire::symbol(&r.instrument)
            ))
        })?;
    Ok(OrderRequest { quantity, ..r })
}

/// The rules a request must meet whether it is new or a replacement, so a
/// PATCH is refused with the same code as a POST for the same rule.
pub fn check(cx: &Context, r: &OrderRequest, extras: &OrderExtras) -> Result<(), AlpacaError> {
    positive(r)?;
    for (name, price) in [("limit_price", r.limit_price), ("stop_price", r.stop_price)] {
        sub_penny(name, price)?;
    }
    if r.is_multi_leg() || r.instrument.is_option() {
        whole_contracts(r, extras)?;
    } else if extras.notional.is_some() || !r.quantity.fract().is_zero() {
        fractional(cx, r, extras)?;
    }
    if extras.extended_hours
        && (r.order_type != OrderType::Limit
            || r.time_in_force != TimeInForce::Day
            || r.instrument.is_option()
            || r.is_multi_leg())
    {
        // §5.2's wording; newer captures say "DAY or GTC limit orders" (CONFLICT there).
        return Err(AlpacaError::unprocessable(
            "extended hours order must be DAY limit orders",
        ));
    }
    Ok(())
}

fn positive(r: &OrderRequest) -> Result<(), AlpacaError> {
    if r.quantity <= Decimal::ZERO {
        return Err(AlpacaError::invalid("qty must be > 0"));
    }
    // An mleg limit is signed (a credit is negative); its sign became the side.
    if r.limit_price.is_some_and(|p| p <= Decimal::ZERO) {
        return Err(AlpacaError::invalid("limit price must be > 0"));
    }
    if r.stop_price.is_some_and(|p| p <= Decimal::ZERO) {
        // Wording by analogy with the limit price's (not in the reference).
        return Err(AlpacaError::invalid("stop price must be > 0"));
    }
    Ok(())
}

fn sub_penny(name: &str, price: Option<Decimal>) -> Result<(), AlpacaError> {
    match price {
        Some(p) if !on_tick(p.abs()) => Err(AlpacaError::unprocessable(format!(
            "invalid {name} {p}. sub-penny increment does not fulfill minimum pricing criteria"
        ))),
        _ => Ok(()),
    }
}

/// Options trade whole contracts, for the day only (alpaca-py's TimeInForce
/// notes; §2.1 has newer text allowing gtc too, a CONFLICT).
fn whole_contracts(r: &OrderRequest, extras: &OrderExtras) -> Result<(), AlpacaError> {
    if !r.quantity.fract().is_zero() || extras.notional.is_some() {
        return Err(AlpacaError::invalid("qty must be integer"));
    }
    if r.time_in_force != TimeInForce::Day {
        // Message not in the reference.
        return Err(AlpacaError::unprocessable(
            "options orders must be DAY orders",
        ));
    }
    Ok(())
}

/// Fractional (and notional) orders: enabled for the account, simple (the
/// caller never sends mleg here), DAY, market or limit, at most 9 decimals.
/// The DAY and class messages are measured captures; a fractional limit DAY
/// order was measured accepted (§2.1 says market only: CONFLICT), and no
/// capture shows the stop types, so they keep §2.1's "market" rule with
/// a message of this model's wording.
fn fractional(cx: &Context, r: &OrderRequest, extras: &OrderExtras) -> Result<(), AlpacaError> {
    if !cx.config.fractional_trading {
        return Err(AlpacaError::forbidden_trade(
            "fractional trading is disabled for this account",
        ));
    }
    if r.time_in_force != TimeInForce::Day {
        return Err(AlpacaError::unprocessable(
            "fractional orders must be DAY orders",
        ));
    }
    let allowed = match extras.notional {
        Some(_) => r.order_type == OrderType::Market,
        None => matches!(r.order_type, OrderType::Market | OrderType::Limit),
    };
    if !allowed {
        return Err(AlpacaError::unprocessable(if extras.notional.is_some() {
            "notional orders must be market orders"
        } else {
            "fractional orders must be market or limit orders"
        }));
    }
    if r.quantity.normalize().scale() > MAX_QTY_DP {
        // Message not in the reference (§2.1: "up to 9 decimals").
        return Err(AlpacaError::invalid(
            "qty must have at most 9 decimal places",
        ));
    }
    Ok(())
}
