//! Bracket, OTO and OCO orders (reference §2.1, §3.2): an order and the
//! exits tied to it, checked as Alpaca checks them and handed to the
//! brokerage's order groups. A bracket's or OTO's exits are `held` until
//! the entry fills, then live at its filled quantity; an OCO is a
//! take-profit limit (the order itself) and a stop exit, both live, the
//! first fill cancelling the other.
//!
//! Where the reference leaves a refusal's message open, the one used says
//! so beside it. The `base_price` rules and their words are Alpaca's
//! (its forum's answer on "take_profit.limit_price must be <= base_price -
//! 0.01"): the base is the entry's limit (or stop) price, or the quote it
//! would fill at for a market entry.

use rust_decimal::Decimal;

use mbt::{OrderRequest, OrderType, Side, TimeInForce};

use super::errors::AlpacaError;
use super::rules::{amount, Context};
use super::state::OrderExtras;
use super::wire::{StopLoss, TakeProfit};
use crate::brokerage::OrderClass;

/// The smallest step a take-profit or stop must keep from the base price.
const CENT: Decimal = Decimal::from_parts(1, 0, 0, false, 2);

/// The exits an order carries, for the brokerage's `submit_group`.
#[derive(Debug, Clone, PartialEq)]
pub struct Exits {
    pub class: OrderClass,
    pub orders: Vec<OrderRequest>,
}

/// The class an `order_class` word names, for the classes that tie orders.
pub fn class_of(word: &str) -> Option<OrderClass> {
    match word {
        "bracket" => Some(OrderClass::Bracket),
        "oto" => Some(OrderClass::Oto),
        "oco" => Some(OrderClass::Oco),
        _ => None,
    }
}

pub fn class_word(class: OrderClass) -> &'static str {
    match class {
        OrderClass::Bracket => "bracket",
        OrderClass::Oto => "oto",
        OrderClass::Oco => "oco",
    }
}

/// An exit's prices as sent, read into decimals.
struct Prices {
    take_profit: Option<Decimal>,
    stop: Option<(Decimal, Option<Decimal>)>,
}

fn prices(
    cx: &Context,
    take_profit: Option<TakeProfit>,
    stop_loss: Option<StopLoss>,
) -> Result<Prices, AlpacaError> {
    let take_profit = take_profit
        .map(|tp| {
            tp.limit_price
                .map(|p| amount(cx, p))
                .transpose()?
                // Message not in the reference (§2.1: limit_price is the object's one field).
                .ok_or_else(|| AlpacaError::invalid("take_profit.limit_price is required"))
        })
        .transpose()?;
    let stop = stop_loss
        .map(|sl| {
            let stop = sl
                .stop_price
                .map(|p| amount(cx, p))
                .transpose()?
                // Message not in the reference (§2.1: "stop_price mandatory").
                .ok_or_else(|| AlpacaError::invalid("stop_loss.stop_price is required"))?;
            let limit = sl.limit_price.map(|p| amount(cx, p)).transpose()?;
            Ok::<_, AlpacaError>((stop, limit))
        })
        .transpose()?;
    Ok(Prices { take_profit, stop })
}

/// The price Alpaca measures a bracket's or OTO's exits from.
fn base_price(cx: &Context, entry: &OrderRequest) -> Option<Decimal> {
    match entry.order_type {
        OrderType::Limit | OrderType::StopLimit => entry.limit_price,
        OrderType::Stop => entry.stop_price,
        OrderType::Market => {
            cx.b.engine()
                .quote(&entry.instrument)
                .map(|q| match entry.side {
                    Side::Buy => q.ask,
                    Side::Sell => q.bid,
                })
        }
    }
}

/// `price` keeps at least a cent above (or below) the base, or Alpaca's
/// refusal naming the field and the rule.
fn clear_of_base(
    field: &str,
    price: Decimal,
    base: Decimal,
    above: bool,
) -> Result<(), AlpacaError> {
    let (ok, rule) = if above {
        let edge = base.checked_add(CENT);
        (edge.is_some_and(|e| price >= e), ">= base_price + 0.01")
    } else {
        let edge = base.checked_sub(CENT);
        (edge.is_some_and(|e| price <= e), "<= base_price - 0.01")
    };
    if ok {
        Ok(())
    } else {
        Err(AlpacaError::unprocessable(format!(
            "{field} must be {rule}"
        )))
    }
}

