//! Between Tradier's form-encoded orders and the brokerage: requests in,
//! order objects out.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::{json, Value};

use mbt::{Instrument, Leg, OrderRequest, OrderType, PositionEffect, Side, TimeInForce};

use super::errors::TradierError;
use super::wire::{num, symbol, time};
use crate::brokerage::{BrokerOrder, SimBrokerage};

const MAX_TAG: usize = 255;
const MAX_LEGS: usize = 4;

/// A form body: the last value of each key wins, as in most form parsers.
pub type Form = BTreeMap<String, String>;

pub fn parse_form(body: &[u8]) -> Result<Form, TradierError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| TradierError::invalid("Invalid request body"))?;
    Ok(pairs.into_iter().collect())
}

/// A field that is present and not empty (clients send `price=` when unused).
pub fn field<'a>(form: &'a Form, key: &str) -> Option<&'a str> {
    form.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

fn required<'a>(form: &'a Form, key: &str) -> Result<&'a str, TradierError> {
    field(form, key)
        .ok_or_else(|| TradierError::invalid(format!("Invalid parameter, {key}: required")))
}

fn decimal(form: &Form, key: &str) -> Result<Option<Decimal>, TradierError> {
    field(form, key)
        .map(|v| {
            v.parse::<Decimal>()
                .map_err(|_| TradierError::invalid(format!("Invalid parameter, {key}: {v}")))
        })
        .transpose()
}

pub fn validate_tag(tag: &str) -> Result<(), TradierError> {
    if tag.len() > MAX_TAG {
        return Err(TradierError::invalid(
            "Invalid parameter, tag: contains more than 255 characters.",
        ));
    }
    if !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(TradierError::invalid(
            "Invalid parameter, tag: contains invalid characters.",
        ));
    }
    Ok(())
}

pub fn duration_of(word: &str) -> Result<TimeInForce, TradierError> {
    match word {
        "day" => Ok(TimeInForce::Day),
        "gtc" => Ok(TimeInForce::Gtc),
        "pre" | "post" => Err(TradierError::invalid(format!(
            "Invalid parameter, duration: {word} market sessions are not simulated by raxx-sim"
        ))),
        other => Err(TradierError::invalid(format!(
            "Invalid parameter, duration: {other}"
        ))),
    }
}

fn duration_word(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Gtc => "gtc",
        _ => "day",
    }
}

