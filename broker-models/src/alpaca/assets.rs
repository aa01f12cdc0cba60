//! Alpaca's asset master as far as the model's market goes: which equities
//! exist (the ones the market prices), where each is listed, and how a
//! request names one (§2.1: ticker, asset id, or `SYM:EXCHANGE[:class]`).

use axum::Json;

use mbt::Instrument;

use super::auth::AlpacaAuth;
use super::errors::AlpacaError;
use super::extract::{Params, Seg};
use super::wire::{self, Asset};
use crate::brokerage::SimBrokerage;
use crate::face::Shared;
use crate::ids::canonical_uuid;
use axum::extract::State;

/// Listing exchanges of the default market's tickers, in Alpaca's exchange
/// vocabulary (alpaca-py's `AssetExchange`; NYSE Arca funds are `ARCA`).
const LISTINGS: &[(&str, &str, &str)] = &[
    ("AAPL", "NASDAQ", "Apple Inc. Common Stock"),
    ("MSFT", "NASDAQ", "Microsoft Corporation Common Stock"),
    ("SPY", "ARCA", "SPDR S&P 500 ETF Trust"),
    ("QQQ", "NASDAQ", "Invesco QQQ Trust, Series 1"),
    ("TSLA", "NASDAQ", "Tesla, Inc. Common Stock"),
    ("AMZN", "NASDAQ", "Amazon.com, Inc. Common Stock"),
    ("NVDA", "NASDAQ", "NVIDIA Corporation Common Stock"),
    ("GOOGL", "NASDAQ", "Alphabet Inc. Class A Common Stock"),
    (
        "META",
        "NASDAQ",
        "Meta Platforms, Inc. Class A Common Stock",
    ),
    ("IWM", "ARCA", "iShares Russell 2000 ETF"),
    ("AMD", "NASDAQ", "Advanced Micro Devices, Inc. Common Stock"),
    ("NFLX", "NASDAQ", "Netflix, Inc. Common Stock"),
    ("F", "NYSE", "Ford Motor Company Common Stock"),
    ("BAC", "NYSE", "Bank of America Corporation Common Stock"),
    ("JPM", "NYSE", "JPMorgan Chase & Co. Common Stock"),
];

/// Where a symbol the table does not know (a recorded-bars market's) is
/// said to be listed: the reference gives no rule (§2.9 lists the exchange
/// vocabulary only), and NASDAQ is the most common listing.
const DEFAULT_EXCHANGE: &str = "NASDAQ";

/// The exchange a position or asset reports: the listing for equities, ""
/// for options (alpaca-py's enum has no options venue; `OPRA` fails, §2.9).
pub fn exchange(i: &Instrument) -> &'static str {
    match i {
        Instrument::Option { .. } => "",
        Instrument::Equity { symbol } => listing(symbol).map_or(DEFAULT_EXCHANGE, |l| l.1),
    }
}

fn listing(symbol: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    LISTINGS.iter().find(|l| l.0 == symbol)
}

/// The equities the market prices, in the market's own order.
fn listed_equities(b: &SimBrokerage) -> Vec<String> {
    b.engine().market().equities().map(str::to_string).collect()
}

pub fn resolve(b: &SimBrokerage, text: &str) -> Option<Instrument> {
    if uuid::Uuid::parse_str(text).is_ok() {
        let id = canonical_uuid(text)?;
        return listed_equities(b)
            .into_iter()
            .find(|s| wire::asset_id(s) == id)
            .map(Instrument::equity);
    }
    let mut parts = text.split(':');
    let symbol = parts.next().unwrap_or_default();
    let instrument = Instrument::parse_symbol(symbol);
    let exchange_ok = parts
        .next()
        .is_none_or(|e| e.eq_ignore_ascii_case(exchange(&instrument)));
    let class_ok = parts
        .next()
        .is_none_or(|c| c.eq_ignore_ascii_case(wire::asset_class(&instrument)));
    (exchange_ok && class_ok && parts.next().is_none() && !symbol.is_empty()).then_some(instrument)
}

fn asset(symbol: &str) -> Asset {
    let known = listing(symbol);
    Asset {
        id: wire::asset_id(symbol),
        class: "us_equity",
        exchange: known.map_or(DEFAULT_EXCHANGE, |l| l.1),
        symbol: symbol.to_string(),
        name: known.map_or_else(|| symbol.to_string(), |l| l.2.to_string()),
        status: "active",
        tradable: true,
        marginable: true,
        maintenance_margin_requirement: 30,
        shortable: true,
        easy_to_borrow: true,
        fractionable: true,
        attributes: Vec::new(),
    }
}

/// `GET /v2/assets`: the market's equities, filtered by `status`,
/// `asset_class` and `exchange` (an `attributes` filter matches none: no
/// asset has attributes here).
pub async fn list(
    State(s): State<Shared>,
    AlpacaAuth(_): AlpacaAuth,
    q: Params,
) -> Json<Vec<Asset>> {
    let symbols = listed_equities(&s.lock());
    let wanted = |key: &str, value: &str| q.get(key).is_none_or(|w| w.eq_ignore_ascii_case(value));
    let out = symbols
        .iter()
        .map(|s| asset(s))
        .filter(|a| wanted("status", a.status) && wanted("asset_class", a.class))
        .filter(|a| wanted("exchange", a.exchange) && q.get("attributes").is_none())
        .collect();
    Json(out)
}

/// `GET /v2/assets/{symbol_or_asset_id}`.
pub async fn one(
    State(s): State<Shared>,
    AlpacaAuth(_): AlpacaAuth,
    Seg(symbol): Seg,
) -> Result<Json<Asset>, AlpacaError> {
    let b = s.lock();
    match resolve(&b, &symbol) {
        Some(Instrument::Equity { symbol: sym }) if listed_equities(&b).contains(&sym) => {
            Ok(Json(asset(&sym)))
        }
        _ => Err(AlpacaError::asset_not_found(&symbol)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchanges_come_from_the_listing_table() {
        assert_eq!(exchange(&Instrument::equity("SPY")), "ARCA");
        assert_eq!(exchange(&Instrument::equity("F")), "NYSE");
        assert_eq!(exchange(&Instrument::equity("ZZZZ")), DEFAULT_EXCHANGE);
        assert_eq!(
            exchange(&Instrument::parse_symbol("AAPL260116C00190000")),
            ""
        );
    }
}
