//! Orders in (reference §2.2, §2.8, §8.5, §8.11): the JSON bodies of a
//! submit, a dry run and a replace, typed, and what they ask the engine
//! for. Unknown keys are tolerated (the Python SDK always sends `source`
//! and `behavior`); a known key with a value the model cannot simulate is
//! refused loudly, never dropped.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use mbt::engine::ReplaceRequest;
use mbt::{Instrument, Leg, OrderRequest, OrderType, PositionEffect, Side, TimeInForce};

use super::errors::TastytradeError;
use super::num::Lenient;
use super::wire::Effect;
use super::words;

/// The body of `POST …/orders` (and of a dry run; of a replace without `legs`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct OrderBody {
    pub time_in_force: Option<String>,
    pub order_type: Option<String>,
    pub price: Option<Lenient>,
    pub price_effect: Option<String>,
    pub stop_trigger: Option<Lenient>,
    pub value: Option<Lenient>,
    pub value_effect: Option<String>,
    pub gtc_date: Option<String>,
    pub legs: Option<Vec<LegBody>>,
    pub external_identifier: Option<String>,
    pub rules: Option<Value>,
    pub advanced_instructions: Option<AdvancedInstructions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LegBody {
    pub instrument_type: Option<String>,
    pub symbol: Option<String>,
    pub action: Option<String>,
    pub quantity: Option<Lenient>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AdvancedInstructions {
    /// False by default: a "to Close" leg with no position to close is
    /// silently turned into "to Open" (§2.2).
    #[serde(default)]
    pub strict_position_effect_validation: bool,
}

/// A JSON body as `T`, or tastytrade's 400 saying what did not read.
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, TastytradeError> {
    serde_json::from_slice(body).map_err(|e| {
        // serde's text names the field and the position, never a value.
        TastytradeError::invalid("body", e.to_string())
    })
}

/// An order as the engine takes it, and how strictly its closes are held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub request: OrderRequest,
    pub strict: bool,
    /// Why tastytrade's preflight refuses it although the engine would
    /// take it (the direction of its price), if it does.
    pub refused: Option<TastytradeError>,
}

fn required<'a>(v: &'a Option<String>, key: &str) -> Result<&'a str, TastytradeError> {
    v.as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| TastytradeError::invalid(key, "is missing"))
}

/// One leg, read: what it trades, which way, and how many.
struct ParsedLeg {
    instrument: Instrument,
    side: Side,
    effect: PositionEffect,
    quantity: Decimal,
}

fn leg(l: &LegBody) -> Result<ParsedLeg, TastytradeError> {
    let kind = required(&l.instrument_type, "legs[instrument-type]")?;
    let symbol = required(&l.symbol, "legs[symbol]")?;
    let instrument = words::instrument(kind, symbol)?;
    let (side, effect) = words::action(required(&l.action, "legs[action]")?)?;
    let quantity = l
        .quantity
        .map(|q| q.0)
        .ok_or_else(|| TastytradeError::invalid("legs[quantity]", "is missing"))?;
    Ok(ParsedLeg {
        instrument,
        side,
        effect,
        quantity,
    })
}

/// An order's price fields: limit, stop trigger, and the price's direction.
struct Prices {
    limit: Option<Decimal>,
    stop: Option<Decimal>,
    effect: Option<Effect>,
}

/// The price fields an order type takes (§2.2): a Limit its `price`, a
/// Stop its `stop-trigger`, a Stop Limit both, a Market neither; a price
/// comes with its `price-effect`.
fn prices(body: &OrderBody, t: OrderType) -> Result<Prices, TastytradeError> {
    let price = body.price.map(|p| p.0);
    let stop = body.stop_trigger.map(|p| p.0);
    let takes_price = matches!(t, OrderType::Limit | OrderType::StopLimit);
    let takes_stop = matches!(t, OrderType::Stop | OrderType::StopLimit);
    match (takes_price, price) {
        (true, None) => return Err(TastytradeError::invalid("price", "is missing")),
        (false, Some(_)) => {
            return Err(TastytradeError::invalid(
                "price",
                "is not allowed for this order type",
            ))
        }
        _ => {}
    }
    match (takes_stop, stop) {
        (true, None) => return Err(TastytradeError::invalid("stop-trigger", "is missing")),
        (false, Some(_)) => {
            return Err(TastytradeError::invalid(
                "stop-trigger",
                "is not allowed for this order type",
            ))
        }
        _ => {}
    }
    // Prices are never negative on the wire: the direction is the effect (§6).
    if price.is_some_and(|p| p.is_sign_negative()) || stop.is_some_and(|p| p.is_sign_negative()) {
        return Err(TastytradeError::invalid(
            "price",
            "must not be negative (the direction is price-effect)",
        ));
    }
    let effect = match (&body.price_effect, price) {
        (Some(word), Some(_)) => Some(words::effect(word)?),
        (None, Some(p)) if !p.is_zero() => {
            return Err(TastytradeError::invalid("price-effect", "is missing"))
        }
        _ => None,
    };
    Ok(Prices {
        limit: price,
        stop,
        effect,
    })
}