fn type_of(word: &str) -> Result<OrderType, TradierError> {
    match word {
        "market" => Ok(OrderType::Market),
        "limit" => Ok(OrderType::Limit),
        "stop" => Ok(OrderType::Stop),
        "stop_limit" => Ok(OrderType::StopLimit),
        other => Err(TradierError::invalid(format!(
            "Invalid parameter, type: {other}"
        ))),
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

/// Tradier's four equity sides are side and position effect: `sell` closes
/// a long (refused when there is none to sell), `sell_short` opens a short,
/// `buy_to_cover` closes one; `buy` leaves the effect to the engine.
fn equity_side(word: &str) -> Result<(Side, Option<PositionEffect>), TradierError> {
    match word {
        "buy" => Ok((Side::Buy, None)),
        "buy_to_cover" => Ok((Side::Buy, Some(PositionEffect::Close))),
        "sell" => Ok((Side::Sell, Some(PositionEffect::Close))),
        "sell_short" => Ok((Side::Sell, Some(PositionEffect::Open))),
        _ => Err(TradierError::invalid("side is invalid for class equity")),
    }
}

fn equity_side_word(side: Side, effect: Option<PositionEffect>) -> &'static str {
    match (side, effect) {
        (Side::Buy, Some(PositionEffect::Close)) => "buy_to_cover",
        (Side::Buy, _) => "buy",
        (Side::Sell, Some(PositionEffect::Open)) => "sell_short",
        (Side::Sell, _) => "sell",
    }
}

fn option_side(word: &str) -> Result<(Side, PositionEffect), TradierError> {
    match word {
        "buy_to_open" => Ok((Side::Buy, PositionEffect::Open)),
        "buy_to_close" => Ok((Side::Buy, PositionEffect::Close)),
        "sell_to_open" => Ok((Side::Sell, PositionEffect::Open)),
        "sell_to_close" => Ok((Side::Sell, PositionEffect::Close)),
        _ => Err(TradierError::invalid("side is invalid for class option")),
    }
}

fn whole(form: &Form, key: &str) -> Result<Decimal, TradierError> {
    let q = decimal(form, key)?
        .ok_or_else(|| TradierError::invalid(format!("Invalid parameter, {key}: required")))?;
    if q <= Decimal::ZERO || !q.fract().is_zero() {
        return Err(TradierError::invalid(format!(
            "Invalid parameter, {key}: {q}"
        )));
    }
    Ok(q.normalize())
}

/// The engine request for a place-order form, and the side word to show back.
pub fn to_request(account: &str, form: &Form) -> Result<OrderRequest, TradierError> {
    let class = required(form, "class")?;
    let time_in_force = duration_of(required(form, "duration")?)?;
    let tag = field(form, "tag").unwrap_or_default();
    validate_tag(tag)?;
    let price = decimal(form, "price")?;
    let stop = decimal(form, "stop")?;
    let base = |instrument, side, position_effect, quantity, order_type| OrderRequest {
        account_id: account.to_string(),
        client_order_id: tag.to_string(),
        instrument,
        side,
        position_effect,
        quantity,
        order_type,
        limit_price: price
            .filter(|_| matches!(order_type, OrderType::Limit | OrderType::StopLimit)),
        stop_price: stop.filter(|_| matches!(order_type, OrderType::Stop | OrderType::StopLimit)),
        time_in_force,
        legs: None,
    };
    let needs_prices = |t: OrderType| -> Result<(), TradierError> {
        let mut errors = Vec::new();
        if matches!(t, OrderType::Limit | OrderType::StopLimit) && price.is_none() {
            errors.push("price is required for limit orders".to_string());
        }
        if matches!(t, OrderType::Stop | OrderType::StopLimit) && stop.is_none() {
            errors.push("stop is required for stop orders".to_string());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(TradierError::Errors {
                status: axum::http::StatusCode::BAD_REQUEST,
                errors,
            })
        }
    };
    match class {
        "equity" => {
            let (side, effect) = equity_side(required(form, "side")?)?;
            let t = type_of(required(form, "type")?)?;
            needs_prices(t)?;
            let instrument = Instrument::equity(required(form, "symbol")?);
            Ok(base(instrument, side, effect, whole(form, "quantity")?, t))
        }
        "option" => {
            let (side, effect) = option_side(required(form, "side")?)?;
            let t = type_of(required(form, "type")?)?;
            needs_prices(t)?;
            let occ = required(form, "option_symbol")?;
            let instrument = Instrument::parse_symbol(occ);
            if !instrument.is_option() {
                return Err(TradierError::invalid(format!(
                    "Invalid parameter, {occ}: symbol not found."
                )));
            }
            Ok(base(
                instrument,
                side,
                Some(effect),
                whole(form, "quantity")?,
                t,
            ))
        }
        "multileg" => multi_leg(
            form,
            base(
                Instrument::equity(required(form, "symbol")?),
                Side::Buy,
                None,
                Decimal::ONE,
                OrderType::Market,
            ),
            price,
        ),
        other => Err(TradierError::invalid(format!(
            "Invalid parameter, class: {other} is not simulated by raxx-sim"
        ))),
    }
}

fn multi_leg(
    form: &Form,
    base: OrderRequest,
    price: Option<Decimal>,
) -> Result<OrderRequest, TradierError> {
    let (order_type, side) = match required(form, "type")? {
        "market" => (OrderType::Market, Side::Buy),
        "debit" => (OrderType::Limit, Side::Buy),
        "credit" => (OrderType::Limit, Side::Sell),
        "even" => {
            return Err(TradierError::invalid(
                "even multileg orders are not simulated by raxx-sim",
            ))
        }
        other => {
            return Err(TradierError::invalid(format!(
                "Invalid parameter, type: {other}"
            )))
        }
    };
    if order_type == OrderType::Limit && price.is_none() {
        return Err(TradierError::invalid(
            "price is required for debit and credit orders",
        ));
    }
    let mut legs = Vec::new();
    for i in 0..MAX_LEGS {
        let Some(occ) = field(form, &format!("option_symbol[{i}]")) else {
            break;
        };
        let (leg_side, effect) = option_side(required(form, &format!("side[{i}]"))?)?;
        legs.push((
            Instrument::parse_symbol(occ),
            leg_side,
            effect,
            whole(form, &format!("quantity[{i}]"))?,
        ));
    }
    if legs.len() < 2 {
        return Err(TradierError::invalid(
            "a multileg order needs at least 2 legs",
        ));
    }
    // Leg quantities are contracts; the order counts spreads of the smallest leg.
    let units = legs.iter().map(|l| l.3).min().unwrap_or(Decimal::ONE);
    let legs = legs
        .into_iter()
        .map(|(instrument, side, effect, q)| {
            let ratio = q / units;
            if !ratio.fract().is_zero() {
                return Err(TradierError::invalid(
                    "leg quantities must be whole multiples of the smallest leg",
                ));
            }
            Ok(Leg {
                instrument,
                side,
                position_effect: Some(effect),
                ratio_quantity: ratio.normalize(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OrderRequest {
        side,
        quantity: units,
        order_type,
        limit_price: price.filter(|_| order_type == OrderType::Limit),
        stop_price: None,
        legs: Some(legs),
        ..base
    })
}

fn option_side_word(side: Side, effect: Option<PositionEffect>) -> &'static str {
    match (side, effect.unwrap_or(PositionEffect::Open)) {
        (Side::Buy, PositionEffect::Open) => "buy_to_open",
        (Side::Buy, PositionEffect::Close) => "buy_to_close",
        (Side::Sell, PositionEffect::Open) => "sell_to_open",
        (Side::Sell, PositionEffect::Close) => "sell_to_close",
    }
}

/// The order object (§2.2), as it stands now.
pub fn to_json(b: &SimBrokerage, o: &BrokerOrder, include_tags: bool) -> Value {
    let r = &o.request;
    let state = b.state(o);
    let remaining = if state.status.is_terminal() {
        Decimal::ZERO
    } else {
        r.quantity - state.filled_quantity
    };
    let (last_qty, last_price) = o.last_fill.unwrap_or_default();
    let multi = r.is_multi_leg();
    let mut v = json!({
        "id": o.vendor_id.parse::<u64>().unwrap_or_default(),
        "type": if multi {
            match (r.order_type, r.side) {
                (OrderType::Market, _) => "market",
                (_, Side::Buy) => "debit",
                (_, Side::Sell) => "credit",
            }
        } else {
            type_word(r.order_type)
        },
        "symbol": r.instrument.underlying(),
        // A multileg parent reads `buy` in every documented example (§2.2).
        "side": if multi { "buy" } else { equity_side_word(r.side, r.position_effect) },
        "quantity": num(r.quantity),
        "status": b.profile().vendor_status(state.status),
        "duration": duration_word(r.time_in_force),
        "avg_fill_price": num(state.average_fill_price.unwrap_or_default()),
        "exec_quantity": num(state.filled_quantity),
        "last_fill_price": num(last_price),
        "last_fill_quantity": num(last_qty),
        "remaining_quantity": num(remaining),
        "create_date": time(o.submitted_at),
        "transaction_date": time(o.updated_at),
        "class": if multi { "multileg" } else if r.instrument.is_option() { "option" } else { "equity" },
    });
    // Absent numeric fields are omitted, never null (§8.11).
    if let Some(p) = r.limit_price {
        v["price"] = num(p);
    }
    if let Some(p) = r.stop_price {
        v["stop_price"] = num(p);
    }
    if r.instrument.is_option() {
        v["option_symbol"] = json!(symbol(&r.instrument));
    }
    if include_tags && !o.client_order_id.is_empty() {
        v["tag"] = json!(o.client_order_id);
    }
    if let Some(rej) = &o.rejection {
        v["reason_description"] = json!(rej.message);
    }
    if let Some(legs) = r.legs.as_ref().filter(|l| !l.is_empty()) {
        v["num_legs"] = json!(legs.len());
        v["strategy"] = json!(if legs.len() == 2 { "spread" } else { "unknown" });
        let leg_json: Vec<Value> = legs
            .iter()
            .zip(&o.leg_ids)
            .map(|(l, id)| {
                json!({
                    "id": id.parse::<u64>().unwrap_or_default(),
                    "type": v["type"],
                    "symbol": l.instrument.underlying(),
                    "side": option_side_word(l.side, l.position_effect),
                    "quantity": num(r.quantity * l.ratio_quantity),
                    "status": v["status"],
                    "duration": v["duration"],
                    "avg_fill_price": num(Decimal::ZERO),
                    "exec_quantity": num(state.filled_quantity * l.ratio_quantity),
                    "last_fill_price": num(Decimal::ZERO),
                    "last_fill_quantity": num(Decimal::ZERO),
                    "remaining_quantity": num(remaining * l.ratio_quantity),
                    "create_date": v["create_date"],
                    "transaction_date": v["transaction_date"],
                    "class": "option",
                    "option_symbol": symbol(&l.instrument),
                })
            })
            .collect();
        v["leg"] = if leg_json.len() == 1 {
            leg_json[0].clone()
        } else {
            json!(leg_json)
        };
    } else if r.instrument.is_option() {
        v["side"] = json!(option_side_word(r.side, r.position_effect));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(s: &str) -> Form {
        parse_form(s.as_bytes()).unwrap()
    }

    #[test]
    fn tolerates_what_clients_send() {
        let r = to_request("VA1", &form("class=equity&symbol=AAPL&side=sell_short&quantity=10.0&type=market&duration=day&price=&stop=&tag=intent-1")).unwrap();
        assert_eq!(
            (
                r.quantity,
                r.side,
                r.position_effect,
                r.client_order_id.as_str()
            ),
            (
                Decimal::TEN,
                Side::Sell,
                Some(PositionEffect::Open),
                "intent-1"
            )
        );
        assert_eq!(equity_side_word(r.side, r.position_effect), "sell_short");
        assert_eq!(r.limit_price, None);
        let r = to_request("VA1", &form("class=option&symbol=SPY&option_symbol=SPY190605C00282000&side=buy_to_open&quantity=1&type=limit&price=1.25&duration=gtc&advanced=x")).unwrap();
        assert!(r.instrument.is_option());
        assert_eq!(r.position_effect, Some(PositionEffect::Open));
        let r = to_request("VA1", &form("class=multileg&symbol=SPY&type=credit&duration=day&price=1.00&option_symbol[0]=SPY190605P00282000&side[0]=sell_to_open&quantity[0]=10&option_symbol[1]=SPY190605P00280000&side[1]=buy_to_open&quantity[1]=10")).unwrap();
        assert_eq!(
            (r.side, r.quantity, r.legs.as_ref().unwrap().len()),
            (Side::Sell, Decimal::TEN, 2)
        );
    }

    #[test]
    fn refuses_bad_forms_with_tradier_texts() {
        let err = |s: &str| match to_request("VA1", &form(s)).unwrap_err() {
            TradierError::Errors { errors, .. } => errors.join("|"),
            other => format!("{other:?}"),
        };
        assert_eq!(
            err("class=equity&symbol=AAPL&side=buy&quantity=1&type=market&duration=day&tag=a_b"),
            "Invalid parameter, tag: contains invalid characters."
        );
        assert_eq!(
            err(&format!(
                "class=equity&symbol=AAPL&side=buy&quantity=1&type=market&duration=day&tag={}",
                "a".repeat(256)
            )),
            "Invalid parameter, tag: contains more than 255 characters."
        );
        assert_eq!(err("class=option&symbol=SPY&option_symbol=SPY190605C00282000&side=buy&quantity=1&type=market&duration=day"), "side is invalid for class option");
        assert_eq!(
            err("class=equity&symbol=AAPL&side=buy&quantity=1&type=stop_limit&duration=day"),
            "price is required for limit orders|stop is required for stop orders"
        );
        assert_eq!(err("symbol=AAPL"), "Invalid parameter, class: required");
        assert_eq!(
            err("class=equity&symbol=AAPL&side=buy&quantity=1.5&type=market&duration=day"),
            "Invalid parameter, quantity: 1.5"
        );
    }
}
