//! A contract order → Tradier's form fields (reference §2.1): `class`
//! equity / option / multileg, sides from side + position effect, the
//! compact OCC symbol, `duration` day or gtc. Anything Tradier cannot take is
//! refused here, before a request leaves.

use rust_decimal::Decimal;

use crate::contract::{Instrument, Order, OrderType, PositionEffect, Replace, Side, TimeInForce};
use crate::error::{AdapterError, Result};

pub type Form = Vec<(String, String)>;

/// Tradier's multileg orders take up to four legs (§2.1.3).
const MAX_LEGS: usize = 4;

/// What the account holds of an equity, when the side word depends on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held(pub Decimal);

fn push(form: &mut Form, k: impl Into<String>, v: impl Into<String>) {
    form.push((k.into(), v.into()));
}

pub fn duration(t: TimeInForce) -> Result<&'static str> {
    match t {
        TimeInForce::Day => Ok("day"),
        TimeInForce::Gtc => Ok("gtc"),
        other => Err(AdapterError::unsupported(format!(
            "Tradier has no {other:?} duration (only day and gtc)"
        ))),
    }
}

fn whole(q: Decimal) -> Result<String> {
    if q <= Decimal::ZERO {
        return Err(AdapterError::invalid_request(format!(
            "quantity must be positive, got {q}"
        )));
    }
    if !q.fract().is_zero() {
        return Err(AdapterError::unsupported(format!(
            "Tradier takes whole quantities only, got {q}"
        )));
    }
    Ok(q.normalize().to_string())
}

fn option_side(side: Side, effect: Option<PositionEffect>) -> Result<&'static str> {
    match (side, effect) {
        (Side::Buy, Some(PositionEffect::Open)) => Ok("buy_to_open"),
        (Side::Buy, Some(PositionEffect::Close)) => Ok("buy_to_close"),
        (Side::Sell, Some(PositionEffect::Open)) => Ok("sell_to_open"),
        (Side::Sell, Some(PositionEffect::Close)) => Ok("sell_to_close"),
        (_, None) => Err(AdapterError::invalid_request(
            "an option order needs a position_effect (open or close)",
        )),
    }
}

/// Tradier wants `sell_short` to open a short and `buy_to_cover` to close
/// one; `sell` and `buy` only trade a long position. An explicit position
/// effect decides; otherwise what the account holds does. An order that
/// crosses zero is sent with the word for the position it starts from
/// (`sell` from a long, `buy_to_cover` from a short); the broker decides.
pub fn equity_side(side: Side, effect: Option<PositionEffect>, held: Held) -> &'static str {
    match (side, effect) {
        (Side::Buy, Some(PositionEffect::Close)) => "buy_to_cover",
        (Side::Buy, Some(PositionEffect::Open)) => "buy",
        (Side::Sell, Some(PositionEffect::Open)) => "sell_short",
        (Side::Sell, Some(PositionEffect::Close)) => "sell",
        (Side::Buy, None) if held.0 < Decimal::ZERO => "buy_to_cover",
        (Side::Buy, None) => "buy",
        (Side::Sell, None) if held.0 > Decimal::ZERO => "sell",
        (Side::Sell, None) => "sell_short",
    }
}

/// Whether the side word of this order depends on the current position.
pub fn needs_position(order: &Order) -> bool {
    !order.is_multi_leg() && !order.instrument.is_option() && order.position_effect.is_none()
}

fn prices(form: &mut Form, order: &Order) -> Result<()> {
    let (limit, stop) = match order.order_type {
        OrderType::Market => (false, false),
        OrderType::Limit => (true, false),
        OrderType::Stop => (false, true),
        OrderType::StopLimit => (true, true),
    };
    if limit {
        let p = order
            .limit_price
            .ok_or_else(|| AdapterError::invalid_request("a limit order needs limit_price"))?;
        push(form, "price", p.normalize().to_string());
    }
    if stop {
        let p = order
            .stop_price
            .ok_or_else(|| AdapterError::invalid_request("a stop order needs stop_price"))?;
        push(form, "stop", p.normalize().to_string());
    }
    Ok(())
}

fn type_word(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "market",
        OrderType::Limit => "limit",
        OrderType::Stop => "stop",
        OrderType::StopLimit => "stop_limit",
    }
}

/// The place-order form for `order`, labelled with `tag`.
pub fn order_form(order: &Order, tag: &str, held: Held) -> Result<Form> {
    let mut form = Form::new();
    if order.is_multi_leg() {
        multileg(&mut form, order)?;
    } else {
        match &order.instrument {
            Instrument::Equity { symbol } => {
                push(&mut form, "class", "equity");
                push(&mut form, "symbol", symbol.as_str());
                push(
                    &mut form,
                    "side",
                    equity_side(order.side, order.position_effect, held),
                );
            }
            Instrument::Option { occ } => {
                push(&mut form, "class", "option");
                push(&mut form, "symbol", occ.root());
                push(&mut form, "option_symbol", occ.compact());
                push(
                    &mut form,
                    "side",
                    option_side(order.side, order.position_effect)?,
                );
            }
        }
        push(&mut form, "quantity", whole(order.quantity)?);
        push(&mut form, "type", type_word(order.order_type));
        prices(&mut form, order)?;
    }
    push(&mut form, "duration", duration(order.time_in_force)?);
    push(&mut form, "tag", tag);
    Ok(form)
}

