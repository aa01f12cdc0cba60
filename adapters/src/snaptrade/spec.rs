//! What the adapter asks SnapTrade for, typed (`Spec`): built from a
//! contract order, written out as the body of `POST /trade/place` (an
//! equity, or one option by its OCC symbol) or of
//! `POST /accounts/{id}/trading/options` (a spread, reference §4.5), and
//! compared with the orders `recentOrders` lists when a submit's answer was
//! lost.
//!
//! SnapTrade keeps no client order id and takes a second copy of any
//! order (its `client_order_id` is forwarded to the brokerage and never
//! read back, §4.5): after an ambiguous submit the order is found by what
//! it is, with the shared rule of [`crate::listing`]. For SnapTrade "what
//! it is" is `Spec::matches`: the symbol, action, units, order type and
//! time in force are the ones sent, and so is each price that was sent
//! (a limit's `limit_price`, a stop's `stop_price`). A spread's v1 record
//! has no legs: it is found by its underlying, net side and spreads.

use rust_decimal::Decimal;

use super::models::{MlegInstrument, MlegLeg, MlegRequest, OrderRecord, PlaceRequest};
use crate::contract::{Instrument, Order, OrderType, PositionEffect, Side, TimeInForce};
use crate::error::{AdapterError, Result};
use crate::json::Number;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// What a listed record names: the ticker, the option's OCC symbol, or
    /// a spread's underlying.
    pub symbol: String,
    /// The request's action (`BUY_TO_OPEN` for an option), or a spread's
    /// net side.
    pub action: &'static str,
    /// The action as a v1 record lists it (`BUY_OPEN` for an option).
    pub listed_action: &'static str,
    pub order_type: &'static str,
    pub time_in_force: &'static str,
    /// Units, contracts, or a spread's count (its smallest leg's).
    pub units: Decimal,
    /// The limit price (a spread's net), sent for Limit and StopLimit only.
    pub price: Option<Decimal>,
    /// The stop price, sent for Stop and StopLimit only.
    pub stop: Option<Decimal>,
    /// A spread's legs, each with its own contracts; empty for one order.
    pub legs: Vec<SpecLeg>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecLeg {
    /// The OCC symbol.
    pub symbol: String,
    pub action: &'static str,
    pub units: Decimal,
}

/// An option's `*_TO_*` action and the v1 word SnapTrade lists it by.
fn option_action(
    side: Side,
    effect: Option<PositionEffect>,
) -> Result<(&'static str, &'static str)> {
    Ok(match (side, effect) {
        (Side::Buy, Some(PositionEffect::Open)) => ("BUY_TO_OPEN", "BUY_OPEN"),
        (Side::Buy, Some(PositionEffect::Close)) => ("BUY_TO_CLOSE", "BUY_CLOSE"),
        (Side::Sell, Some(PositionEffect::Open)) => ("SELL_TO_OPEN", "SELL_OPEN"),
        (Side::Sell, Some(PositionEffect::Close)) => ("SELL_TO_CLOSE", "SELL_CLOSE"),
        (_, None) => {
            return Err(AdapterError::invalid_request(
                "an option order needs a position effect (open or close)",
            ))
        }
    })
}

fn side_word(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

fn type_word(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "Market",
        OrderType::Limit => "Limit",
        OrderType::Stop => "Stop",
        OrderType::StopLimit => "StopLimit",
    }
}

fn tif_word(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Day => "Day",
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Fok => "FOK",
    }
}

/// A price the order type needs: present and positive.
fn needed(price: Option<Decimal>, what: &str, t: OrderType) -> Result<Decimal> {
    match price {
        Some(p) if p > Decimal::ZERO => Ok(p),
        Some(_) => Err(AdapterError::invalid_request(format!(
            "a {t:?} order's {what} must be positive"
        ))),
        None => Err(AdapterError::invalid_request(format!(
            "a {t:?} order needs a {what}"
        ))),
    }
}

impl Spec {
    /// The request for a contract order: an equity or one option in whole
    /// units, or a market or limit spread of option legs; anything else is
    /// `unsupported` before a request is sent.
    pub fn of(order: &Order) -> Result<Self> {
        if order.quantity <= Decimal::ZERO {
            return Err(AdapterError::invalid_request(
                "an order's quantity must be positive",
            ));
        }
        if !order.quantity.fract().is_zero() {
            return Err(AdapterError::unsupported(
                "the SnapTrade adapter places whole units only (no fractional orders)",
            ));
        }
        let t = order.order_type;
        let price = match t {
            OrderType::Limit | OrderType::StopLimit => {
                Some(needed(order.limit_price, "limit price", t)?)
            }
            OrderType::Market | OrderType::Stop => None,
        };
        let stop = match t {
            OrderType::Stop | OrderType::StopLimit => {
                Some(needed(order.stop_price, "stop price", t)?)
            }
            OrderType::Market | OrderType::Limit => None,
        };
        let (symbol, action, listed_action) = match &order.instrument {
            Instrument::Equity { symbol } => {
                (symbol.clone(), side_word(order.side), side_word(order.side))
            }
            Instrument::Option { occ } if !order.is_multi_leg() => {
                let (action, listed) = option_action(order.side, order.position_effect)?;
                (occ.to_string(), action, listed)
            }
            Instrument::Option { .. } => {
                return Err(AdapterError::invalid_request(
                    "a spread names its underlying, not an option",
                ))
            }
        };
        let legs = match order.legs.as_deref() {
            Some(legs) if order.is_multi_leg() => spread_legs(order, legs)?,
            _ => Vec::new(),
        };
        Ok(Self {
            symbol,
            action,
            listed_action,
            order_type: type_word(t),
            time_in_force: tif_word(order.time_in_force),
            units: order.quantity,
            price,
            stop,
            legs,
        })
    }

