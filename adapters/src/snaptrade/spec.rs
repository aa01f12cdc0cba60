//! What the adapter asks SnapTrade for, typed (`Spec`): built from a
//! contract order, written out as `POST /trade/place`'s body (reference
//! §4.5), and compared with the orders `recentOrders` lists when a
//! submit's answer was lost.
//!
//! SnapTrade keeps no client order id and takes a second copy of any
//! order (its `client_order_id` is forwarded to the brokerage and never
//! read back, §4.5): after an ambiguous submit the order is found by what
//! it is, with the shared rule of [`crate::listing`]. For SnapTrade "what
//! it is" is `Spec::matches`: the symbol, action, units, order type and
//! time in force are the ones sent, and so is each price that was sent
//! (a limit's `limit_price`, a stop's `stop_price`).

use rust_decimal::Decimal;

use super::models::{OrderRecord, PlaceRequest};
use crate::contract::{Instrument, Order, OrderType, Side, TimeInForce};
use crate::error::{AdapterError, Result};
use crate::json::Number;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub symbol: String,
    pub action: &'static str,
    pub order_type: &'static str,
    pub time_in_force: &'static str,
    pub units: Decimal,
    /// The limit price, sent for Limit and StopLimit only.
    pub price: Option<Decimal>,
    /// The stop price, sent for Stop and StopLimit only.
    pub stop: Option<Decimal>,
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
    /// The request for a contract order. Only what this adapter places
    /// through SnapTrade is taken (single-leg equities in whole units);
    /// anything else is `unsupported` before a request is sent.
    pub fn of(order: &Order) -> Result<Self> {
        if order.is_multi_leg() {
            return Err(AdapterError::unsupported(
                "the SnapTrade adapter places single-leg orders only",
            ));
        }
        let Instrument::Equity { symbol } = &order.instrument else {
            return Err(AdapterError::unsupported(
                "the SnapTrade adapter places equity orders only",
            ));
        };
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
        Ok(Self {
            symbol: symbol.clone(),
            action: match order.side {
                Side::Buy => "BUY",
                Side::Sell => "SELL",
            },
            order_type: type_word(t),
            time_in_force: tif_word(order.time_in_force),
            units: order.quantity,
            price,
            stop,
        })
    }

    /// `POST /trade/place`'s body for `account_id`: numbers written from
    /// the decimals' own digits, absent prices omitted; canonical JSON, as
    /// the signature needs.
    pub fn body(&self, account_id: &str) -> Result<String> {
        let request = PlaceRequest {
            account_id,
            action: self.action,
            order_type: self.order_type,
            price: self.price.map(Number),
            stop: self.stop.map(Number),
            symbol: &self.symbol,
            time_in_force: self.time_in_force,
            units: Number(self.units),
        };
        serde_json::to_string(&request)
            .map_err(|e| AdapterError::invalid_request(format!("cannot encode the order: {e}")))
    }

    /// Whether a listed order is what this spec asks for (the module's rule).
    pub fn matches(&self, o: &OrderRecord) -> bool {
        let symbol = o.universal_symbol.as_ref().is_some_and(|s| {
            s.symbol.as_deref() == Some(self.symbol.as_str())
                || s.raw_symbol.as_deref() == Some(self.symbol.as_str())
        });
        let price_sent = |sent: Option<Decimal>, listed: Option<Number>| {
            sent.is_none_or(|p| listed.map(|n| n.0) == Some(p))
        };
        symbol
            && o.action.as_deref() == Some(self.action)
            && o.total_quantity.map(|n| n.0) == Some(self.units)
            && o.order_type.as_deref() == Some(self.order_type)
            && o.time_in_force.as_deref() == Some(self.time_in_force)
            && price_sent(self.price, o.limit_price)
            && price_sent(self.stop, o.stop_price)
    }
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
        let body = Spec::of(&limit).unwrap().body(ACCT).unwrap();
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
            let body = Spec::of(&order).unwrap().body(ACCT).unwrap();
            // Sorted keys and no whitespace: the body is signed as it is sent.
            let canonical = serde_json::from_str::<serde_json::Value>(&body)
                .unwrap()
                .to_string();
            assert_eq!(body, canonical);
        }
    }

    #[test]
    fn what_snaptrade_cannot_take_is_refused_before_sending() {
        let option = Order {
            instrument: Instrument::option("AAPL  261218C00240000".parse().unwrap()),
            ..Order::market("c", "AAPL", Side::Buy, dec!(1))
        };
        let fractional = Order::market("c", "AAPL", Side::Buy, dec!(0.5));
        for order in [option, fractional] {
            assert_eq!(Spec::of(&order).unwrap_err().kind, ErrorKind::Unsupported);
        }
        let no_price = Order {
            limit_price: None,
            ..Order::limit("c", "AAPL", Side::Buy, dec!(1), dec!(1))
        };
        assert_eq!(
            Spec::of(&no_price).unwrap_err().kind,
            ErrorKind::InvalidRequest
        );
    }
}
