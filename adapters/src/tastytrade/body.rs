//! A contract order → tastytrade's JSON body (reference §2.2, §2.8).
//! Prices are never signed: a buy (or a spread bought) is a `Debit`, a sell
//! (or a spread sold) a `Credit`. Every leg says to open or to close;
//! options and spreads carry the contract's position effects and ask for
//! strict validation, so a close the account cannot make is refused
//! instead of silently opening a position (§2.2). Equities have no
//! position effect in the contract: theirs follows the position held.
//! Anything tastytrade cannot take is refused here, before a request leaves.

use rust_decimal::Decimal;
use serde::Serialize;

use super::models::Order as TtOrder;
use crate::contract::{Instrument, Order, OrderType, PositionEffect, Replace, Side, TimeInForce};
use crate::error::{AdapterError, Result};

/// What this adapter says it is in `source` (free text, §2.2).
const SOURCE: &str = "raxx-adapters";

/// tastytrade takes up to four legs at one net price (§2.2).
const MAX_LEGS: usize = 4;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct LegBody {
    pub instrument_type: &'static str,
    pub symbol: String,
    pub quantity: String,
    pub action: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Advanced {
    pub strict_position_effect_validation: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct OrderBody {
    pub time_in_force: &'static str,
    pub order_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_effect: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_trigger: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legs: Option<Vec<LegBody>>,
    pub external_identifier: String,
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advanced_instructions: Option<Advanced>,
}

pub fn tif_word(t: TimeInForce) -> Result<&'static str> {
    match t {
        TimeInForce::Day => Ok("Day"),
        TimeInForce::Gtc => Ok("GTC"),
        TimeInForce::Ioc => Ok("IOC"),
        TimeInForce::Fok => Err(AdapterError::unsupported(
            "tastytrade has no fill-or-kill time in force (Day, GTC, IOC)",
        )),
    }
}

fn type_word(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "Market",
        OrderType::Limit => "Limit",
        OrderType::Stop => "Stop",
        OrderType::StopLimit => "Stop Limit",
    }
}

fn action(side: Side, effect: PositionEffect) -> &'static str {
    match (side, effect) {
        (Side::Buy, PositionEffect::Open) => "Buy to Open",
        (Side::Buy, PositionEffect::Close) => "Buy to Close",
        (Side::Sell, PositionEffect::Open) => "Sell to Open",
        (Side::Sell, PositionEffect::Close) => "Sell to Close",
    }
}

/// The direction of a price on the side that pays or receives it.
pub fn price_effect(side: Side) -> &'static str {
    match side {
        Side::Buy => "Debit",
        Side::Sell => "Credit",
    }
}

fn amount(d: Decimal) -> Result<String> {
    if d <= Decimal::ZERO {
        return Err(AdapterError::invalid_request(format!(
            "prices are positive (the direction is the side), got {d}"
        )));
    }
    Ok(d.normalize().to_string())
}

fn whole(q: Decimal) -> Result<String> {
    if q <= Decimal::ZERO {
        return Err(AdapterError::invalid_request(format!(
            "quantity must be positive, got {q}"
        )));
    }
    if !q.fract().is_zero() {
        return Err(AdapterError::unsupported(format!(
            "this adapter sends whole quantities only (fractional shares need Notional Market orders), got {q}"
        )));
    }
    Ok(q.normalize().to_string())
}

fn symbol(i: &Instrument) -> (&'static str, String) {
    match i {
        Instrument::Equity { symbol } => ("Equity", symbol.clone()),
        // The padded OCC form tastytrade's instruments carry (§7).
        Instrument::Option { occ } => ("Equity Option", occ.to_string()),
    }
}

/// Whether the equity action depends on the position held (always for a
/// single-leg equity order; never for options, which say it themselves).
pub fn needs_position(o: &Order) -> bool {
    !o.is_multi_leg() && !o.instrument.is_option()
}

/// An equity's action from the position: closing what is held (a sell of
/// a long, a buy of a short), opening otherwise. A sell past the long
/// position is sent as a close, which tastytrade (without strict
/// validation) turns into an open and the order crosses zero.
fn equity_effect(side: Side, held: Decimal) -> PositionEffect {
    match side {
        Side::Sell if held > Decimal::ZERO => PositionEffect::Close,
        Side::Buy if held < Decimal::ZERO => PositionEffect::Close,
        _ => PositionEffect::Open,
    }
}

