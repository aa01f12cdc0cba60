//! tastytrade's vocabulary, both ways (reference §2.2, §7): time in force,
//! order types, leg actions, instrument types and symbols. The Python SDK's
//! enums are strict, so only these exact words ever go out.

use mbt::{Instrument, OrderType, PositionEffect, Side, TimeInForce};

use super::errors::TastytradeError;
use super::wire::Effect;

pub const EQUITY: &str = "Equity";
pub const EQUITY_OPTION: &str = "Equity Option";

pub fn tif_word(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Day => "Day",
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        // Never stored: the request parser refuses what tastytrade lacks.
        TimeInForce::Fok => "Day",
    }
}

/// A `time-in-force` from a request.
pub fn tif(word: &str) -> Result<TimeInForce, TastytradeError> {
    match word {
        "Day" => Ok(TimeInForce::Day),
        "GTC" => Ok(TimeInForce::Gtc),
        "IOC" => Ok(TimeInForce::Ioc),
        "GTD" | "Ext" | "Ext Overnight" | "GTC Ext" | "GTC Ext Overnight" => Err(
            TastytradeError::not_simulated(format!("{word} orders (time-in-force)")),
        ),
        _ => Err(TastytradeError::invalid(
            "time-in-force",
            "does not have a valid value",
        )),
    }
}

pub fn type_word(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "Market",
        OrderType::Limit => "Limit",
        OrderType::Stop => "Stop",
        OrderType::StopLimit => "Stop Limit",
    }
}

/// An `order-type` from a request.
pub fn order_type(word: &str) -> Result<OrderType, TastytradeError> {
    match word {
        "Market" => Ok(OrderType::Market),
        "Limit" => Ok(OrderType::Limit),
        "Stop" => Ok(OrderType::Stop),
        "Stop Limit" => Ok(OrderType::StopLimit),
        "Marketable Limit" | "Notional Market" => {
            Err(TastytradeError::not_simulated(format!("{word} orders")))
        }
        _ => Err(TastytradeError::invalid(
            "order-type",
            "does not have a valid value",
        )),
    }
}

pub fn action_word(side: Side, effect: PositionEffect) -> &'static str {
    match (side, effect) {
        (Side::Buy, PositionEffect::Open) => "Buy to Open",
        (Side::Buy, PositionEffect::Close) => "Buy to Close",
        (Side::Sell, PositionEffect::Open) => "Sell to Open",
        (Side::Sell, PositionEffect::Close) => "Sell to Close",
    }
}

/// A leg's `action` from a request.
pub fn action(word: &str) -> Result<(Side, PositionEffect), TastytradeError> {
    match word {
        "Buy to Open" => Ok((Side::Buy, PositionEffect::Open)),
        "Buy to Close" => Ok((Side::Buy, PositionEffect::Close)),
        "Sell to Open" => Ok((Side::Sell, PositionEffect::Open)),
        "Sell to Close" => Ok((Side::Sell, PositionEffect::Close)),
        // Outright futures and allocations: instruments the model has not.
        "Buy" | "Sell" | "Allocate" => Err(TastytradeError::not_simulated(format!(
            "the {word} action (futures and allocations)"
        ))),
        _ => Err(TastytradeError::invalid(
            "legs[action]",
            "does not have a valid value",
        )),
    }
}

/// A `price-effect` (or `value-effect`) from a request.
pub fn effect(word: &str) -> Result<Effect, TastytradeError> {
    match word {
        "Debit" => Ok(Effect::Debit),
        "Credit" => Ok(Effect::Credit),
        _ => Err(TastytradeError::invalid(
            "price-effect",
            "does not have a valid value",
        )),
    }
}

/// The instrument a leg names: an equity by ticker, or an equity option by
/// its OCC symbol with the root padded to 6 (§7; the model takes only the
/// padded form, the one tastytrade's instruments carry).
pub fn instrument(kind: &str, symbol: &str) -> Result<Instrument, TastytradeError> {
    match kind {
        // Tickers: letters, digits and the class separator `/` (`BRK/B`, §7).
        EQUITY if mbt::instrument::is_ticker(symbol) => Ok(Instrument::equity(symbol)),
        EQUITY => Err(TastytradeError::invalid(
            "legs[symbol]",
            "is not an equity symbol",
        )),
        EQUITY_OPTION => match symbol.parse() {
            Ok(occ) if symbol.len() == 21 => Ok(Instrument::option(occ)),
            _ => Err(TastytradeError::preflight(
                "invalid_symbol",
                format!(
                    "{symbol:.40} is not an equity option symbol (OCC, root padded to 6 characters)"
                ),
            )),
        },
        "Future"
        | "Future Option"
        | "Cryptocurrency"
        | "Event Contract"
        | "Fixed Income Security"
        | "Liquidity Pool"
        | "Bond"
        | "Warrant"
        | "Index"
        | "Currency Pair"
        | "Equity Offering" => Err(TastytradeError::not_simulated(format!("{kind} orders"))),
        _ => Err(TastytradeError::invalid(
            "legs[instrument-type]",
            "does not have a valid value",
        )),
    }
}

pub fn instrument_type(i: &Instrument) -> &'static str {
    if i.is_option() {
        EQUITY_OPTION
    } else {
        EQUITY
    }
}

/// The symbol tastytrade writes: the ticker, or the padded OCC symbol.
pub fn symbol(i: &Instrument) -> String {
    match i {
        Instrument::Equity { symbol } => symbol.clone(),
        Instrument::Option { occ } => occ.to_string(),
    }
}

/// The dxFeed symbol positions carry (§7): `.AAPL260116C190`, decimals kept.
pub fn streamer_symbol(i: &Instrument) -> String {
    match i {
        Instrument::Equity { symbol } => symbol.clone(),
        Instrument::Option { occ } => format!(
            ".{}{}{}{}",
            occ.root(),
            occ.expiry().format("%y%m%d"),
            match occ.right() {
                mbt::instrument::OptionRight::Call => 'C',
                mbt::instrument::OptionRight::Put => 'P',
            },
            occ.strike().normalize()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_symbols_are_padded() {
        for (side, effect) in [
            (Side::Buy, PositionEffect::Open),
            (Side::Sell, PositionEffect::Close),
        ] {
            assert_eq!(action(action_word(side, effect)), Ok((side, effect)));
        }
        let call = instrument(EQUITY_OPTION, "AAPL  260116C00190000").unwrap();
        assert_eq!(symbol(&call), "AAPL  260116C00190000");
        assert_eq!(streamer_symbol(&call), ".AAPL260116C190");
        assert!(instrument(EQUITY_OPTION, "AAPL260116C00190000").is_err());
        assert!(instrument("Future", "/ESZ9").is_err());
        assert!(instrument(EQUITY, "").is_err());
        assert_eq!(tif("GTC"), Ok(TimeInForce::Gtc));
        assert!(tif("GTD").is_err() && tif("day").is_err());
    }
}
