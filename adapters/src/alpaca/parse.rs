//! Between Alpaca's JSON and the contract: orders, positions and the account
//! in, order requests out. Every Alpaca quirk the adapter knows about lives
//! here: decimal strings, the status vocabulary (§3.1), compact OCC symbols
//! (§7), signed mleg limit prices and short positions reported negative.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::models::{
    AlpacaAccount, AlpacaOrder, AlpacaPosition, LegRequest, OrderRequest as WireOrderRequest,
    ReplaceRequest as WireReplaceRequest, StopLoss, TakeProfit,
};
use crate::contract::{
    Account, Instrument, Order, OrderResult, OrderStatus, OrderType, Position, PositionEffect,
    Replace, Side, TimeInForce,
};
use crate::error::{AdapterError, Result};

/// A decimal string from Alpaca, or an `unknown` error naming the field.
pub fn decimal(field: &str, text: &str) -> Result<Decimal> {
    Decimal::from_str(text.trim()).map_err(|_| {
        AdapterError::unknown(format!(
            "Alpaca sent {field} = {text:?}, which is not a decimal"
        ))
    })
}

fn optional_decimal(field: &str, text: Option<&str>) -> Result<Option<Decimal>> {
    match text {
        None | Some("") => Ok(None),
        Some(t) => decimal(field, t).map(Some),
    }
}

/// The normalized status of an Alpaca status word (§3.1; every word there maps).
///
/// Words that only say "open, but not working right now" (`done_for_day`,
/// `stopped`, `suspended`, `pending_replace`, `calculated`) carry no fill
/// information of their own, so they map by what has been filled. An unknown
/// word is an error naming it: guessing could turn a live order into a
/// terminal one in the caller's books.
pub fn status(word: &str, quantity: Option<Decimal>, filled: Decimal) -> Result<OrderStatus> {
    let by_fills = || match quantity {
        _ if filled.is_zero() => OrderStatus::Accepted,
        Some(q) if filled >= q => OrderStatus::Filled,
        _ => OrderStatus::PartiallyFilled,
    };
    Ok(match word {
        "pending_new" | "held" | "pending_review" => OrderStatus::Pending,
        "new" | "accepted" | "accepted_for_bidding" => OrderStatus::Accepted,
        "partially_filled" => OrderStatus::PartiallyFilled,
        "filled" => OrderStatus::Filled,
        "canceled" => OrderStatus::Canceled,
        "expired" => OrderStatus::Expired,
        "rejected" => OrderStatus::Rejected,
        "replaced" => OrderStatus::Replaced,
        "pending_cancel" => OrderStatus::PendingCancel,
        "done_for_day" | "stopped" | "suspended" | "pending_replace" | "calculated" => by_fills(),
        other => {
            return Err(AdapterError::unknown(format!(
                "Alpaca sent the order status {other:?}, which is not in its documented vocabulary"
            )))
        }
    })
}

/// An Alpaca order as the contract's OrderResult.
pub fn order_result(o: &AlpacaOrder) -> Result<OrderResult> {
    let quantity = optional_decimal("qty", o.qty.as_deref())?;
    let filled = decimal("filled_qty", &o.filled_qty)?;
    let average_fill_price = optional_decimal("filled_avg_price", o.filled_avg_price.as_deref())?
        // Alpaca writes null until the first fill; a zero would be no price at all.
        .filter(|p| !filled.is_zero() || !p.is_zero());
    let status = status(&o.status, quantity, filled)?;
    Ok(OrderResult {
        broker_order_id: o.id.clone(),
        client_order_id: o.client_order_id.clone(),
        status,
        filled_quantity: filled,
        // A notional order has no quantity until it fills: nothing is known to remain.
        remaining_quantity: quantity.map_or(Decimal::ZERO, |q| OrderResult::remaining(q, filled)),
        average_fill_price,
        // Alpaca's Order object carries no reason; its refusals come as HTTP errors.
        reject_reason: (status == OrderStatus::Rejected)
            .then(|| "rejected by Alpaca after acceptance".to_string()),
        broker_status: o.status.clone(),
    })
}