/// A long entry takes profit above the base and stops below it; a short
/// entry the other way round.
fn check_against_base(cx: &Context, entry: &OrderRequest, p: &Prices) -> Result<(), AlpacaError> {
    let Some(base) = base_price(cx, entry) else {
        // No quote: the entry itself is refused for it further on.
        return Ok(());
    };
    let long = entry.side == Side::Buy;
    if let Some(tp) = p.take_profit {
        clear_of_base("take_profit.limit_price", tp, base, long)?;
    }
    if let Some((stop, _)) = p.stop {
        clear_of_base("stop_loss.stop_price", stop, base, !long)?;
    }
    Ok(())
}

/// The exit orders: same instrument, quantity and time in force as the
/// order, each with its own (generated) client order id.
fn exit_orders(order: &OrderRequest, side: Side, p: &Prices) -> Vec<OrderRequest> {
    let exit = |order_type, limit_price, stop_price| OrderRequest {
        client_order_id: String::new(),
        side,
        position_effect: None,
        order_type,
        limit_price,
        stop_price,
        legs: None,
        ..order.clone()
    };
    let mut exits = Vec::new();
    if let Some(tp) = p.take_profit {
        exits.push(exit(OrderType::Limit, Some(tp), None));
    }
    if let Some((stop, limit)) = p.stop {
        let kind = if limit.is_some() {
            OrderType::StopLimit
        } else {
            OrderType::Stop
        };
        exits.push(exit(kind, limit, Some(stop)));
    }
    exits
}

/// Checks an order of a tying class and builds its exits. For OCO the
/// order is the take-profit limit itself, and its one exit the stop.
pub fn tie(
    cx: &Context,
    class: OrderClass,
    order: &OrderRequest,
    extras: &OrderExtras,
    take_profit: Option<TakeProfit>,
    stop_loss: Option<StopLoss>,
) -> Result<Exits, AlpacaError> {
    let word = class_word(class);
    // Messages not in the reference for the shape rules below (§2.1 names
    // the classes and their objects, the docs say equities, whole shares,
    // day or gtc, regular hours).
    if order.instrument.is_option() || order.is_multi_leg() {
        return Err(AlpacaError::invalid(format!(
            "{word} orders are only for equities"
        )));
    }
    if extras.notional.is_some() || !order.quantity.fract().is_zero() {
        return Err(AlpacaError::invalid(format!(
            "fractional orders cannot be {word} orders"
        )));
    }
    if extras.extended_hours {
        return Err(AlpacaError::invalid(format!(
            "extended hours orders cannot be {word} orders"
        )));
    }
    if !matches!(order.time_in_force, TimeInForce::Day | TimeInForce::Gtc) {
        return Err(AlpacaError::invalid(format!(
            "{word} orders must be day or gtc"
        )));
    }
    let p = prices(cx, take_profit, stop_loss)?;
    match class {
        OrderClass::Bracket if p.take_profit.is_none() || p.stop.is_none() => {
            return Err(AlpacaError::invalid(
                "bracket orders require take_profit and stop_loss",
            ));
        }
        OrderClass::Oto if p.take_profit.is_some() == p.stop.is_some() => {
            return Err(AlpacaError::invalid(
                "oto orders require one of take_profit and stop_loss",
            ));
        }
        OrderClass::Oco => {
            let (Some(tp), Some((stop, _))) = (p.take_profit, p.stop) else {
                return Err(AlpacaError::invalid(
                    "oco orders require take_profit and stop_loss",
                ));
            };
            if order.order_type != OrderType::Limit || order.limit_price != Some(tp) {
                return Err(AlpacaError::invalid(
                    "oco orders must be limit orders at take_profit.limit_price",
                ));
            }
            // The two exits close one position from either side of the price.
            let apart = match order.side {
                Side::Sell => stop < tp,
                Side::Buy => stop > tp,
            };
            if !apart {
                return Err(AlpacaError::unprocessable(
                    "stop_loss.stop_price must be on the losing side of take_profit.limit_price",
                ));
            }
            let stop_only = Prices {
                take_profit: None,
                stop: p.stop,
            };
            return Ok(Exits {
                class,
                orders: exit_orders(order, order.side, &stop_only),
            });
        }
        _ => {}
    }
    check_against_base(cx, order, &p)?;
    Ok(Exits {
        class,
        orders: exit_orders(order, order.side.opposite(), &p),
    })
}