/// The modify form (§2.5) for a contract replace: only what changes, among
/// `duration`, `price` and `stop`. Refused here, before a request leaves:
///
/// - a quantity: Tradier's modify cannot change it (`unsupported`; cancel
///   and place a new order instead);
/// - a new client order id alone: the order keeps its id and its tag, so
///   there is nothing to relabel (`unsupported`). Alongside other changes it
///   is not sent (the contract takes it "where the broker takes one"); the
///   answer shows the client order id the order still has.
///
/// `type` is never sent: the contract's replace cannot change the order type,
/// Tradier's modify fields are all optional ("send only what changes"), and
/// a type guessed from the changes would turn a stop_limit whose limit moves
/// into a limit.
pub fn modify_form(changes: &Replace) -> Result<Form> {
    if let Some(q) = changes.quantity {
        return Err(AdapterError::unsupported(format!(
            "Tradier's modify cannot change an order's quantity (asked for {q}); \
             cancel it and place a new order instead"
        )));
    }
    let mut form = Form::new();
    if let Some(t) = changes.time_in_force {
        push(&mut form, "duration", duration(t)?);
    }
    for (key, name, price) in [
        ("price", "limit_price", changes.limit_price),
        ("stop", "stop_price", changes.stop_price),
    ] {
        match price {
            Some(p) if p <= Decimal::ZERO => {
                return Err(AdapterError::invalid_request(format!(
                    "a replacement {name} must be positive, got {p}"
                )))
            }
            Some(p) => push(&mut form, key, p.normalize().to_string()),
            None => {}
        }
    }
    if form.is_empty() {
        return Err(if changes.client_order_id.is_some() {
            AdapterError::unsupported(
                "a Tradier order keeps its id and tag when modified: its client order id cannot change",
            )
        } else {
            AdapterError::invalid_request("a replace must change at least one field")
        });
    }
    Ok(form)
}

/// Whether an order read back from Tradier has what a modify set.
pub fn carries(
    changes: &Replace,
    price: Option<Decimal>,
    stop: Option<Decimal>,
    duration_word: Option<&str>,
) -> bool {
    changes.limit_price.is_none_or(|p| price == Some(p))
        && changes.stop_price.is_none_or(|p| stop == Some(p))
        && changes
            .time_in_force
            .is_none_or(|t| duration(t).ok() == duration_word)
}