/// An instrument from Alpaca's symbol: options use the compact OCC form (§7).
pub fn instrument(symbol: &str, asset_class: Option<&str>) -> Result<Instrument> {
    match asset_class {
        Some("us_option") => symbol.parse().map(Instrument::option).map_err(|e| {
            AdapterError::unknown(format!("Alpaca sent the option symbol {symbol:?}: {e}"))
        }),
        _ => Ok(Instrument::equity(symbol)),
    }
}

/// A position, signed: Alpaca reports shorts with `side: short` and a
/// negative `qty` (§2.9, §8.17); the sign is taken from `side` so a positive
/// short quantity cannot turn into a long.
pub fn position(account_id: &str, p: &AlpacaPosition) -> Result<Position> {
    let qty = decimal("qty", &p.qty)?.abs();
    let quantity = match p.side.as_str() {
        "long" => qty,
        "short" => -qty,
        other => {
            return Err(AdapterError::unknown(format!(
                "Alpaca sent the position side {other:?} for {}",
                p.symbol
            )))
        }
    };
    Ok(Position {
        account_id: account_id.to_string(),
        instrument: instrument(&p.symbol, p.asset_class.as_deref())?,
        quantity,
        average_price: decimal("avg_entry_price", &p.avg_entry_price)?,
    })
}

pub fn account(a: &AlpacaAccount) -> Result<Account> {
    Ok(Account {
        account_id: a.account_number.clone(),
        cash: decimal("cash", &a.cash)?,
        buying_power: decimal("buying_power", &a.buying_power)?,
        equity: decimal("equity", &a.equity)?,
    })
}

/// Alpaca's symbol for an instrument: the ticker, or the OCC symbol without padding.
pub fn symbol(i: &Instrument) -> String {
    match i {
        Instrument::Equity { symbol } => symbol.clone(),
        Instrument::Option { occ } => occ.compact(),
    }
}

/// A decimal as sent to Alpaca: a string in minimal form.
fn wire_decimal(d: Decimal) -> String {
    d.normalize().to_string()
}

fn side_word(s: Side) -> &'static str {
    match s {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

fn type_word(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "market",
        OrderType::Limit => "limit",
        OrderType::Stop => "stop",
        OrderType::StopLimit => "stop_limit",
    }
}

fn tif_word(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Day => "day",
        TimeInForce::Gtc => "gtc",
        TimeInForce::Ioc => "ioc",
        TimeInForce::Fok => "fok",
    }
}

fn intent_word(side: Side, effect: PositionEffect) -> &'static str {
    match (side, effect) {
        (Side::Buy, PositionEffect::Open) => "buy_to_open",
        (Side::Buy, PositionEffect::Close) => "buy_to_close",
        (Side::Sell, PositionEffect::Open) => "sell_to_open",
        (Side::Sell, PositionEffect::Close) => "sell_to_close",
    }
}

/// The prices an order type uses, each required: Alpaca would answer 422,
/// but the request is ours to get right.
fn prices(order: &Order) -> Result<(Option<String>, Option<String>)> {
    let need = |p: Option<Decimal>, name: &str| {
        p.map(wire_decimal).map(Some).ok_or_else(|| {
            AdapterError::invalid_request(format!(
                "a {} order needs a {name}",
                type_word(order.order_type)
            ))
        })
    };
    Ok(match order.order_type {
        OrderType::Market => (None, None),
        OrderType::Limit => (need(order.limit_price, "limit_price")?, None),
        OrderType::Stop => (None, need(order.stop_price, "stop_price")?),
        OrderType::StopLimit => (
            need(order.limit_price, "limit_price")?,
            need(order.stop_price, "stop_price")?,
        ),
    })
}

/// Alpaca's `client_order_id` holds 1 to 128 characters (characters, not
/// bytes: an id in any script fits as long as it is short enough).
fn client_id_fits(id: &str) -> bool {
    (1..=128).contains(&id.chars().count())
}