    /// The path the order is placed at, and its body for `account_id`:
    /// numbers written from the decimals' own digits, absent prices
    /// omitted; canonical JSON, as the signature needs.
    pub fn request(&self, account_id: &str) -> Result<(String, String)> {
        let encoded = if self.legs.is_empty() {
            serde_json::to_string(&PlaceRequest {
                account_id,
                action: self.action,
                order_type: self.order_type,
                price: self.price.map(Number),
                stop: self.stop.map(Number),
                symbol: &self.symbol,
                time_in_force: self.time_in_force,
                units: Number(self.units),
            })
        } else {
            serde_json::to_string(&MlegRequest {
                legs: self
                    .legs
                    .iter()
                    .map(|l| MlegLeg {
                        action: l.action,
                        instrument: MlegInstrument {
                            instrument_type: "OPTION",
                            symbol: &l.symbol,
                        },
                        units: Number(l.units),
                    })
                    .collect(),
                // A decimal string (`MlegTradeForm.limit_price`).
                limit_price: self.price.map(|p| p.normalize().to_string()),
                order_type: if self.price.is_some() {
                    "LIMIT"
                } else {
                    "MARKET"
                },
                price_effect: match self.action {
                    "SELL" => "CREDIT",
                    _ => "DEBIT",
                },
                time_in_force: self.time_in_force,
            })
        };
        let body = encoded
            .map_err(|e| AdapterError::invalid_request(format!("cannot encode the order: {e}")))?;
        let path = match self.legs.is_empty() {
            true => "/trade/place".to_string(),
            false => format!(
                "/accounts/{}/trading/options",
                super::client::encode(account_id)
            ),
        };
        Ok((path, body))
    }

    /// Whether a listed order is what this spec asks for (the module's rule).
    pub fn matches(&self, o: &OrderRecord) -> bool {
        let symbol = o.universal_symbol.as_ref().is_some_and(|s| {
            s.symbol.as_deref() == Some(self.symbol.as_str())
                || s.raw_symbol.as_deref() == Some(self.symbol.as_str())
        }) || o
            .option_symbol
            .as_ref()
            .is_some_and(|s| s.ticker.as_deref() == Some(self.symbol.as_str()));
        let price_sent = |sent: Option<Decimal>, listed: Option<Number>| {
            sent.is_none_or(|p| listed.map(|n| n.0) == Some(p))
        };
        symbol
            && o.action.as_deref() == Some(self.listed_action)
            && o.total_quantity.map(|n| n.0) == Some(self.units)
            && o.order_type.as_deref() == Some(self.order_type)
            && o.time_in_force.as_deref() == Some(self.time_in_force)
            && price_sent(self.price, o.limit_price)
            && price_sent(self.stop, o.stop_price)
    }
}

