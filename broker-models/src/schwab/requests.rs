//! Order requests in (reference §2.2): Schwab's `OrderRequest` JSON as a
//! typed struct, and the engine's request it comes to.
//!
//! What the model simulates: `session` NORMAL; durations DAY,
//! GOOD_TILL_CANCEL, IMMEDIATE_OR_CANCEL, FILL_OR_KILL; MARKET, LIMIT, STOP,
//! STOP_LIMIT orders on one EQUITY or OPTION leg, NET_DEBIT / NET_CREDIT on
//! several OPTION legs; `orderStrategyType` SINGLE, and TRIGGER with one
//! SINGLE child (the child waits for its parent's fill). Every other value
//! Schwab accepts is refused loudly (400, "not simulated by raxx-sim");
//! values Schwab does not know, and response-only fields, are refused as
//! Schwab's validation refuses them (§8.9).

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use mbt::{Instrument, Leg, OccSymbol, OrderRequest, OrderType, PositionEffect, Side, TimeInForce};

use super::errors::SchwabError;
use super::wire::Lenient;

/// An order as a client sends it; unknown keys are refused (see `parse`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderIn {
    session: Option<String>,
    duration: Option<String>,
    order_type: Option<String>,
    order_strategy_type: Option<String>,
    complex_order_strategy_type: Option<String>,
    quantity: Option<Lenient>,
    price: Option<Lenient>,
    stop_price: Option<Lenient>,
    #[serde(default)]
    order_leg_collection: Vec<LegIn>,
    #[serde(default)]
    child_order_strategies: Vec<OrderIn>,
    /// Response-only now: a request carrying it is refused (§2.2, schwab-py issue #43).
    requested_destination: Option<Box<RawValue>>,
    // Fields Schwab takes that the model does not simulate.
    cancel_time: Option<Box<RawValue>>,
    release_time: Option<Box<RawValue>>,
    activation_price: Option<Box<RawValue>>,
    special_instruction: Option<Box<RawValue>>,
    tax_lot_method: Option<Box<RawValue>>,
    destination_link_name: Option<Box<RawValue>>,
    stop_price_link_basis: Option<Box<RawValue>>,
    stop_price_link_type: Option<Box<RawValue>>,
    stop_price_offset: Option<Box<RawValue>>,
    stop_type: Option<Box<RawValue>>,
    price_link_basis: Option<Box<RawValue>>,
    price_link_type: Option<Box<RawValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LegIn {
    instruction: String,
    quantity: Lenient,
    instrument: InstrumentIn,
    position_effect: Option<String>,
    quantity_type: Option<String>,
    div_cap_gains: Option<Box<RawValue>>,
    to_symbol: Option<Box<RawValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InstrumentIn {
    symbol: String,
    asset_type: String,
}

/// What a request comes to: one order, or a first order and the order
/// its fill triggers.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    Single(OrderRequest),
    Trigger {
        first: OrderRequest,
        then: OrderRequest,
    },
}

impl Placement {
    /// The order the request is answered for (its `Location`).
    pub fn first(&self) -> &OrderRequest {
        match self {
            Placement::Single(r) | Placement::Trigger { first: r, .. } => r,
        }
    }
}

/// Reads a request body: broken JSON, a wrong type, an unknown key or a
/// number that is none are all Schwab's 400 validation error.
pub fn parse(account: &str, body: &[u8]) -> Result<Placement, SchwabError> {
    let order: OrderIn = serde_json::from_slice(body).map_err(|e| {
        // serde names the offending key; the body itself is not echoed.
        SchwabError::invalid(format!("Invalid order request: {e}"))
    })?;
    placement(account, order)
}

fn placement(account: &str, o: OrderIn) -> Result<Placement, SchwabError> {
    let strategy = o.order_strategy_type.as_deref().unwrap_or_default();
    match strategy {
        "SINGLE" if o.child_order_strategies.is_empty() => {
            Ok(Placement::Single(single(account, &o)?))
        }
        "SINGLE" => Err(SchwabError::invalid(
            "a SINGLE order takes no childOrderStrategies",
        )),
        "TRIGGER" => {
            let mut children = o.child_order_strategies.iter();
            let (Some(child), None) = (children.next(), children.next()) else {
                return Err(SchwabError::not_simulated(
                    "A TRIGGER order with other than one child order",
                ));
            };
            if child.order_strategy_type.as_deref() != Some("SINGLE")
                || !child.child_order_strategies.is_empty()
            {
                return Err(SchwabError::not_simulated(
                    "A TRIGGER whose child is not a SINGLE order (OCO brackets included)",
                ));
            }
            Ok(Placement::Trigger {
                first: single(account, &o)?,
                then: single(account, child)?,
            })
        }
        "OCO" | "CANCEL" | "RECALL" | "PAIR" | "FLATTEN" | "TWO_DAY_SWAP" | "BLAST_ALL" => Err(
            SchwabError::not_simulated(&format!("orderStrategyType {strategy}")),
        ),
        "" => Err(SchwabError::invalid("orderStrategyType is required")),
        other => Err(SchwabError::invalid(format!(
            "Invalid orderStrategyType: {other:.32}"
        ))),
    }
}

