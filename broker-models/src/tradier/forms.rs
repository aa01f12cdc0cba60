//! Tradier's form-encoded order requests (reference §1.3, §2.1, §2.5) into
//! engine requests, refusing what Tradier refuses with its own words.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use mbt::{Instrument, OrderRequest, OrderType, PositionEffect, Side, TimeInForce};

use super::errors::{text, TradierError};

const MAX_TAG: usize = 255;
const MAX_LEGS: usize = 4;
/// Tradier's quantity range (IncorrectOrderQuantity, docs.tradier.com `docs/error-responses`).
const MAX_QUANTITY: Decimal = Decimal::from_parts(10_000_000, 0, 0, false, 0);

/// A form body: the last value of each key wins, as in most form parsers.
pub type Form = BTreeMap<String, String>;

pub fn parse_form(body: &[u8]) -> Result<Form, TradierError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| TradierError::invalid("Invalid request body"))?;
    Ok(pairs.into_iter().collect())
}

/// A field that is present and not empty (clients send `price=` when unused, §1.3).
pub fn field<'a>(form: &'a Form, key: &str) -> Option<&'a str> {
    form.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

fn required<'a>(form: &'a Form, key: &str) -> Result<&'a str, TradierError> {
    field(form, key).ok_or_else(|| TradierError::parameter(key, "required"))
}

/// A number as clients write one: `10`, `10.0`, or a float's `1e+27`.
fn number(v: &str) -> Option<Decimal> {
    v.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(v).ok())
}

pub fn decimal(form: &Form, key: &str) -> Result<Option<Decimal>, TradierError> {
    field(form, key)
        .map(|v| number(v).ok_or_else(|| TradierError::parameter(key, v)))
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
        "pre" | "post" => Err(TradierError::parameter(
            "duration",
            format!("{word} market sessions are not simulated by raxx-sim"),
        )),
        other => Err(TradierError::parameter("duration", other)),
    }
}

pub fn type_of(word: &str) -> Result<OrderType, TradierError> {
    match word {
        "market" => Ok(OrderType::Market),
        "limit" => Ok(OrderType::Limit),
        "stop" => Ok(OrderType::Stop),
        "stop_limit" => Ok(OrderType::StopLimit),
        other => Err(TradierError::parameter("type", other)),
    }
}

