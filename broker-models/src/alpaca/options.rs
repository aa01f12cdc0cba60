//! The option contract master, `GET /v2/options/contracts[/{symbol_or_id}]`
//! (reference §7). The engine lists every unexpired contract on a priced
//! underlying; the master enumerates a chain of them: the next weekly
//! expiries, and strikes around the underlying's price. A contract outside
//! that chain can still be read by its symbol, as it can still be traded.

use std::str::FromStr;

use axum::extract::State;
use axum::Json;
use chrono::{Datelike, NaiveDate, Weekday};
use rust_decimal::Decimal;

use mbt::{Instrument, OccSymbol, OptionRight};

use super::auth::AlpacaAuth;
use super::errors::AlpacaError;
use super::extract::{Params, Seg};
use super::wire::{self, OptionContract, OptionContracts};
use crate::brokerage::SimBrokerage;
use crate::face::Shared;
use crate::ids::canonical_uuid;

/// Weekly expiries listed ahead.
const EXPIRIES: usize = 6;
/// Strikes listed each side of the one nearest the underlying's price.
const STRIKES_EACH_SIDE: i64 = 10;
/// Alpaca's page size: 100 by default, 10000 at most (§7).
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 10_000;

/// The strike step listed for an underlying at `price`.
fn strike_step(price: Decimal) -> Decimal {
    if price < Decimal::from(25) {
        Decimal::ONE
    } else if price < Decimal::from(200) {
        Decimal::from(5)
    } else {
        Decimal::TEN
    }
}

/// The next `EXPIRIES` Fridays from `today` on.
fn expiries(today: NaiveDate) -> Vec<NaiveDate> {
    today
        .iter_days()
        .filter(|d| d.weekday() == Weekday::Fri)
        .take(EXPIRIES)
        .collect()
}

/// The listed chain of one underlying, in symbol order.
fn chain(b: &SimBrokerage, underlying: &str) -> Vec<OccSymbol> {
    let Some(spot) = b.engine().spot(underlying) else {
        return Vec::new();
    };
    let step = strike_step(spot);
    let Some(center) = spot
        .checked_div(step)
        .and_then(|units| units.round().checked_mul(step))
    else {
        return Vec::new();
    };
    let mut out: Vec<OccSymbol> = expiries(b.now().date())
        .into_iter()
        .flat_map(|expiry| {
            (-STRIKES_EACH_SIDE..=STRIKES_EACH_SIDE).flat_map(move |k| {
                let strike = center.checked_add(step.checked_mul(Decimal::from(k))?)?;
                Some(
                    [OptionRight::Call, OptionRight::Put]
                        .map(|right| OccSymbol::new(underlying, expiry, right, strike)),
                )
            })
        })
        .flatten()
        .filter_map(Result::ok)
        .collect();
    // Each symbol's text once: sorting with `sort_by_key` wrote it at
    // every comparison, and a listing spent most of its time there.
    out.sort_by_cached_key(OccSymbol::compact);
    out
}

fn underlyings(b: &SimBrokerage) -> Vec<String> {
    b.engine()
        .market()
        .listed()
        .filter_map(|(_, i)| match i {
            Instrument::Equity { symbol } => Some(symbol.clone()),
            Instrument::Option { .. } => None,
        })
        .collect()
}

fn contract(occ: &OccSymbol) -> OptionContract {
    let symbol = occ.compact();
    let (kind, right) = match occ.right() {
        OptionRight::Call => ("call", "Call"),
        OptionRight::Put => ("put", "Put"),
    };
    let strike = wire::dec(occ.strike());
    OptionContract {
        id: wire::asset_id(&symbol),
        name: format!(
            "{} {} {} {}",
            occ.root(),
            occ.expiry().format("%b %-d %Y"),
            strike,
            right
        ),
        status: "active",
        tradable: true,
        expiration_date: occ.expiry().to_string(),
        root_symbol: occ.root().to_string(),
        underlying_symbol: occ.root().to_string(),
        underlying_asset_id: wire::asset_id(occ.root()),
        kind,
        style: "american",
        strike_price: serde_json::Number::from_str(&strike)
            .unwrap_or_else(|_| serde_json::Number::from(0)),
        size: "100",
        open_interest: None,
        open_interest_date: None,
        close_price: None,
        close_price_date: None,
        symbol,
    }
}

fn date(q: &Params, key: &str) -> Result<Option<NaiveDate>, AlpacaError> {
    q.get(key)
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                // Message not in the reference.
                .map_err(|_| AlpacaError::invalid(format!("invalid {key}")))
        })
        .transpose()
}

fn price(q: &Params, key: &str) -> Result<Option<Decimal>, AlpacaError> {
    q.get(key)
        .map(|s| Decimal::from_str(s).map_err(|_| AlpacaError::invalid(format!("invalid {key}"))))
        .transpose()
}