/// Refuses the fields the model does not simulate, naming the first.
fn unsimulated_fields(o: &OrderIn) -> Result<(), SchwabError> {
    if o.requested_destination.is_some() {
        return Err(SchwabError::invalid(
            "requestedDestination is not a supported field",
        ));
    }
    let present = [
        ("cancelTime", o.cancel_time.is_some()),
        ("releaseTime", o.release_time.is_some()),
        ("activationPrice", o.activation_price.is_some()),
        ("specialInstruction", o.special_instruction.is_some()),
        ("taxLotMethod", o.tax_lot_method.is_some()),
        ("destinationLinkName", o.destination_link_name.is_some()),
        ("stopPriceLinkBasis", o.stop_price_link_basis.is_some()),
        ("stopPriceLinkType", o.stop_price_link_type.is_some()),
        ("stopPriceOffset", o.stop_price_offset.is_some()),
        ("stopType", o.stop_type.is_some()),
        ("priceLinkBasis", o.price_link_basis.is_some()),
        ("priceLinkType", o.price_link_type.is_some()),
    ];
    match present.iter().find(|(_, here)| *here) {
        Some((name, _)) => Err(SchwabError::not_simulated(&format!("The field {name}"))),
        None => Ok(()),
    }
}

fn duration(word: Option<&str>) -> Result<TimeInForce, SchwabError> {
    match word {
        Some("DAY") => Ok(TimeInForce::Day),
        Some("GOOD_TILL_CANCEL") => Ok(TimeInForce::Gtc),
        Some("IMMEDIATE_OR_CANCEL") => Ok(TimeInForce::Ioc),
        Some("FILL_OR_KILL") => Ok(TimeInForce::Fok),
        Some(w @ ("END_OF_WEEK" | "END_OF_MONTH" | "NEXT_END_OF_MONTH")) => {
            Err(SchwabError::not_simulated(&format!("duration {w}")))
        }
        Some(other) => Err(SchwabError::invalid(format!(
            "Invalid order duration: {other:.32}"
        ))),
        None => Err(SchwabError::invalid("duration is required")),
    }
}

/// The engine's type for a one-leg order, or None for a net-priced one.
fn order_type(word: Option<&str>) -> Result<Option<OrderType>, SchwabError> {
    match word {
        Some("MARKET") => Ok(Some(OrderType::Market)),
        Some("LIMIT") => Ok(Some(OrderType::Limit)),
        Some("STOP") => Ok(Some(OrderType::Stop)),
        Some("STOP_LIMIT") => Ok(Some(OrderType::StopLimit)),
        Some("NET_DEBIT" | "NET_CREDIT") => Ok(None),
        Some(
            w @ ("TRAILING_STOP"
            | "CABINET"
            | "NON_MARKETABLE"
            | "MARKET_ON_CLOSE"
            | "EXERCISE"
            | "TRAILING_STOP_LIMIT"
            | "NET_ZERO"
            | "LIMIT_ON_CLOSE"),
        ) => Err(SchwabError::not_simulated(&format!("orderType {w}"))),
        Some(other) => Err(SchwabError::invalid(format!(
            "Invalid orderType: {other:.32}"
        ))),
        None => Err(SchwabError::invalid("orderType is required")),
    }
}