/// The `POST /v2/orders` body for a contract order (§2.1).
pub fn order_request(order: &Order) -> Result<WireOrderRequest> {
    if order.quantity <= Decimal::ZERO {
        return Err(AdapterError::invalid_request("quantity must be positive"));
    }
    if !client_id_fits(&order.client_order_id) {
        // Alpaca generates an id when none is sent, which would make the
        // order impossible to reconcile; over 128 characters it answers 422.
        return Err(AdapterError::invalid_request(
            "client_order_id must be 1 to 128 characters",
        ));
    }
    let (limit_price, stop_price) = prices(order)?;
    let base = WireOrderRequest {
        symbol: None,
        qty: wire_decimal(order.quantity),
        side: None,
        kind: type_word(order.order_type),
        time_in_force: tif_word(order.time_in_force),
        limit_price,
        stop_price,
        client_order_id: order.client_order_id.clone(),
        order_class: None,
        position_intent: None,
        legs: None,
        take_profit: None,
        stop_loss: None,
    };
    if order.is_multi_leg() {
        order.without_exits()?;
        return multi_leg(order, base);
    }
    let base = with_exits(order, base)?;
    let position_intent = match (&order.instrument, order.position_effect) {
        (Instrument::Option { .. }, Some(e)) => Some(intent_word(order.side, e)),
        (Instrument::Option { .. }, None) => {
            return Err(AdapterError::invalid_request(
                "an option order needs a position_effect",
            ))
        }
        (Instrument::Equity { .. }, _) => None,
    };
    Ok(WireOrderRequest {
        symbol: Some(symbol(&order.instrument)),
        side: Some(side_word(order.side)),
        position_intent,
        ..base
    })
}

/// An order's exits as Alpaca's bracket (both) or OTO (one) (§2.1).
fn with_exits(order: &Order, base: WireOrderRequest) -> Result<WireOrderRequest> {
    let Some(exits) = &order.exits else {
        return Ok(base);
    };
    let take_profit = exits.take_profit.map(|p| TakeProfit {
        limit_price: wire_decimal(p),
    });
    let stop_loss = exits.stop_loss.as_ref().map(|s| StopLoss {
        stop_price: wire_decimal(s.stop_price),
        limit_price: s.limit_price.map(wire_decimal),
    });
    let order_class = match (&take_profit, &stop_loss) {
        (Some(_), Some(_)) => "bracket",
        (None, None) => {
            return Err(AdapterError::invalid_request(
                "exits without a take-profit or a stop-loss",
            ))
        }
        _ => "oto",
    };
    Ok(WireOrderRequest {
        order_class: Some(order_class),
        take_profit,
        stop_loss,
        ..base
    })
}

/// The `PATCH /v2/orders/{id}` body for a contract replace (§2.6): only the
/// fields that change. What Alpaca would refuse with a 422 is refused here.
pub fn replace_request(changes: &Replace) -> Result<WireReplaceRequest> {
    let qty = match changes.quantity {
        None => None,
        Some(q) if q <= Decimal::ZERO => {
            return Err(AdapterError::invalid_request(format!(
                "a replacement quantity must be positive, got {q}"
            )))
        }
        // §2.6: "qty must be integer" on a replace.
        Some(q) if !q.fract().is_zero() => {
            return Err(AdapterError::unsupported(format!(
                "Alpaca replaces with whole quantities only, got {q}"
            )))
        }
        Some(q) => Some(wire_decimal(q)),
    };
    let price = |p: Option<Decimal>, name: &str| match p {
        Some(p) if p <= Decimal::ZERO => Err(AdapterError::invalid_request(format!(
            "a replacement {name} must be positive, got {p}"
        ))),
        other => Ok(other.map(wire_decimal)),
    };
    if let Some(c) = &changes.client_order_id {
        if !client_id_fits(c) {
            return Err(AdapterError::invalid_request(
                "client_order_id must be 1 to 128 characters",
            ));
        }
    }
    let request = WireReplaceRequest {
        qty,
        time_in_force: changes.time_in_force.map(tif_word),
        limit_price: price(changes.limit_price, "limit_price")?,
        stop_price: price(changes.stop_price, "stop_price")?,
        client_order_id: changes.client_order_id.clone(),
    };
    if request == WireReplaceRequest::default() {
        return Err(AdapterError::invalid_request(
            "a replace must change at least one field",
        ));
    }
    Ok(request)
}