/// Refuses what the model has no engine for: rules, notional values, GTD dates.
fn unsimulated(body: &OrderBody) -> Result<(), TastytradeError> {
    if body.rules.as_ref().is_some_and(|r| !r.is_null()) {
        return Err(TastytradeError::not_simulated(
            "order rules (route-after, cancel-at, conditions)",
        ));
    }
    if body.value.is_some() || body.value_effect.is_some() {
        return Err(TastytradeError::invalid(
            "value",
            "is only for Notional Market orders",
        ));
    }
    if body.gtc_date.is_some() {
        return Err(TastytradeError::invalid(
            "gtc-date",
            "can only be provided if time-in-force is GTD",
        ));
    }
    Ok(())
}

/// Whether a price in `effect`'s direction fits legs that buy or sell
/// (§8.11): buying for a credit or selling for a debit is refused.
fn direction_refusal(sides: &[Side], effect: Option<Effect>) -> Option<TastytradeError> {
    let all = |s: Side| !sides.is_empty() && sides.iter().all(|x| *x == s);
    match effect {
        Some(Effect::Credit) if all(Side::Buy) => Some(TastytradeError::cant_buy_for_credit()),
        Some(Effect::Debit) if all(Side::Sell) => Some(TastytradeError::cant_sell_for_debit()),
        _ => None,
    }
}

/// The greatest common divisor of whole positive quantities.
fn gcd(a: Decimal, b: Decimal) -> Decimal {
    let (mut a, mut b) = (a, b);
    while !b.is_zero() {
        let r = a.checked_rem(b).unwrap_or(Decimal::ZERO);
        a = b;
        b = r;
    }
    a
}

/// What a submit body asks the engine for, in `account` (§2.2).
pub fn wanted(account: &str, body: &OrderBody) -> Result<Wanted, TastytradeError> {
    let tif = words::tif(required(&body.time_in_force, "time-in-force")?)?;
    let order_type = words::order_type(required(&body.order_type, "order-type")?)?;
    unsimulated(body)?;
    let legs = body
        .legs
        .as_deref()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| TastytradeError::invalid("legs", "is missing"))?;
    if legs.len() > 4 {
        return Err(TastytradeError::invalid("legs", "has more than 4 legs"));
    }
    let parsed = legs.iter().map(leg).collect::<Result<Vec<_>, _>>()?;
    let Prices {
        limit: price,
        stop,
        effect,
    } = prices(body, order_type)?;
    let strict = body
        .advanced_instructions
        .as_ref()
        .is_some_and(|a| a.strict_position_effect_validation);
    let client_order_id = body.external_identifier.clone().unwrap_or_default();
    let request = match parsed.as_slice() {
        [one] => OrderRequest {
            account_id: account.to_string(),
            client_order_id,
            instrument: one.instrument.clone(),
            side: one.side,
            position_effect: Some(one.effect),
            quantity: one.quantity,
            order_type,
            limit_price: price,
            stop_price: stop,
            time_in_force: tif,
            legs: None,
            trail: None,
        },
        many => spread(
            account,
            client_order_id,
            many,
            order_type,
            price,
            effect,
            tif,
        )?,
    };
    let sides: Vec<Side> = parsed.iter().map(|l| l.side).collect();
    let refused = if order_type == OrderType::Market && tif == TimeInForce::Gtc {
        Some(TastytradeError::gtc_market())
    } else {
        direction_refusal(&sides, effect)
    };
    Ok(Wanted {
        request,
        strict,
        refused,
    })
}