fn instrument(i: &InstrumentIn) -> Result<Instrument, SchwabError> {
    match i.asset_type.as_str() {
        "EQUITY" if !i.symbol.is_empty() && i.symbol.len() <= 32 => {
            Ok(Instrument::equity(i.symbol.clone()))
        }
        "EQUITY" => Err(SchwabError::invalid("instrument.symbol is required")),
        // OCC symbols, padded to 21 characters (§7); the TDA form is gone.
        "OPTION" => i
            .symbol
            .parse::<OccSymbol>()
            .map(Instrument::option)
            .map_err(|_| SchwabError::invalid(format!("Invalid option symbol: {:.32}", i.symbol))),
        w @ ("INDEX"
        | "MUTUAL_FUND"
        | "CASH_EQUIVALENT"
        | "FIXED_INCOME"
        | "CURRENCY"
        | "COLLECTIVE_INVESTMENT") => Err(SchwabError::not_simulated(&format!(
            "Trading assetType {w}"
        ))),
        other => Err(SchwabError::invalid(format!(
            "Invalid assetType: {other:.32}"
        ))),
    }
}

/// A leg's side and position effect from its instruction (§2.2). Equities
/// carry the effect too: SELL and BUY_TO_COVER close a position (the engine
/// refuses them beyond what is held: Schwab's oversold/overbought),
/// BUY and SELL_SHORT open one.
fn instruction(word: &str, option: bool) -> Result<(Side, PositionEffect), SchwabError> {
    use PositionEffect::{Close, Open};
    let pair = match (word, option) {
        ("BUY", false) => (Side::Buy, Open),
        ("SELL", false) => (Side::Sell, Close),
        ("SELL_SHORT", false) => (Side::Sell, Open),
        ("BUY_TO_COVER", false) => (Side::Buy, Close),
        ("BUY_TO_OPEN", true) => (Side::Buy, Open),
        ("BUY_TO_CLOSE", true) => (Side::Buy, Close),
        ("SELL_TO_OPEN", true) => (Side::Sell, Open),
        ("SELL_TO_CLOSE", true) => (Side::Sell, Close),
        (w @ ("SELL_SHORT_EXEMPT" | "EXCHANGE"), _) => {
            return Err(SchwabError::not_simulated(&format!("instruction {w}")))
        }
        (w, _) => {
            return Err(SchwabError::invalid(format!(
                "Invalid instruction {w:.32} for a{} leg",
                if option { "n OPTION" } else { "n EQUITY" }
            )))
        }
    };
    Ok(pair)
}

fn whole_positive(q: Decimal, what: &str) -> Result<Decimal, SchwabError> {
    if q <= Decimal::ZERO || !q.fract().is_zero() {
        return Err(SchwabError::invalid(format!(
            "{what} must be a positive whole number"
        )));
    }
    Ok(q.normalize())
}

fn positive(p: Option<Lenient>, what: &str) -> Result<Option<Decimal>, SchwabError> {
    match p {
        Some(Lenient(v)) if v <= Decimal::ZERO => Err(SchwabError::invalid(format!(
            "{what} must be greater than zero"
        ))),
        Some(Lenient(v)) => Ok(Some(v.normalize())),
        None => Ok(None),
    }
}

/// A leg's `positionEffect`, where given, must agree with its instruction.
fn effect_agrees(l: &LegIn, effect: PositionEffect) -> Result<(), SchwabError> {
    let contradicts = matches!(
        (l.position_effect.as_deref(), effect),
        (Some("OPENING"), PositionEffect::Close) | (Some("CLOSING"), PositionEffect::Open)
    );
    if contradicts {
        return Err(SchwabError::invalid(format!(
            "positionEffect does not agree with instruction {:.32}",
            l.instruction
        )));
    }
    Ok(())
}

fn leg_checks(l: &LegIn) -> Result<(), SchwabError> {
    if l.div_cap_gains.is_some() || l.to_symbol.is_some() {
        return Err(SchwabError::not_simulated("divCapGains and toSymbol"));
    }
    match l.quantity_type.as_deref() {
        None | Some("SHARES") => {}
        Some(w @ ("DOLLARS" | "ALL_SHARES")) => {
            return Err(SchwabError::not_simulated(&format!("quantityType {w}")))
        }
        Some(w) => {
            return Err(SchwabError::invalid(format!(
                "Invalid quantityType: {w:.32}"
            )))
        }
    }
    match l.position_effect.as_deref() {
        None | Some("OPENING" | "CLOSING" | "AUTOMATIC") => Ok(()),
        Some(w) => Err(SchwabError::invalid(format!(
            "Invalid positionEffect: {w:.32}"
        ))),
    }
}