/// Whether `o` carries every change a replace asked for: a replacement found
/// by reading the original back is ours only if it does (someone else may
/// have replaced the order meanwhile).
pub fn carries(o: &AlpacaOrder, changes: &Replace) -> Result<bool> {
    let same = |field: &str, want: Option<Decimal>, got: Option<&str>| -> Result<bool> {
        Ok(match want {
            None => true,
            Some(w) => optional_decimal(field, got)? == Some(w),
        })
    };
    Ok(same("qty", changes.quantity, o.qty.as_deref())?
        && same("limit_price", changes.limit_price, o.limit_price.as_deref())?
        && same("stop_price", changes.stop_price, o.stop_price.as_deref())?
        && changes
            .time_in_force
            .is_none_or(|t| o.time_in_force.as_deref() == Some(tif_word(t)))
        && changes
            .client_order_id
            .as_ref()
            .is_none_or(|c| *c == o.client_order_id))
}

/// An `mleg` order (§2.1): no top-level symbol or side; the net limit is
/// signed, positive a debit (the contract's buy) and negative a credit (sell).
fn multi_leg(order: &Order, base: WireOrderRequest) -> Result<WireOrderRequest> {
    let legs_in = order.legs.as_deref().unwrap_or_default();
    if !(2..=4).contains(&legs_in.len()) {
        return Err(AdapterError::invalid_request(
            "Alpaca multi-leg orders have 2 to 4 legs",
        ));
    }
    if !matches!(order.order_type, OrderType::Market | OrderType::Limit) {
        return Err(AdapterError::unsupported(
            "Alpaca multi-leg orders are market or limit only",
        ));
    }
    let mut legs = Vec::with_capacity(legs_in.len());
    for leg in legs_in {
        if !leg.instrument.is_option() {
            return Err(AdapterError::unsupported(
                "Alpaca multi-leg orders trade options only",
            ));
        }
        legs.push(LegRequest {
            symbol: symbol(&leg.instrument),
            ratio_qty: wire_decimal(leg.ratio_quantity),
            side: side_word(leg.side),
            position_intent: leg.position_effect.map(|e| intent_word(leg.side, e)),
        });
    }
    let limit_price = order
        .limit_price
        .filter(|_| order.order_type == OrderType::Limit)
        .map(|p| {
            wire_decimal(match order.side {
                Side::Buy => p,
                Side::Sell => -p,
            })
        });
    Ok(WireOrderRequest {
        order_class: Some("mleg"),
        legs: Some(legs),
        limit_price,
        ..base
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Leg;
    use rust_decimal_macros::dec;

    /// §3.1, every word; with its normalized status when nothing is filled.
    const VOCABULARY: [(&str, OrderStatus); 18] = [
        ("new", OrderStatus::Accepted),
        ("partially_filled", OrderStatus::PartiallyFilled),
        ("filled", OrderStatus::Filled),
        ("done_for_day", OrderStatus::Accepted),
        ("canceled", OrderStatus::Canceled),
        ("expired", OrderStatus::Expired),
        ("replaced", OrderStatus::Replaced),
        ("pending_cancel", OrderStatus::PendingCancel),
        ("pending_replace", OrderStatus::Accepted),
        ("accepted", OrderStatus::Accepted),
        ("pending_new", OrderStatus::Pending),
        ("accepted_for_bidding", OrderStatus::Accepted),
        ("stopped", OrderStatus::Accepted),
        ("rejected", OrderStatus::Rejected),
        ("suspended", OrderStatus::Accepted),
        ("calculated", OrderStatus::Accepted),
        ("held", OrderStatus::Pending),
        ("pending_review", OrderStatus::Pending),
    ];

    #[test]
    fn every_documented_status_maps_and_unknown_words_are_errors() {
        for (word, want) in VOCABULARY {
            assert_eq!(status(word, Some(dec!(10)), dec!(0)), Ok(want), "{word}");
        }
        assert_eq!(
            status("done_for_day", Some(dec!(10)), dec!(4)),
            Ok(OrderStatus::PartiallyFilled)
        );
        assert_eq!(
            status("calculated", Some(dec!(10)), dec!(10)),
            Ok(OrderStatus::Filled)
        );
        let e = status("open", Some(dec!(1)), dec!(0)).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Unknown);
        assert!(e.message.contains("\"open\""), "{e}");
    }

    #[test]
    fn option_orders_use_the_compact_symbol_and_a_position_intent() {
        let mut order = Order::limit("c-1", "AAPL", Side::Buy, dec!(2), dec!(1.25));
        order.instrument = Instrument::option("AAPL  250117C00200000".parse().unwrap());
        order.position_effect = Some(PositionEffect::Open);
        let body = serde_json::to_value(order_request(&order).unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"symbol":"AAPL250117C00200000","qty":"2","side":"buy","type":"limit",
                "time_in_force":"day","limit_price":"1.25","client_order_id":"c-1","position_intent":"buy_to_open"})
        );
        order.position_effect = None;
        assert_eq!(
            order_request(&order).unwrap_err().kind,
            crate::ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn credit_spreads_send_a_negative_net_limit() {
        let leg = |occ: &str, side| Leg {
            instrument: Instrument::option(occ.parse().unwrap()),
            side,
            position_effect: Some(PositionEffect::Open),
            ratio_quantity: dec!(1),
        };
        let mut order = Order::limit("spread", "AAPL", Side::Sell, dec!(1), dec!(0.50));
        order.legs = Some(vec![
            leg("AAPL250117P00200000", Side::Buy),
            leg("AAPL250117P00250000", Side::Sell),
        ]);
        let body = serde_json::to_value(order_request(&order).unwrap()).unwrap();
        assert_eq!(body["order_class"], "mleg");
        assert_eq!(body["limit_price"], "-0.5");
        assert!(body.get("symbol").is_none() && body.get("side").is_none());
        assert_eq!(body["legs"][1]["position_intent"], "sell_to_open");
        order.order_type = OrderType::Stop;
        order.stop_price = Some(dec!(1));
        assert_eq!(
            order_request(&order).unwrap_err().kind,
            crate::ErrorKind::Unsupported
        );
    }

    #[test]
    fn exits_are_a_bracket_or_an_oto_never_dropped() {
        use crate::contract::{Exits, StopLoss};
        let mut order = Order::market("b", "AAPL", Side::Buy, dec!(2));
        order.exits = Some(Exits {
            take_profit: Some(dec!(120)),
            stop_loss: Some(StopLoss {
                stop_price: dec!(90),
                limit_price: Some(dec!(89.5)),
            }),
        });
        let body = serde_json::to_value(order_request(&order).unwrap()).unwrap();
        assert_eq!(body["order_class"], "bracket");
        assert_eq!(
            body["take_profit"],
            serde_json::json!({"limit_price": "120"})
        );
        assert_eq!(
            body["stop_loss"],
            serde_json::json!({"stop_price": "90", "limit_price": "89.5"})
        );
        order.exits = Some(Exits {
            take_profit: None,
            stop_loss: Some(StopLoss {
                stop_price: dec!(90),
                limit_price: None,
            }),
        });
        let body = serde_json::to_value(order_request(&order).unwrap()).unwrap();
        assert_eq!(body["order_class"], "oto");
        assert!(body.get("take_profit").is_none());
        order.exits = Some(Exits {
            take_profit: None,
            stop_loss: None,
        });
        assert!(order_request(&order).is_err());
    }

    #[test]
    fn shorts_are_negative_whatever_sign_the_quantity_has() {
        let p = |qty: &str, side: &str| AlpacaPosition {
            symbol: "AAPL".into(),
            asset_class: Some("us_equity".into()),
            qty: qty.into(),
            side: side.into(),
            avg_entry_price: "100".into(),
        };
        assert_eq!(position("A", &p("-5", "short")).unwrap().quantity, dec!(-5));
        assert_eq!(position("A", &p("5", "short")).unwrap().quantity, dec!(-5));
        assert_eq!(position("A", &p("5", "long")).unwrap().quantity, dec!(5));
        assert!(position("A", &p("five", "long")).is_err());
    }
}