/// A multi-leg order: options on one underlying at one net limit price,
/// a debit buying the spread and a credit selling it (§2.2).
fn spread(
    account: &str,
    client_order_id: String,
    legs: &[ParsedLeg],
    order_type: OrderType,
    price: Option<Decimal>,
    effect: Option<Effect>,
    tif: TimeInForce,
) -> Result<OrderRequest, TastytradeError> {
    let Some(first) = legs.first() else {
        return Err(TastytradeError::invalid("legs", "is missing"));
    };
    let underlying = first.instrument.underlying().to_string();
    if legs
        .iter()
        .any(|l| !l.instrument.is_option() || l.instrument.underlying() != underlying)
    {
        return Err(TastytradeError::not_simulated(
            "multi-leg orders other than equity options on one underlying",
        ));
    }
    if order_type != OrderType::Limit {
        // Reportedly market orders are single-leg only (§2.2, UNVERIFIED);
        // without a price-effect nothing says whether the spread is bought or sold.
        return Err(TastytradeError::not_simulated(format!(
            "multi-leg {} orders",
            words::type_word(order_type)
        )));
    }
    if legs
        .iter()
        .any(|l| l.quantity <= Decimal::ZERO || !l.quantity.fract().is_zero())
    {
        return Err(TastytradeError::preflight(
            "invalid_quantity",
            "every leg's quantity must be a positive whole number",
        ));
    }
    let size = legs.iter().map(|l| l.quantity).fold(Decimal::ZERO, gcd);
    let legs = legs
        .iter()
        .map(|l| Leg {
            instrument: l.instrument.clone(),
            side: l.side,
            position_effect: Some(l.effect),
            ratio_quantity: l.quantity.checked_div(size).unwrap_or(Decimal::ONE),
        })
        .collect();
    Ok(OrderRequest {
        account_id: account.to_string(),
        client_order_id,
        instrument: Instrument::equity(underlying),
        side: match effect {
            Some(Effect::Credit) => Side::Sell,
            _ => Side::Buy,
        },
        position_effect: None,
        quantity: size,
        order_type,
        limit_price: price,
        stop_price: None,
        time_in_force: tif,
        legs: Some(legs),
        trail: None,
    })
}

/// Without strict validation a "to Close" the position does not cover is
/// turned into "to Open" (§2.2); `held` is the account's signed position.
pub fn relax_closes(request: &mut OrderRequest, held: impl Fn(&Instrument) -> Decimal) {
    let covers = |i: &Instrument, side: Side, qty: Decimal| match side {
        Side::Buy => -held(i) >= qty,
        Side::Sell => held(i) >= qty,
    };
    if let Some(legs) = request.legs.as_mut() {
        let spreads = request.quantity;
        for l in legs.iter_mut() {
            let qty = l.ratio_quantity.saturating_mul(spreads);
            if l.position_effect == Some(PositionEffect::Close)
                && !covers(&l.instrument, l.side, qty)
            {
                l.position_effect = Some(PositionEffect::Open);
            }
        }
    } else if request.position_effect == Some(PositionEffect::Close)
        && !covers(&request.instrument, request.side, request.quantity)
    {
        request.position_effect = Some(PositionEffect::Open);
    }
}