/// One order (no children) as the engine's request.
fn single(account: &str, o: &OrderIn) -> Result<OrderRequest, SchwabError> {
    unsimulated_fields(o)?;
    match o.session.as_deref() {
        Some("NORMAL") => {}
        Some(w @ ("AM" | "PM" | "SEAMLESS")) => {
            return Err(SchwabError::not_simulated(&format!(
                "session {w} (extended hours)"
            )))
        }
        Some(w) => return Err(SchwabError::invalid(format!("Invalid session: {w:.32}"))),
        None => return Err(SchwabError::invalid("session is required")),
    }
    let tif = duration(o.duration.as_deref())?;
    let kind = order_type(o.order_type.as_deref())?;
    let price = positive(o.price, "price")?;
    let stop = positive(o.stop_price, "stopPrice")?;
    for l in &o.order_leg_collection {
        leg_checks(l)?;
    }
    let base = OrderRequest {
        account_id: account.to_string(),
        // Schwab orders carry no client order id (§4).
        client_order_id: String::new(),
        instrument: Instrument::equity(""),
        side: Side::Buy,
        position_effect: None,
        quantity: Decimal::ZERO,
        order_type: OrderType::Limit,
        limit_price: price,
        stop_price: None,
        time_in_force: tif,
        legs: None,
        trail: None,
    };
    match (kind, o.order_leg_collection.as_slice()) {
        (_, []) => Err(SchwabError::invalid("orderLegCollection is required")),
        (Some(kind), [leg]) => one_leg(base, kind, leg, stop, o),
        (Some(_), _) => Err(SchwabError::invalid(
            "an order of several legs is NET_DEBIT or NET_CREDIT",
        )),
        (None, legs) => net(base, o, legs, stop),
    }
}

fn one_leg(
    base: OrderRequest,
    kind: OrderType,
    leg: &LegIn,
    stop: Option<Decimal>,
    o: &OrderIn,
) -> Result<OrderRequest, SchwabError> {
    let instrument = instrument(&leg.instrument)?;
    let (side, effect) = instruction(&leg.instruction, instrument.is_option())?;
    effect_agrees(leg, effect)?;
    let needs_price = matches!(kind, OrderType::Limit | OrderType::StopLimit);
    let needs_stop = matches!(kind, OrderType::Stop | OrderType::StopLimit);
    if needs_price != base.limit_price.is_some() {
        return Err(SchwabError::invalid(if needs_price {
            "price is required for this orderType"
        } else {
            "price is not allowed for this orderType"
        }));
    }
    if needs_stop != stop.is_some() {
        return Err(SchwabError::invalid(if needs_stop {
            "stopPrice is required for this orderType"
        } else {
            "stopPrice is not allowed for this orderType"
        }));
    }
    if kind == OrderType::Market && base.time_in_force == TimeInForce::Gtc {
        return Err(SchwabError::invalid(
            "Invalid order duration: GOOD_TILL_CANCEL is not allowed for MARKET orders",
        ));
    }
    if o.quantity.is_some_and(|q| q.0 != leg.quantity.0) {
        return Err(SchwabError::invalid(
            "quantity must equal the leg's quantity for a one-leg order",
        ));
    }
    Ok(OrderRequest {
        instrument,
        side,
        position_effect: Some(effect),
        quantity: whole_positive(leg.quantity.0, "quantity")?,
        order_type: kind,
        stop_price: stop,
        ..base
    })
}