/// Tradier's four equity sides are side and position effect (§2.1.1):
/// `buy` opens or adds to a long, `sell` closes one, `sell_short` opens or
/// adds to a short, `buy_to_cover` closes one.
fn equity_side(word: &str) -> Result<(Side, PositionEffect), TradierError> {
    match word {
        "buy" => Ok((Side::Buy, PositionEffect::Open)),
        "buy_to_cover" => Ok((Side::Buy, PositionEffect::Close)),
        "sell" => Ok((Side::Sell, PositionEffect::Close)),
        "sell_short" => Ok((Side::Sell, PositionEffect::Open)),
        _ => Err(TradierError::invalid("side is invalid for class equity")),
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

/// A whole, positive quantity: a bad value is a parameter error (400); one
/// past Tradier's range an order refusal (inside a 200, as its code table says).
fn whole(form: &Form, key: &str) -> Result<Decimal, TradierError> {
    let q = decimal(form, key)?.ok_or_else(|| TradierError::parameter(key, "required"))?;
    if q <= Decimal::ZERO || !q.fract().is_zero() {
        return Err(TradierError::parameter(key, q));
    }
    if q > MAX_QUANTITY {
        return Err(TradierError::refused(text::QUANTITY));
    }
    Ok(q.normalize())
}

/// The list of what a single-leg order of type `t` lacks (§5.2's list shape).
fn needs_prices(
    t: OrderType,
    price: Option<Decimal>,
    stop: Option<Decimal>,
) -> Result<(), TradierError> {
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
        Err(TradierError::invalid_all(errors))
    }
}

/// The engine request for a place-order form.
pub fn to_request(account: &str, form: &Form) -> Result<OrderRequest, TradierError> {
    let class = required(form, "class")?;
    let time_in_force = duration_of(required(form, "duration")?)?;
    let tag = field(form, "tag").unwrap_or_default();
    validate_tag(tag)?;
    // The docs list `symbol` (the underlying) on option orders too, but
    // tradier-api-client sends none, and the reference (§2.1.2) records no
    // refusal for it: an option order may leave it out.
    let symbol = match class {
        "option" => field(form, "symbol").unwrap_or_default(),
        _ => required(form, "symbol")?,
    };
    let base = OrderRequest {
        account_id: account.to_string(),
        client_order_id: tag.to_string(),
        instrument: Instrument::equity(symbol),
        side: Side::Buy,
        position_effect: None,
        quantity: Decimal::ONE,
        order_type: OrderType::Market,
        limit_price: None,
        stop_price: None,
        time_in_force,
        legs: None,
        trail: None,
    };
    match class {
        "equity" => single_leg(form, base, None),
        "option" => {
            let occ = required(form, "option_symbol")?;
            let instrument = Instrument::parse_symbol(occ);
            if !instrument.is_option() {
                return Err(TradierError::invalid(format!(
                    "Invalid parameter, {occ}: symbol not found."
                )));
            }
            single_leg(form, base, Some(instrument))
        }
        "multileg" => multi_leg(form, base),
        other => Err(TradierError::parameter(
            "class",
            format!("{other} is not simulated by raxx-sim"),
        )),
    }
}

/// An equity order, or an option order on `option`.
fn single_leg(
    form: &Form,
    base: OrderRequest,
    option: Option<Instrument>,
) -> Result<OrderRequest, TradierError> {
    let side = required(form, "side")?;
    let (side, effect) = match option {
        Some(_) => option_side(side)?,
        None => equity_side(side)?,
    };
    let order_type = type_of(required(form, "type")?)?;
    let price = decimal(form, "price")?;
    let stop = decimal(form, "stop")?;
    needs_prices(order_type, price, stop)?;
    Ok(OrderRequest {
        instrument: option.unwrap_or(base.instrument.clone()),
        side,
        position_effect: Some(effect),
        quantity: whole(form, "quantity")?,
        order_type,
        limit_price: price
            .filter(|_| matches!(order_type, OrderType::Limit | OrderType::StopLimit)),
        stop_price: stop.filter(|_| matches!(order_type, OrderType::Stop | OrderType::StopLimit)),
        ..base
    })
}

/// A multileg type word as an engine type and the side of its net price.
fn multi_leg_type(word: &str) -> Result<(OrderType, Side), TradierError> {
    match word {
        "market" => Ok((OrderType::Market, Side::Buy)),
        "debit" => Ok((OrderType::Limit, Side::Buy)),
        "credit" => Ok((OrderType::Limit, Side::Sell)),
        "even" => Err(TradierError::parameter(
            "type",
            "even multileg orders are not simulated by raxx-sim",
        )),
        other => Err(TradierError::parameter("type", other)),
    }
}

fn multi_leg(form: &Form, base: OrderRequest) -> Result<OrderRequest, TradierError> {
    let (order_type, side) = multi_leg_type(required(form, "type")?)?;
    let price = decimal(form, "price")?;
    if order_type == OrderType::Limit && price.is_none() {
        return Err(TradierError::invalid(
            "price is required for debit and credit orders",
        ));
    }
    // Leg quantities are contracts; the order counts spreads of the smallest leg.
    let (units, legs) = mbt::spreads_of(legs_of(form)?).ok_or_else(|| {
        TradierError::invalid("leg quantities must be whole multiples of the smallest leg")
    })?;
    Ok(OrderRequest {
        side,
        quantity: units,
        order_type,
        limit_price: price.filter(|_| order_type == OrderType::Limit),
        legs: Some(legs),
        ..base
    })
}

type FormLeg = (Instrument, Side, Option<PositionEffect>, Decimal);

/// `option_symbol[i]`, `side[i]`, `quantity[i]` for i = 0.. (at most 4, §2.1.3).
fn legs_of(form: &Form) -> Result<Vec<FormLeg>, TradierError> {
    let mut legs = Vec::new();
    for i in 0..MAX_LEGS {
        let Some(occ) = field(form, &format!("option_symbol[{i}]")) else {
            break;
        };
        let (side, effect) = option_side(required(form, &format!("side[{i}]"))?)?;
        legs.push((
            Instrument::parse_symbol(occ),
            side,
            Some(effect),
            whole(form, &format!("quantity[{i}]"))?,
        ));
    }
    if legs.len() < 2 {
        return Err(TradierError::invalid(
            "a multileg order needs at least 2 legs",
        ));
    }
    Ok(legs)
}

/// What Tradier's order desk says to a single-leg order given the
/// account's position `held` in its instrument, when it refuses it
/// (UnexpectedBuyOrder, UnexpectedSellShortOrder, LongPositionCrossZero, …
/// in docs.tradier.com `docs/error-responses`). The engine nets a long and
/// a short, so these rules are the face's.
pub fn position_refusal(r: &OrderRequest, held: Decimal) -> Option<&'static str> {
    let option = r.instrument.is_option();
    let q = r.quantity;
    match (r.side, r.position_effect?) {
        (Side::Buy, PositionEffect::Open) if held < Decimal::ZERO => Some(if option {
            text::BUY_TO_OPEN_WHILE_SHORT
        } else {
            text::BUY_WHILE_SHORT
        }),
        (Side::Sell, PositionEffect::Open) if held > Decimal::ZERO => Some(if option {
            text::SELL_TO_OPEN_WHILE_LONG
        } else {
            text::SHORT_WHILE_LONG
        }),
        (Side::Buy, PositionEffect::Close) if held >= Decimal::ZERO => Some(if option {
            text::BUY_TO_CLOSE_WITHOUT_SHORT
        } else {
            text::COVER_WITHOUT_SHORT
        }),
        (Side::Buy, PositionEffect::Close) if q > -held => Some(text::COVER_PAST_SHORT),
        (Side::Sell, PositionEffect::Close) if held <= Decimal::ZERO => {
            Some(text::SELL_WITHOUT_LONG)
        }
        (Side::Sell, PositionEffect::Close) if q > held => Some(text::SELL_PAST_LONG),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbt::PositionEffect::{Close, Open};

    fn form(s: &str) -> Form {
        parse_form(s.as_bytes()).unwrap()
    }

    fn equity(side: &str, qty: u32) -> OrderRequest {
        to_request(
            "VA1",
            &form(&format!(
                "class=equity&symbol=AAPL&side={side}&quantity={qty}&type=market&duration=day"
            )),
        )
        .unwrap()
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
            (Decimal::TEN, Side::Sell, Some(Open), "intent-1")
        );
        assert_eq!(r.limit_price, None);
        let r = to_request("VA1", &form("class=option&option_symbol=SPY190605C00282000&side=buy_to_open&quantity=1&type=limit&price=1.25&duration=gtc&advanced=x")).unwrap();
        assert!(r.instrument.is_option());
        assert_eq!(r.position_effect, Some(Open));
        let r = to_request("VA1", &form("class=multileg&symbol=SPY&type=credit&duration=day&price=1.00&option_symbol[0]=SPY190605P00282000&side[0]=sell_to_open&quantity[0]=10&option_symbol[1]=SPY190605P00280000&side[1]=buy_to_open&quantity[1]=10")).unwrap();
        assert_eq!(
            (r.side, r.quantity, r.legs.as_ref().unwrap().len()),
            (Side::Sell, Decimal::TEN, 2)
        );
        assert_eq!(
            number("1e+27"),
            Some(Decimal::from_scientific("1e27").unwrap())
        );
    }

    #[test]
    fn refuses_bad_forms_with_tradier_texts() {
        let err = |s: &str| match to_request("VA1", &form(s)).unwrap_err() {
            TradierError::Errors { status, errors } => {
                format!("{} {}", status.as_u16(), errors.join("|"))
            }
            other => format!("{other:?}"),
        };
        assert_eq!(
            err("class=equity&symbol=AAPL&side=buy&quantity=1&type=market&duration=day&tag=a_b"),
            "400 Invalid parameter, tag: contains invalid characters."
        );
        assert_eq!(
            err(&format!(
                "class=equity&symbol=AAPL&side=buy&quantity=1&type=market&duration=day&tag={}",
                "a".repeat(256)
            )),
            "400 Invalid parameter, tag: contains more than 255 characters."
        );
        assert_eq!(err("class=option&symbol=SPY&option_symbol=SPY190605C00282000&side=buy&quantity=1&type=market&duration=day"), "400 side is invalid for class option");
        assert_eq!(
            err("class=equity&symbol=AAPL&side=buy&quantity=1&type=stop_limit&duration=day"),
            "400 price is required for limit orders|stop is required for stop orders"
        );
        assert_eq!(err("symbol=AAPL"), "400 Invalid parameter, class: required");
        assert_eq!(
            err("class=equity&symbol=AAPL&side=buy&quantity=1.5&type=market&duration=day"),
            "400 Invalid parameter, quantity: 1.5"
        );
        // Absurd quantities are Tradier's range refusal, inside a 200 (never a panic).
        let spread = |q: &str| {
            format!("class=multileg&symbol=SPY&type=market&duration=day&option_symbol[0]=SPY190605P00282000&side[0]=sell_to_open&quantity[0]=1&option_symbol[1]=SPY190605P00280000&side[1]=buy_to_open&quantity[1]={q}")
        };
        assert_eq!(err(&spread("1e27")), format!("200 {}", text::QUANTITY));
        assert_eq!(
            err(&spread("99999999999999999999999999999999")),
            "400 Invalid parameter, quantity[1]: 99999999999999999999999999999999"
        );
    }

    #[test]
    fn sides_against_the_position_held() {
        let refused = |side: &str, qty: u32, held: i64| {
            position_refusal(&equity(side, qty), Decimal::from(held))
        };
        assert_eq!(refused("sell", 1, 0), Some(text::SELL_WITHOUT_LONG));
        assert_eq!(refused("sell", 11, 10), Some(text::SELL_PAST_LONG));
        assert_eq!(refused("sell", 10, 10), None);
        assert_eq!(refused("sell_short", 1, 10), Some(text::SHORT_WHILE_LONG));
        assert_eq!(refused("sell_short", 1, -5), None);
        assert_eq!(
            refused("buy_to_cover", 1, 0),
            Some(text::COVER_WITHOUT_SHORT)
        );
        assert_eq!(refused("buy_to_cover", 6, -5), Some(text::COVER_PAST_SHORT));
        assert_eq!(refused("buy_to_cover", 5, -5), None);
        assert_eq!(refused("buy", 1, -5), Some(text::BUY_WHILE_SHORT));
        assert_eq!(refused("buy", 1, 5), None);
        let mut close = equity("sell", 1);
        close.position_effect = Some(Close);
        close.instrument = Instrument::parse_symbol("SPY190605P00282000");
        assert_eq!(
            position_refusal(&close, Decimal::ZERO),
            Some(text::SELL_WITHOUT_LONG)
        );
    }
}