/// The filters of the contracts list (§7).
struct Filter {
    underlyings: Vec<String>,
    root: Option<String>,
    kind: Option<String>,
    style: Option<String>,
    active: bool,
    on: Option<NaiveDate>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    min_strike: Option<Decimal>,
    max_strike: Option<Decimal>,
}

impl Filter {
    fn read(q: &Params) -> Result<Self, AlpacaError> {
        Ok(Self {
            underlyings: q.list("underlying_symbols"),
            root: q.get("root_symbol").map(str::to_string),
            kind: q.get("type").map(str::to_ascii_lowercase),
            style: q.get("style").map(str::to_ascii_lowercase),
            active: q
                .get("status")
                .is_none_or(|s| s.eq_ignore_ascii_case("active")),
            on: date(q, "expiration_date")?,
            from: date(q, "expiration_date_gte")?,
            to: date(q, "expiration_date_lte")?,
            min_strike: price(q, "strike_price_gte")?,
            max_strike: price(q, "strike_price_lte")?,
        })
    }

    fn keeps_underlying(&self, u: &str) -> bool {
        (self.underlyings.is_empty() || self.underlyings.iter().any(|x| x == u))
            && self.root.as_deref().is_none_or(|r| r == u)
    }

    fn keeps(&self, o: &OccSymbol) -> bool {
        let kind = match o.right() {
            OptionRight::Call => "call",
            OptionRight::Put => "put",
        };
        self.active
            && self.kind.as_deref().is_none_or(|k| k == kind)
            && self.style.as_deref().is_none_or(|s| s == "american")
            && self.on.is_none_or(|d| o.expiry() == d)
            && self.from.is_none_or(|d| o.expiry() >= d)
            && self.to.is_none_or(|d| o.expiry() <= d)
            && self.min_strike.is_none_or(|p| o.strike() >= p)
            && self.max_strike.is_none_or(|p| o.strike() <= p)
    }
}

/// `GET /v2/options/contracts`: a page of the chain; `next_page_token` is
/// where the next page starts (an opaque string to clients).
pub async fn list(
    State(s): State<Shared>,
    AlpacaAuth(_): AlpacaAuth,
    q: Params,
) -> Result<Json<OptionContracts>, AlpacaError> {
    let filter = Filter::read(&q)?;
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| AlpacaError::invalid("invalid limit"))?
            .clamp(1, MAX_LIMIT),
    };
    let start = match q.get("page_token") {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| AlpacaError::invalid("invalid page_token"))?,
    };
    let all: Vec<OccSymbol> = {
        let b = s.lock();
        underlyings(&b)
            .into_iter()
            .filter(|u| filter.keeps_underlying(u))
            .flat_map(|u| chain(&b, &u))
            .filter(|o| filter.keeps(o))
            .collect()
    };
    let end = start.saturating_add(limit);
    let page = all.iter().skip(start).take(limit).map(contract).collect();
    Ok(Json(OptionContracts {
        option_contracts: page,
        next_page_token: (end < all.len()).then(|| end.to_string()),
    }))
}

/// `GET /v2/options/contracts/{symbol_or_id}`: any contract the engine would
/// trade, by its symbol; by id, the ones the chain lists.
pub async fn one(
    State(s): State<Shared>,
    AlpacaAuth(_): AlpacaAuth,
    Seg(text): Seg,
) -> Result<Json<OptionContract>, AlpacaError> {
    let b = s.lock();
    let found = match canonical_uuid(&text) {
        Some(id) => underlyings(&b)
            .iter()
            .flat_map(|u| chain(&b, u))
            .find(|o| wire::asset_id(&o.compact()) == id),
        None => match Instrument::parse_symbol(&text) {
            Instrument::Option { occ } => Some(occ),
            Instrument::Equity { .. } => None,
        },
    };
    found
        .filter(|occ| b.engine().is_listed(&Instrument::option(occ.clone())))
        .map(|occ| Json(contract(&occ)))
        .ok_or_else(|| AlpacaError::contract_not_found(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fridays_and_steps() {
        let monday = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let e = expiries(monday);
        assert_eq!(e.len(), EXPIRIES);
        assert_eq!(e[0].to_string(), "2026-01-09");
        assert_eq!(strike_step(Decimal::from(190)), Decimal::from(5));
        let occ = OccSymbol::new("AAPL", e[0], OptionRight::Call, Decimal::from(190)).unwrap();
        let c = contract(&occ);
        assert_eq!(c.symbol, "AAPL260109C00190000");
        assert_eq!(c.name, "AAPL Jan 9 2026 190 Call");
        assert_eq!(
            serde_json::to_value(&c).unwrap()["strike_price"],
            serde_json::json!(190)
        );
    }
}