/// A spread's option legs, each its ratio of the order's spreads; SnapTrade
/// takes market and limit spreads only (a stop is `unsupported`).
fn spread_legs(order: &Order, legs: &[crate::contract::Leg]) -> Result<Vec<SpecLeg>> {
    if !matches!(order.order_type, OrderType::Market | OrderType::Limit) {
        return Err(AdapterError::unsupported(
            "the SnapTrade adapter places market and limit spreads only",
        ));
    }
    legs.iter()
        .map(|leg| {
            let Instrument::Option { occ } = &leg.instrument else {
                return Err(AdapterError::unsupported(
                    "the SnapTrade adapter places spreads of option legs only",
                ));
            };
            let units = order
                .quantity
                .checked_mul(leg.ratio_quantity)
                .filter(|u| *u > Decimal::ZERO && u.fract().is_zero());
            let units = units.ok_or_else(|| {
                AdapterError::invalid_request("a leg's ratio must be a positive whole number")
            })?;
            Ok(SpecLeg {
                symbol: occ.to_string(),
                action: option_action(leg.side, leg.position_effect)?.0,
                units: units.normalize(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use rust_decimal_macros::dec;

    const ACCT: &str = "917c8734-8470-4a3e-a18f-57c3f2ee6631";

    #[test]
    fn bodies_are_canonical_and_carry_exact_digits() {
        let limit = Order::limit("c", "AAPL", Side::Buy, dec!(10), dec!(189.50));
        let body = Spec::of(&limit).unwrap().request(ACCT).unwrap().1;
        assert_eq!(
            body,
            r#"{"account_id":"917c8734-8470-4a3e-a18f-57c3f2ee6631","action":"BUY","order_type":"Limit","price":189.5,"symbol":"AAPL","time_in_force":"Day","units":10}"#
        );
        let stop_limit = Order {
            order_type: OrderType::StopLimit,
            stop_price: Some(dec!(180.25)),
            time_in_force: TimeInForce::Gtc,
            ..Order::limit("c", "MSFT", Side::Sell, dec!(3), dec!(179.995))
        };
        let market = Order::market("c", "SPY", Side::Sell, dec!(1));
        for order in [limit, stop_limit, market] {
            let body = Spec::of(&order).unwrap().request(ACCT).unwrap().1;
            // Sorted keys and no whitespace: the body is signed as it is sent.
            let canonical = serde_json::from_str::<serde_json::Value>(&body)
                .unwrap()
                .to_string();
            assert_eq!(body, canonical);
        }
    }

    #[test]
    fn an_option_goes_by_its_occ_symbol_and_a_spread_by_its_legs() {
        let call = Order {
            instrument: Instrument::option("AAPL  261218C00240000".parse().unwrap()),
            position_effect: Some(PositionEffect::Open),
            ..Order::market("c", "AAPL", Side::Buy, dec!(1))
        };
        let spec = Spec::of(&call).unwrap();
        let (path, body) = spec.request(ACCT).unwrap();
        assert_eq!(path, "/trade/place");
        assert_eq!(
            body,
            r#"{"account_id":"917c8734-8470-4a3e-a18f-57c3f2ee6631","action":"BUY_TO_OPEN","order_type":"Market","symbol":"AAPL  261218C00240000","time_in_force":"Day","units":1}"#
        );
        assert_eq!(spec.listed_action, "BUY_OPEN");
        let leg = |strike: &str, side, ratio| crate::contract::Leg {
            instrument: Instrument::option(format!("AAPL  261218C00{strike}").parse().unwrap()),
            side,
            position_effect: Some(PositionEffect::Open),
            ratio_quantity: ratio,
        };
        let spread = Order {
            legs: Some(vec![
                leg("200000", Side::Sell, dec!(1)),
                leg("210000", Side::Buy, dec!(2)),
            ]),
            position_effect: Some(PositionEffect::Open),
            ..Order::limit("c", "AAPL", Side::Sell, dec!(3), dec!(0.45))
        };
        let spec = Spec::of(&spread).unwrap();
        let (path, body) = spec.request(ACCT).unwrap();
        assert_eq!(
            path,
            "/accounts/917c8734-8470-4a3e-a18f-57c3f2ee6631/trading/options"
        );
        assert_eq!(
            body,
            r#"{"legs":[{"action":"SELL_TO_OPEN","instrument":{"instrument_type":"OPTION","symbol":"AAPL  261218C00200000"},"units":3},{"action":"BUY_TO_OPEN","instrument":{"instrument_type":"OPTION","symbol":"AAPL  261218C00210000"},"units":6}],"limit_price":"0.45","order_type":"LIMIT","price_effect":"CREDIT","time_in_force":"Day"}"#
        );
        // Listed, a spread is its underlying sold at its net price.
        assert_eq!((spec.symbol.as_str(), spec.listed_action), ("AAPL", "SELL"));
    }

    #[test]
    fn what_snaptrade_cannot_take_is_refused_before_sending() {
        let fractional = Order::market("c", "AAPL", Side::Buy, dec!(0.5));
        let stop_spread = Order {
            order_type: OrderType::Stop,
            stop_price: Some(dec!(1)),
            legs: Some(vec![
                crate::contract::Leg {
                    instrument: Instrument::option("AAPL  261218C00240000".parse().unwrap()),
                    side: Side::Buy,
                    position_effect: Some(PositionEffect::Open),
                    ratio_quantity: dec!(1),
                };
                2
            ]),
            ..Order::market("c", "AAPL", Side::Buy, dec!(1))
        };
        for order in [fractional, stop_spread] {
            assert_eq!(Spec::of(&order).unwrap_err().kind, ErrorKind::Unsupported);
        }
        let no_price = Order {
            limit_price: None,
            ..Order::limit("c", "AAPL", Side::Buy, dec!(1), dec!(1))
        };
        let no_effect = Order {
            instrument: Instrument::option("AAPL  261218C00240000".parse().unwrap()),
            ..Order::market("c", "AAPL", Side::Buy, dec!(1))
        };
        for order in [no_price, no_effect] {
            assert_eq!(
                Spec::of(&order).unwrap_err().kind,
                ErrorKind::InvalidRequest
            );
        }
    }
}