/// What a replace body (PUT or PATCH, §2.8) changes on `old`. The body has
/// no legs (the original's are kept), so symbol and quantity stay; the
/// engine keeps the order type, so a different type is refused, never ignored.
pub fn changes(old: &OrderRequest, body: &OrderBody) -> Result<ReplaceRequest, TastytradeError> {
    if body.legs.is_some() {
        return Err(TastytradeError::not_simulated(
            "legs on a replace (the swagger's replace body has none; the original legs are kept)",
        ));
    }
    let tif = words::tif(required(&body.time_in_force, "time-in-force")?)?;
    let order_type = words::order_type(required(&body.order_type, "order-type")?)?;
    unsimulated(body)?;
    if order_type != old.order_type {
        return Err(TastytradeError::not_simulated(format!(
            "changing a {} order into a {} order",
            words::type_word(old.order_type),
            words::type_word(order_type)
        )));
    }
    let Prices {
        limit: price,
        stop,
        effect,
    } = prices(body, order_type)?;
    if order_type == OrderType::Market && tif == TimeInForce::Gtc {
        return Err(TastytradeError::gtc_market());
    }
    // The direction cannot change: the legs are the original's.
    let sides: Vec<Side> = match &old.legs {
        Some(legs) if !legs.is_empty() => legs.iter().map(|l| l.side).collect(),
        _ => vec![old.side],
    };
    if let Some(refusal) = direction_refusal(&sides, effect) {
        return Err(refusal);
    }
    let multi_leg_direction = old.is_multi_leg().then_some(match old.side {
        Side::Buy => Effect::Debit,
        Side::Sell => Effect::Credit,
    });
    if effect.is_some() && multi_leg_direction.is_some_and(|d| Some(d) != effect) {
        return Err(TastytradeError::not_simulated(
            "turning a debit spread into a credit spread (or back) on a replace",
        ));
    }
    Ok(ReplaceRequest {
        quantity: None,
        limit_price: price,
        stop_price: stop,
        time_in_force: Some(tif),
        client_order_id: body.external_identifier.clone(),
        trail: None,
        order_type: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn body(json: &str) -> OrderBody {
        parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn the_python_sdks_limit_order_reads() {
        let b = body(
            r#"{"time-in-force":"GTC","source":"tastyware/tastytrade:v13.2.3","legs":[{"instrument-type":"Equity","symbol":"AAPL",
            "action":"Buy to Open","quantity":1}],"external-identifier":"cid-1","behavior":"immediate","order-type":"Limit",
            "price":"1.50","price-effect":"Debit"}"#,
        );
        let w = wanted("5WT00001", &b).unwrap();
        assert_eq!(w.request.limit_price, Some(dec!(1.50)));
        assert_eq!(w.request.side, Side::Buy);
        assert_eq!(w.request.client_order_id, "cid-1");
        assert!(w.refused.is_none() && !w.strict);
    }

    #[test]
    fn directions_and_shapes_are_checked() {
        let credit_buy = body(
            r#"{"time-in-force":"Day","order-type":"Limit","price":"1","price-effect":"Credit",
            "legs":[{"instrument-type":"Equity","symbol":"AAPL","action":"Buy to Open","quantity":1}]}"#,
        );
        assert_eq!(
            wanted("A", &credit_buy).unwrap().refused,
            Some(TastytradeError::cant_buy_for_credit())
        );
        let gtc_market = body(
            r#"{"time-in-force":"GTC","order-type":"Market","legs":[{"instrument-type":"Equity","symbol":"AAPL","action":"Buy to Open","quantity":1}]}"#,
        );
        assert_eq!(
            wanted("A", &gtc_market).unwrap().refused,
            Some(TastytradeError::gtc_market())
        );
        let no_effect = body(
            r#"{"time-in-force":"Day","order-type":"Limit","price":"1","legs":[{"instrument-type":"Equity","symbol":"AAPL","action":"Buy to Open","quantity":1}]}"#,
        );
        assert!(wanted("A", &no_effect).is_err());
        let notional = body(r#"{"time-in-force":"Day","order-type":"Notional Market","legs":[]}"#);
        assert!(wanted("A", &notional).is_err());
    }

    #[test]
    fn a_credit_spread_sells_at_its_net_price() {
        let b = body(
            r#"{"time-in-force":"Day","order-type":"Limit","price":"0.45","price-effect":"Credit","legs":[
            {"instrument-type":"Equity Option","symbol":"AAPL  260116C00200000","action":"Sell to Open","quantity":2},
            {"instrument-type":"Equity Option","symbol":"AAPL  260116C00210000","action":"Buy to Open","quantity":2}]}"#,
        );
        let r = wanted("A", &b).unwrap().request;
        assert_eq!(
            (r.side, r.quantity, r.limit_price),
            (Side::Sell, dec!(2), Some(dec!(0.45)))
        );
        assert!(r.legs.unwrap().iter().all(|l| l.ratio_quantity == dec!(1)));
    }

    #[test]
    fn an_uncovered_close_opens_unless_strict() {
        let b = body(
            r#"{"time-in-force":"Day","order-type":"Market","legs":[{"instrument-type":"Equity","symbol":"AAPL","action":"Sell to Close","quantity":8}]}"#,
        );
        let mut r = wanted("A", &b).unwrap().request;
        relax_closes(&mut r, |_| dec!(5));
        assert_eq!(r.position_effect, Some(PositionEffect::Open));
        let mut covered = wanted("A", &b).unwrap().request;
        relax_closes(&mut covered, |_| dec!(8));
        assert_eq!(covered.position_effect, Some(PositionEffect::Close));
    }
}