/// A spread: several OPTION legs at a positive net price per spread
/// (§2.2, §6); NET_DEBIT buys it, NET_CREDIT sells it. Each leg's quantity
/// is its ratio times the order's quantity.
fn net(
    base: OrderRequest,
    o: &OrderIn,
    legs: &[LegIn],
    stop: Option<Decimal>,
) -> Result<OrderRequest, SchwabError> {
    let side = match o.order_type.as_deref() {
        Some("NET_CREDIT") => Side::Sell,
        _ => Side::Buy,
    };
    if stop.is_some() {
        return Err(SchwabError::invalid(
            "stopPrice is not allowed for this orderType",
        ));
    }
    if base.limit_price.is_none() {
        return Err(SchwabError::invalid("price is required for this orderType"));
    }
    if legs.len() < 2 || legs.len() > 4 {
        return Err(SchwabError::invalid("a net-priced order has 2 to 4 legs"));
    }
    if o.complex_order_strategy_type.as_deref() == Some("NONE") {
        return Err(SchwabError::invalid(
            "complexOrderStrategyType must name the combination of a multi-leg order",
        ));
    }
    let spreads = match o.quantity {
        Some(q) => whole_positive(q.0, "quantity")?,
        None => {
            return Err(SchwabError::invalid(
                "quantity is required for a multi-leg order",
            ))
        }
    };
    let mut out = Vec::new();
    for l in legs {
        let instrument = instrument(&l.instrument)?;
        if !instrument.is_option() {
            return Err(SchwabError::not_simulated(
                "A multi-leg order with an EQUITY leg",
            ));
        }
        let (leg_side, effect) = instruction(&l.instruction, true)?;
        effect_agrees(l, effect)?;
        let qty = whole_positive(l.quantity.0, "quantity")?;
        let ratio = qty
            .checked_div(spreads)
            .filter(|r| r.fract().is_zero() && !r.is_zero())
            .ok_or_else(|| {
                SchwabError::invalid("each leg's quantity must be a multiple of the order's")
            })?;
        out.push(Leg {
            instrument,
            side: leg_side,
            position_effect: Some(effect),
            ratio_quantity: ratio.normalize(),
        });
    }
    let underlying = out
        .first()
        .map(|l| l.instrument.underlying().to_string())
        .unwrap_or_default();
    Ok(OrderRequest {
        instrument: Instrument::equity(underlying),
        side,
        // Each leg carries its own effect; the spread as a whole has none.
        position_effect: None,
        quantity: spreads,
        order_type: OrderType::Limit,
        legs: Some(out),
        ..base
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Result<Placement, SchwabError> {
        parse("12345678", body.as_bytes())
    }

    const LIMIT: &str = r#"{"session":"NORMAL","duration":"DAY","orderType":"LIMIT","price":"10.00",
        "orderStrategyType":"SINGLE","orderLegCollection":[{"instruction":"SELL_SHORT",
        "instrument":{"assetType":"EQUITY","symbol":"INTC"},"quantity":2}]}"#;

    #[test]
    fn schwab_py_shapes_read_as_engine_requests() {
        let Placement::Single(r) = read(LIMIT).unwrap() else {
            panic!("single")
        };
        assert_eq!(
            (r.side, r.position_effect),
            (Side::Sell, Some(PositionEffect::Open))
        );
        assert_eq!(r.limit_price, Some(Decimal::TEN));
        assert_eq!(r.quantity, Decimal::TWO);
        assert!(r.client_order_id.is_empty());
        let spread = r#"{"orderType":"NET_CREDIT","session":"NORMAL","price":"0.01","duration":"DAY",
            "orderStrategyType":"SINGLE","complexOrderStrategyType":"VERTICAL","quantity":1,
            "orderLegCollection":[
              {"instruction":"SELL_TO_OPEN","instrument":{"assetType":"OPTION","symbol":"AAPL  260116C00200000"},"quantity":1},
              {"instruction":"BUY_TO_OPEN","instrument":{"assetType":"OPTION","symbol":"AAPL  260116C00210000"},"quantity":1}]}"#;
        let Placement::Single(r) = read(spread).unwrap() else {
            panic!("single")
        };
        assert_eq!(r.side, Side::Sell);
        assert_eq!(r.legs.as_ref().map(Vec::len), Some(2));
    }

    #[test]
    fn refusals_are_validation_errors_or_loud() {
        let with = |extra: &str| read(&LIMIT.replacen('{', &format!("{{{extra},"), 1));
        let text = |r: Result<Placement, SchwabError>| format!("{:?}", r.unwrap_err());
        assert!(text(with(r#""requestedDestination":"AUTO""#)).contains("requestedDestination"));
        assert!(text(with(r#""cancelTime":"2026-01-01""#)).contains("not simulated"));
        assert!(text(with(r#""orderId":1"#)).contains("orderId"));
        assert!(text(read(&LIMIT.replace("NORMAL", "SEAMLESS"))).contains("not simulated"));
        assert!(text(read(&LIMIT.replace("\"10.00\"", "\"-1\""))).contains("greater than zero"));
        assert!(text(read(&LIMIT.replace("\"quantity\":2", "\"quantity\":1.5"))).contains("whole"));
        assert!(text(read(&LIMIT.replace("SELL_SHORT", "BUY_TO_OPEN"))).contains("instruction"));
        assert!(text(read(&LIMIT.replace("SINGLE", "OCO"))).contains("not simulated"));
        assert!(read("[]").is_err() && read("{").is_err() && read("").is_err());
        let market_gtc = LIMIT
            .replace("\"LIMIT\",\"price\":\"10.00\"", "\"MARKET\"")
            .replace("DAY", "GOOD_TILL_CANCEL");
        assert!(text(read(&market_gtc)).contains("GOOD_TILL_CANCEL is not allowed"));
    }
}
