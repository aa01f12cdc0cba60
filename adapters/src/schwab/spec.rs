//! What the adapter asks Schwab for, typed (`Spec`): built from a contract
//! order (or from an order read back, for a replace), written out as
//! Schwab's `OrderRequest` (reference §2.2), and compared with the orders
//! Schwab lists when a submit's answer was lost.
//!
//! Schwab has no client order id and no idempotency key (§4): after an
//! ambiguous submit the only way to find the order is by what it is, with
//! the shared rule of [`crate::listing`] (time window, claimed ids, one,
//! none or several). What "what it is" means for Schwab is
//! `Spec::matches`: the legs (instruction, symbol, asset type, quantity),
//! order type, duration, price and stop price are the ones sent; the
//! window allows a minute of clock skew (`mod.rs`). Identical orders
//! placed in that window by anyone else (another app, the user on
//! schwab.com) look the same, and the rule says so instead of guessing.

use rust_decimal::Decimal;

use super::models::{self, Instrument, LegRequest, OrderRequest};
use crate::contract::{self, Order, OrderType, PositionEffect, Replace, Side, TimeInForce};
use crate::error::{AdapterError, Result};
use crate::json::Number;

/// One leg: the instruction, what is traded, and how many units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegSpec {
    pub instruction: String,
    pub instrument: Instrument,
    pub quantity: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub order_type: String,
    pub duration: String,
    pub price: Option<Decimal>,
    pub stop: Option<Decimal>,
    /// Spreads, for a multi-leg order (its legs carry their own quantities).
    pub quantity: Option<Decimal>,
    pub complex: Option<String>,
    pub legs: Vec<LegSpec>,
}

fn duration_word(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Day => "DAY",
        TimeInForce::Gtc => "GOOD_TILL_CANCEL",
        TimeInForce::Ioc => "IMMEDIATE_OR_CANCEL",
        TimeInForce::Fok => "FILL_OR_KILL",
    }
}

fn type_word(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "MARKET",
        OrderType::Limit => "LIMIT",
        OrderType::Stop => "STOP",
        OrderType::StopLimit => "STOP_LIMIT",
    }
}

fn instrument(i: &contract::Instrument) -> Instrument {
    Instrument {
        asset_type: if i.is_option() { "OPTION" } else { "EQUITY" }.to_string(),
        symbol: i.to_string(),
    }
}

/// An option leg's instruction, from its side and effect (§2.2).
fn option_instruction(side: Side, effect: Option<PositionEffect>) -> Result<&'static str> {
    Ok(match (side, effect) {
        (Side::Buy, Some(PositionEffect::Open)) => "BUY_TO_OPEN",
        (Side::Buy, Some(PositionEffect::Close)) => "BUY_TO_CLOSE",
        (Side::Sell, Some(PositionEffect::Open)) => "SELL_TO_OPEN",
        (Side::Sell, Some(PositionEffect::Close)) => "SELL_TO_CLOSE",
        (_, None) => {
            return Err(AdapterError::invalid_request(
                "an option order needs a position_effect (open or close)",
            ))
        }
    })
}

/// An equity instruction: Schwab names short sales and covers apart
/// (§2.2). A given effect decides; otherwise the position held does: a
/// sell while long is SELL (Schwab refuses it beyond the position,
/// Position_Sys_0001), a sell while flat or short is SELL_SHORT, a buy
/// while short is BUY_TO_COVER, any other buy is BUY. A sell that would
/// cross from long to short is one SELL, which Schwab refuses: the
/// contract's one order per intent cannot be split in two.
fn equity_instruction(side: Side, effect: Option<PositionEffect>, held: Decimal) -> &'static str {
    let closing = match effect {
        Some(PositionEffect::Close) => true,
        Some(PositionEffect::Open) => false,
        None => match side {
            Side::Sell => held > Decimal::ZERO,
            Side::Buy => held < Decimal::ZERO,
        },
    };
    match (side, closing) {
        (Side::Buy, false) => "BUY",
        (Side::Buy, true) => "BUY_TO_COVER",
        (Side::Sell, true) => "SELL",
        (Side::Sell, false) => "SELL_SHORT",
    }
}