fn option_effect(effect: Option<PositionEffect>) -> Result<PositionEffect> {
    effect.ok_or_else(|| {
        AdapterError::invalid_request("an option order needs a position_effect (open or close)")
    })
}

/// The submit body of `o`; `held` is the account's position in an equity
/// order's instrument.
pub fn order(o: &Order, held: Decimal) -> Result<OrderBody> {
    let tif = tif_word(o.time_in_force)?;
    let (legs, strict) = match o.legs.as_deref() {
        Some(legs) if !legs.is_empty() => {
            if legs.len() > MAX_LEGS {
                return Err(AdapterError::unsupported(format!(
                    "tastytrade takes up to {MAX_LEGS} legs, got {}",
                    legs.len()
                )));
            }
            let body = legs
                .iter()
                .map(|l| {
                    let (kind, symbol) = symbol(&l.instrument);
                    Ok(LegBody {
                        instrument_type: kind,
                        symbol,
                        quantity: whole(l.ratio_quantity.checked_mul(o.quantity).ok_or_else(
                            || AdapterError::invalid_request("a leg's quantity is too large"),
                        )?)?,
                        action: action(l.side, option_effect(l.position_effect)?),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            (body, true)
        }
        _ => {
            let (kind, symbol) = symbol(&o.instrument);
            let (effect, strict) = if o.instrument.is_option() {
                (option_effect(o.position_effect)?, true)
            } else {
                (equity_effect(o.side, held), false)
            };
            let leg = LegBody {
                instrument_type: kind,
                symbol,
                quantity: whole(o.quantity)?,
                action: action(o.side, effect),
            };
            (vec![leg], strict)
        }
    };
    let priced = matches!(o.order_type, OrderType::Limit | OrderType::StopLimit);
    let stopped = matches!(o.order_type, OrderType::Stop | OrderType::StopLimit);
    let price = match (priced, o.limit_price) {
        (true, Some(p)) => Some(amount(p)?),
        (true, None) => {
            return Err(AdapterError::invalid_request(
                "a limit order needs a limit_price",
            ))
        }
        (false, _) => None,
    };
    let stop_trigger = match (stopped, o.stop_price) {
        (true, Some(p)) => Some(amount(p)?),
        (true, None) => {
            return Err(AdapterError::invalid_request(
                "a stop order needs a stop_price",
            ))
        }
        (false, _) => None,
    };
    Ok(OrderBody {
        time_in_force: tif,
        order_type: type_word(o.order_type),
        price_effect: price.as_ref().map(|_| price_effect(o.side)),
        price,
        stop_trigger,
        legs: Some(legs),
        external_identifier: o.client_order_id.clone(),
        source: SOURCE,
        advanced_instructions: strict.then_some(Advanced {
            strict_position_effect_validation: true,
        }),
    })
}

/// The replace body (PUT, §2.8): the order-level fields of `current` with
/// `changes` applied, and no legs (tastytrade keeps the original's, so a
/// quantity cannot change: refused before anything is sent).
pub fn replacement(current: &TtOrder, size: Decimal, changes: &Replace) -> Result<OrderBody> {
    if changes.quantity.is_some_and(|q| q != size) {
        return Err(AdapterError::unsupported(
            "tastytrade's replace keeps the original order's legs: its quantity cannot change",
        ));
    }
    let tif = match changes.time_in_force {
        Some(t) => tif_word(t)?,
        None => static_word(&current.time_in_force, &["Day", "GTC", "IOC"])?,
    };
    let order_type = static_word(
        &current.order_type,
        &["Limit", "Market", "Stop", "Stop Limit"],
    )?;
    let priced = matches!(order_type, "Limit" | "Stop Limit");
    let stopped = matches!(order_type, "Stop" | "Stop Limit");
    if changes.limit_price.is_some() && !priced {
        return Err(AdapterError::invalid_request(
            "this order takes no limit price",
        ));
    }
    if changes.stop_price.is_some() && !stopped {
        return Err(AdapterError::invalid_request(
            "this order takes no stop price",
        ));
    }
    let price = changes
        .limit_price
        .or(current.price.map(|p| p.0))
        .filter(|_| priced)
        .map(amount)
        .transpose()?;
    let price_effect = match (&price, current.price_effect.as_deref()) {
        (None, _) => None,
        (Some(_), Some("Debit")) => Some("Debit"),
        (Some(_), Some("Credit")) => Some("Credit"),
        (Some(_), other) => {
            return Err(AdapterError::unknown(format!(
                "the order to replace has a price without a known price-effect ({other:?})"
            )))
        }
    };
    let stop_trigger = changes
        .stop_price
        .or(current.stop_trigger.map(|p| p.0))
        .filter(|_| stopped)
        .map(amount)
        .transpose()?;
    Ok(OrderBody {
        time_in_force: tif,
        order_type,
        price,
        price_effect,
        stop_trigger,
        legs: None,
        external_identifier: changes
            .client_order_id
            .clone()
            .or_else(|| current.external_identifier.clone())
            .unwrap_or_default(),
        source: SOURCE,
        advanced_instructions: None,
    })
}

/// `word` as one of tastytrade's own words, which this adapter knows.
fn static_word(word: &str, known: &[&'static str]) -> Result<&'static str> {
    known.iter().copied().find(|k| *k == word).ok_or_else(|| {
        AdapterError::unsupported(format!(
            "this adapter cannot replace an order of kind {word:.40}"
        ))
    })
}

/// Whether `o` shows the changes a replace asked for (the read-back after
/// an ambiguous replace).
pub fn carries(o: &TtOrder, changes: &Replace) -> bool {
    let price_ok = changes
        .limit_price
        .is_none_or(|p| o.price.is_some_and(|x| x.0 == p));
    let stop_ok = changes
        .stop_price
        .is_none_or(|p| o.stop_trigger.is_some_and(|x| x.0 == p));
    let tif_ok = changes
        .time_in_force
        .is_none_or(|t| tif_word(t).is_ok_and(|w| w == o.time_in_force));
    price_ok && stop_ok && tif_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Leg;
    use rust_decimal_macros::dec;

    #[test]
    fn a_credit_spread_is_a_credit_and_a_buy_a_debit() {
        let spread = Order {
            client_order_id: "c".into(),
            instrument: Instrument::equity("AAPL"),
            side: Side::Sell,
            position_effect: Some(PositionEffect::Open),
            quantity: dec!(2),
            order_type: OrderType::Limit,
            limit_price: Some(dec!(0.45)),
            stop_price: None,
            time_in_force: TimeInForce::Day,
            legs: Some(vec![
                Leg {
                    instrument: Instrument::option("AAPL  260116C00200000".parse().unwrap()),
                    side: Side::Sell,
                    position_effect: Some(PositionEffect::Open),
                    ratio_quantity: dec!(1),
                },
                Leg {
                    instrument: Instrument::option("AAPL  260116C00210000".parse().unwrap()),
                    side: Side::Buy,
                    position_effect: Some(PositionEffect::Open),
                    ratio_quantity: dec!(1),
                },
            ]),
            exits: None,
        };
        let b = order(&spread, Decimal::ZERO).unwrap();
        let json = serde_json::to_value(&b).unwrap();
        assert_eq!(json["price"], "0.45");
        assert_eq!(json["price-effect"], "Credit");
        assert_eq!(json["legs"][0]["symbol"], "AAPL  260116C00200000");
        assert_eq!(json["legs"][1]["quantity"], "2");
        assert_eq!(
            json["advanced-instructions"]["strict-position-effect-validation"],
            true
        );
        let buy = Order::limit("c", "AAPL", Side::Buy, dec!(1), dec!(1.5));
        let json = serde_json::to_value(order(&buy, Decimal::ZERO).unwrap()).unwrap();
        assert_eq!(
            (
                json["price-effect"].as_str(),
                json["legs"][0]["action"].as_str()
            ),
            (Some("Debit"), Some("Buy to Open"))
        );
        let sell = Order::market("c", "AAPL", Side::Sell, dec!(8));
        let json = serde_json::to_value(order(&sell, dec!(5)).unwrap()).unwrap();
        assert_eq!(json["legs"][0]["action"], "Sell to Close");
        assert!(json.get("price-effect").is_none());
        let mut fok = buy.clone();
        fok.time_in_force = TimeInForce::Fok;
        assert!(order(&fok, Decimal::ZERO).is_err());
    }
}