/// `class=multileg` with indexed legs; a limit order is a `debit` when it
/// buys the spread and a `credit` when it sells it, the price always positive.
fn multileg(form: &mut Form, order: &Order) -> Result<()> {
    let legs = order.legs.as_deref().unwrap_or_default();
    if legs.len() < 2 || legs.len() > MAX_LEGS {
        return Err(AdapterError::unsupported(format!(
            "Tradier multileg orders take 2 to {MAX_LEGS} legs, got {}",
            legs.len()
        )));
    }
    let mut underlying: Option<String> = None;
    let mut indexed = Form::new();
    for (i, leg) in legs.iter().enumerate() {
        let Instrument::Option { occ } = &leg.instrument else {
            return Err(AdapterError::unsupported(
                "Tradier multileg orders take option legs only (equity legs are combo orders)",
            ));
        };
        match &underlying {
            Some(u) if u != occ.root() => {
                return Err(AdapterError::invalid_request(
                    "every leg of a multileg order must share one underlying",
                ))
            }
            _ => underlying = Some(occ.root().to_string()),
        }
        push(&mut indexed, format!("option_symbol[{i}]"), occ.compact());
        push(
            &mut indexed,
            format!("side[{i}]"),
            option_side(leg.side, leg.position_effect)?,
        );
        push(
            &mut indexed,
            format!("quantity[{i}]"),
            whole(order.quantity * leg.ratio_quantity)?,
        );
    }
    push(form, "class", "multileg");
    push(form, "symbol", underlying.unwrap_or_default());
    match order.order_type {
        OrderType::Market => push(form, "type", "market"),
        OrderType::Limit => {
            let p = order
                .limit_price
                .ok_or_else(|| AdapterError::invalid_request("a limit order needs limit_price"))?;
            let word = if order.side == Side::Buy {
                "debit"
            } else {
                "credit"
            };
            push(form, "type", word);
            push(form, "price", p.abs().normalize().to_string());
        }
        other => {
            return Err(AdapterError::unsupported(format!(
                "Tradier multileg orders cannot be {other:?}"
            )))
        }
    }
    form.extend(indexed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Leg;
    use rust_decimal_macros::dec;

    fn get<'a>(f: &'a Form, k: &str) -> Option<&'a str> {
        f.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn equity_sides_follow_the_position() {
        let sell = Order::market("c", "AAPL", Side::Sell, dec!(5));
        assert_eq!(
            get(&order_form(&sell, "c", Held(dec!(10))).unwrap(), "side"),
            Some("sell")
        );
        assert_eq!(
            get(&order_form(&sell, "c", Held(dec!(0))).unwrap(), "side"),
            Some("sell_short")
        );
        let buy = Order::market("c", "AAPL", Side::Buy, dec!(5));
        assert_eq!(
            get(&order_form(&buy, "c", Held(dec!(-5))).unwrap(), "side"),
            Some("buy_to_cover")
        );
        let f = order_form(
            &Order::limit("c", "AAPL", Side::Buy, dec!(5), dec!(1.50)),
            "t",
            Held::default(),
        )
        .unwrap();
        assert_eq!(
            (
                get(&f, "type"),
                get(&f, "price"),
                get(&f, "duration"),
                get(&f, "tag")
            ),
            (Some("limit"), Some("1.5"), Some("day"), Some("t"))
        );
    }

    #[test]
    fn modify_forms_send_only_what_changes_and_never_a_quantity() {
        let changes = Replace {
            limit_price: Some(dec!(2.50)),
            time_in_force: Some(TimeInForce::Gtc),
            ..Replace::default()
        };
        assert_eq!(
            modify_form(&changes).unwrap(),
            vec![
                ("duration".to_string(), "gtc".to_string()),
                ("price".to_string(), "2.5".to_string())
            ]
        );
        let qty = Replace {
            quantity: Some(dec!(3)),
            limit_price: Some(dec!(2)),
            ..Replace::default()
        };
        let e = modify_form(&qty).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Unsupported);
        assert!(e.message.contains("quantity"), "{e}");
        let relabel = Replace {
            client_order_id: Some("new".into()),
            ..Replace::default()
        };
        assert_eq!(
            modify_form(&relabel).unwrap_err().kind,
            crate::ErrorKind::Unsupported
        );
        assert_eq!(
            modify_form(&Replace::default()).unwrap_err().kind,
            crate::ErrorKind::InvalidRequest
        );
        let negative = Replace {
            stop_price: Some(dec!(-1)),
            ..Replace::default()
        };
        assert_eq!(
            modify_form(&negative).unwrap_err().kind,
            crate::ErrorKind::InvalidRequest
        );
        let ioc = Replace {
            time_in_force: Some(TimeInForce::Ioc),
            ..Replace::default()
        };
        assert_eq!(
            modify_form(&ioc).unwrap_err().kind,
            crate::ErrorKind::Unsupported
        );
        assert!(carries(&changes, Some(dec!(2.5)), None, Some("gtc")));
        assert!(!carries(&changes, Some(dec!(1)), None, Some("gtc")));
        assert!(!carries(&changes, Some(dec!(2.5)), None, Some("day")));
    }

    #[test]
    fn options_multileg_and_refusals() {
        let occ = |s: &str| Instrument::parse_symbol(s);
        let mut o = Order::market("c", "X", Side::Sell, dec!(2));
        o.instrument = occ("SPY   260116P00580000");
        o.position_effect = Some(PositionEffect::Close);
        let f = order_form(&o, "c", Held::default()).unwrap();
        assert_eq!(
            (
                get(&f, "class"),
                get(&f, "symbol"),
                get(&f, "option_symbol"),
                get(&f, "side")
            ),
            (
                Some("option"),
                Some("SPY"),
                Some("SPY260116P00580000"),
                Some("sell_to_close")
            )
        );
        o.position_effect = None;
        assert_eq!(
            order_form(&o, "c", Held::default()).unwrap_err().kind,
            crate::ErrorKind::InvalidRequest
        );

        let mut spread = Order::limit("c", "SPY", Side::Sell, dec!(3), dec!(1.10));
        spread.legs = Some(vec![
            Leg {
                instrument: occ("SPY260116P00580000"),
                side: Side::Sell,
                position_effect: Some(PositionEffect::Open),
                ratio_quantity: dec!(1),
            },
            Leg {
                instrument: occ("SPY260116P00575000"),
                side: Side::Buy,
                position_effect: Some(PositionEffect::Open),
                ratio_quantity: dec!(1),
            },
        ]);
        let f = order_form(&spread, "c", Held::default()).unwrap();
        assert_eq!(
            (
                get(&f, "class"),
                get(&f, "type"),
                get(&f, "price"),
                get(&f, "quantity[1]"),
                get(&f, "side[0]")
            ),
            (
                Some("multileg"),
                Some("credit"),
                Some("1.1"),
                Some("3"),
                Some("sell_to_open")
            )
        );

        let mut ioc = Order::market("c", "AAPL", Side::Buy, dec!(1));
        ioc.time_in_force = TimeInForce::Ioc;
        assert_eq!(
            order_form(&ioc, "c", Held::default()).unwrap_err().kind,
            crate::ErrorKind::Unsupported
        );
        let frac = Order::market("c", "AAPL", Side::Buy, dec!(0.5));
        assert_eq!(
            order_form(&frac, "c", Held::default()).unwrap_err().kind,
            crate::ErrorKind::Unsupported
        );
    }
}