/// Whether an order's instruction depends on the position held.
pub fn needs_position(order: &Order) -> bool {
    !order.is_multi_leg() && !order.instrument.is_option() && order.position_effect.is_none()
}

/// Two option legs of one expiry and right at two strikes, one bought and
/// one sold, in equal ratio: Schwab's VERTICAL; anything else CUSTOM.
fn complex_word(legs: &[contract::Leg]) -> &'static str {
    let vertical = match legs {
        [a, b] => match (&a.instrument, &b.instrument) {
            (contract::Instrument::Option { occ: x }, contract::Instrument::Option { occ: y }) => {
                x.expiry() == y.expiry()
                    && x.right() == y.right()
                    && x.strike() != y.strike()
                    && a.side != b.side
                    && a.ratio_quantity == b.ratio_quantity
            }
            _ => false,
        },
        _ => false,
    };
    if vertical {
        "VERTICAL"
    } else {
        "CUSTOM"
    }
}

impl Spec {
    /// The request for a contract order; `held` is the account's position
    /// in the order's equity (only read when `needs_position`).
    pub fn of(order: &Order, held: Decimal) -> Result<Self> {
        let duration = duration_word(order.time_in_force).to_string();
        if let Some(legs) = order.legs.as_deref().filter(|l| !l.is_empty()) {
            // A spread has a net price: NET_DEBIT to buy it, NET_CREDIT to sell (§2.2, §6).
            if order.order_type != OrderType::Limit || order.limit_price.is_none() {
                return Err(AdapterError::unsupported(
                    "Schwab takes multi-leg orders at a net limit price only (NET_DEBIT/NET_CREDIT)",
                ));
            }
            let mut out = Vec::new();
            for l in legs {
                if !l.instrument.is_option() {
                    return Err(AdapterError::unsupported(
                        "multi-leg orders with an equity leg are not supported",
                    ));
                }
                out.push(LegSpec {
                    instruction: option_instruction(l.side, l.position_effect)?.to_string(),
                    instrument: instrument(&l.instrument),
                    quantity: l
                        .ratio_quantity
                        .checked_mul(order.quantity)
                        .ok_or_else(|| {
                            AdapterError::invalid_request("leg quantity out of range")
                        })?,
                });
            }
            return Ok(Self {
                order_type: match order.side {
                    Side::Buy => "NET_DEBIT",
                    Side::Sell => "NET_CREDIT",
                }
                .to_string(),
                duration,
                price: order.limit_price,
                stop: None,
                quantity: Some(order.quantity),
                complex: Some(complex_word(legs).to_string()),
                legs: out,
            });
        }
        let instruction = if order.instrument.is_option() {
            option_instruction(order.side, order.position_effect)?
        } else {
            equity_instruction(order.side, order.position_effect, held)
        };
        Ok(Self {
            order_type: type_word(order.order_type).to_string(),
            duration,
            price: order.limit_price,
            stop: order.stop_price,
            quantity: None,
            complex: None,
            legs: vec![LegSpec {
                instruction: instruction.to_string(),
                instrument: instrument(&order.instrument),
                quantity: order.quantity,
            }],
        })
    }

    /// A replace is a complete order (§2.7): the order read back, with the
    /// changes. A quantity change scales a spread's legs by their ratios.
    pub fn replacing(o: &models::Order, changes: &Replace) -> Result<Self> {
        let unreadable = || AdapterError::unknown("Schwab's order lacks what a replace repeats");
        let spreads = o.quantity.map(|q| q.0).ok_or_else(unreadable)?;
        let new_quantity = changes.quantity.unwrap_or(spreads);
        let mut legs = Vec::new();
        for l in &o.order_leg_collection {
            let quantity = if o.order_leg_collection.len() > 1 {
                l.quantity
                    .0
                    .checked_div(spreads)
                    .and_then(|ratio| ratio.checked_mul(new_quantity))
                    .ok_or_else(unreadable)?
            } else {
                new_quantity
            };
            legs.push(LegSpec {
                instruction: l.instruction.clone(),
                instrument: l.instrument.clone(),
                quantity,
            });
        }
        Ok(Self {
            order_type: o.order_type.clone().ok_or_else(unreadable)?,
            duration: match changes.time_in_force {
                Some(t) => duration_word(t).to_string(),
                None => o.duration.clone().ok_or_else(unreadable)?,
            },
            price: changes.limit_price.or(o.price.map(|p| p.0)),
            stop: changes.stop_price.or(o.stop_price.map(|p| p.0)),
            quantity: (legs.len() > 1).then_some(new_quantity),
            complex: o
                .complex_order_strategy_type
                .clone()
                .filter(|c| legs.len() > 1 && c != "NONE"),
            legs,
        })
    }

    /// Schwab's request: prices as decimal strings and quantities as
    /// numbers, as schwab-py's builders send them.
    pub fn request(&self) -> OrderRequest {
        let text = |d: Decimal| d.normalize().to_string();
        OrderRequest {
            session: "NORMAL",
            duration: self.duration.clone(),
            order_type: self.order_type.clone(),
            complex_order_strategy_type: self.complex.clone(),
            quantity: self.quantity.map(Number),
            price: self.price.map(text),
            stop_price: self.stop.map(text),
            order_strategy_type: "SINGLE",
            order_leg_collection: self
                .legs
                .iter()
                .map(|l| LegRequest {
                    instruction: l.instruction.clone(),
                    quantity: Number(l.quantity),
                    instrument: l.instrument.clone(),
                })
                .collect(),
        }
    }

    /// Whether a listed order is what this spec asks for (see the module's rule).
    pub fn matches(&self, o: &models::Order) -> bool {
        let legs_match = o.order_leg_collection.len() == self.legs.len()
            && o.order_leg_collection
                .iter()
                .zip(&self.legs)
                .all(|(got, want)| {
                    got.instruction == want.instruction
                        && got.instrument == want.instrument
                        && got.quantity.0 == want.quantity
                });
        legs_match
            && o.order_type.as_deref() == Some(self.order_type.as_str())
            && o.duration.as_deref() == Some(self.duration.as_str())
            && o.price.map(|p| p.0) == self.price
            && o.stop_price.map(|p| p.0) == self.stop
            && self
                .quantity
                .is_none_or(|q| o.quantity.map(|n| n.0) == Some(q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn equity_instructions_follow_the_position() {
        let sell = Order::market("c", "AAPL", Side::Sell, dec!(5));
        let word = |o: &Order, held| Spec::of(o, held).unwrap().legs[0].instruction.clone();
        assert_eq!(word(&sell, dec!(10)), "SELL");
        assert_eq!(word(&sell, dec!(0)), "SELL_SHORT");
        let buy = Order::market("c", "AAPL", Side::Buy, dec!(5));
        assert_eq!(word(&buy, dec!(-5)), "BUY_TO_COVER");
        assert_eq!(word(&buy, dec!(3)), "BUY");
        let json = serde_json::to_string(
            &Spec::of(
                &Order::limit("c", "AAPL", Side::Buy, dec!(2), dec!(1.50)),
                dec!(0),
            )
            .unwrap()
            .request(),
        )
        .unwrap();
        assert_eq!(
            json,
            r#"{"session":"NORMAL","duration":"DAY","orderType":"LIMIT","price":"1.5","orderStrategyType":"SINGLE","orderLegCollection":[{"instruction":"BUY","quantity":2,"instrument":{"assetType":"EQUITY","symbol":"AAPL"}}]}"#
        );
    }
}
