//! SnapTrade's checked orders (reference §4.5, §12.4): find the security
//! (`POST /accounts/{id}/symbols`), ask for the trade's impact
//! (`POST /trade/impact`: the trade, and the cash and commission it would
//! leave), then place it by its id (`POST /trade/{tradeId}`) within five
//! minutes. The impact refuses what the brokerage would refuse at the
//! place (the engine's own checks), so a checked trade fails early.
//!
//! A trade is placed once. An unknown, used or expired trade id is refused
//! with the spec's one refusal for the endpoint (400, code 1076: §6.2
//! documents no code for an expired trade), and so is every trade checked
//! before the control surface reset the brokerage.

use axum::extract::{OriginalUri, Path, State};
use axum::response::Response;
use axum::{Extension, Json};
use rust_decimal::Decimal;

use mbt::checked::{self, Checked};
use mbt::{Instrument, OrderRequest, OrderType, Side};

use super::accounts::{reach, Reach};
use super::auth::UserCall;
use super::errors::SnapTradeError;
use super::handed_out::{Found, HandedOut};
use super::trading::{by_symbol_id, request, submit};
use super::view;
use super::wire::{
    ManualTrade, ManualTradeAndImpact, ManualTradeBalance, ManualTradeFormWithOptions,
    ManualTradeImpact, ManualTradeSymbol, SymbolQuery, UniversalSymbol, ValidatedTradeBody,
};
use crate::brokerage::SimBrokerage;
use crate::face::Shared;
use crate::faults::Operation;
use crate::json::Double;

/// Symbol search answers at most 20 securities (§4.4).
const SEARCH_LIMIT: usize = 20;

/// The trades checked and not yet placed: the order each would place (its
/// client order id drawn at the place).
pub type Trades = HandedOut<OrderRequest>;

/// `POST /accounts/{id}/symbols`: the securities the account's brokerage
/// trades whose ticker contains `substring` (case aside), an exact match
/// first, at most 20.
pub async fn search(
    Path(account): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<Vec<UniversalSymbol>>, SnapTradeError> {
    let SymbolQuery { substring } = call.form()?;
    let mut b = s.lock();
    b.sync();
    reach(&b, &account, &call, Reach::Read)?;
    let wanted = substring.trim().to_ascii_uppercase();
    let mut found: Vec<&str> = b
        .engine()
        .market()
        .equities()
        .filter(|s| s.contains(wanted.as_str()))
        .collect();
    found.sort_by_key(|s| *s != wanted);
    Ok(Json(
        found
            .into_iter()
            .take(SEARCH_LIMIT)
            .map(view::universal_symbol)
            .collect(),
    ))
}

/// `POST /trade/impact`: checks a trade as the brokerage would and keeps
/// it for five minutes under the id it answers.
pub async fn impact(
    State(s): State<Shared>,
    Extension(trades): Extension<Trades>,
    UserCall(call): UserCall,
) -> Result<Json<ManualTradeAndImpact>, SnapTradeError> {
    let form: ManualTradeFormWithOptions = call.form()?;
    let form = strict(form)?;
    let mut b = s.lock();
    b.sync();
    let d = reach(&b, &form.account_id, &call, Reach::Live)?;
    if !d.trading {
        return Err(SnapTradeError::no_trading(&d.name));
    }
    let id = form.universal_symbol_id.as_deref().ok_or_else(|| {
        SnapTradeError::invalid("Unable to verify data sent: universal_symbol_id is required")
    })?;
    let symbol = by_symbol_id(&b, id)?;
    let r = request(&form, Instrument::equity(&symbol), String::new())?;
    b.engine()
        .validate(&r)
        .map_err(|rejection| SnapTradeError::declined(&rejection, &symbol))?;
    let estimate = estimate(&b, &r).map_err(|_| {
        SnapTradeError::invalid("Unable to verify data sent: the trade's value is out of range")
    })?;
    let trade = ManualTrade {
        id: trades.lock().hand_out(&b, "snaptrade-trade", r.clone()),
        account: r.account_id.clone(),
        order_type: view::type_word(r.order_type),
        time_in_force: view::tif_word(r.time_in_force),
        symbol: ManualTradeSymbol {
            universal_symbol_id: view::symbol_id(&symbol),
            currency: view::usd(),
            local_id: symbol.clone(),
            description: symbol.clone(),
            brokerage_symbol_id: view::brokerage_symbol_id(&symbol),
            symbol,
        },
        action: view::action_word(r.side),
        units: Double(r.quantity.normalize()),
        price: r.limit_price.map(Double),
    };
    Ok(Json(ManualTradeAndImpact {
        trade,
        trade_impacts: vec![ManualTradeImpact {
            account: r.account_id.clone(),
            currency: view::usd().id,
            remaining_cash: estimate.remaining_cash.map(Double),
            estimated_commission: Double(estimate.commission),
            forex_fees: Double(Decimal::ZERO),
        }],
        combined_remaining_balance: ManualTradeBalance {
            account: view::account_simple(&b, &d, &r.account_id),
            currency: view::usd(),
            cash: estimate.remaining_cash.map(Double),
        },
    }))
}

/// `POST /trade/{tradeId}`: places a checked trade; the order record in its
/// first state. `wait_to_confirm` changes nothing here: the answer is the
/// brokerage's first state either way.
pub async fn place(
    Path(trade_id): Path<String>,
    State(s): State<Shared>,
    Extension(trades): Extension<Trades>,
    OriginalUri(uri): OriginalUri,
    UserCall(call): UserCall,
) -> Result<Response, SnapTradeError> {
    // The body is optional; when sent it must be the documented form.
    if !call.body.is_empty() {
        call.form::<Option<ValidatedTradeBody>>()?;
    }
    let mut b = s.lock();
    b.sync();
    let mut book = trades.lock();
    let mut r = match book.find(&b, &trade_id) {
        Some(Found::Good(r)) => r.clone(),
        Some(Found::Expired(_)) => {
            return Err(SnapTradeError::invalid(format!(
                "Trade {trade_id:.40} has expired: a trade is placed within 5 minutes of its impact"
            )))
        }
        None => {
            return Err(SnapTradeError::invalid(format!(
                "Trade {trade_id:.40} does not exist or was already placed"
            )))
        }
    };
    // A trade that cannot reach its brokerage now (down, broken) stays
    // open: the place did not happen.
    let d = reach(&b, &r.account_id, &call, Reach::Live)?;
    if !d.trading {
        b.record_order_attempt(Operation::SubmitOrder, "POST", uri.path());
        return Err(SnapTradeError::no_trading(&d.name));
    }
    // It reached the brokerage: placed once only.
    book.take(&trade_id);
    drop(book);
    r.client_order_id = b.generate_client_id();
    submit(&mut b, r, &call)
}

/// The impact form is `ManualTradeForm` (§4.5): `BUY` or `SELL`, no `GTD`,
/// the security by id only. The place form's own fields (a ticker, a
/// session, an expiry, a client order id) are not part of it and are not
/// read.
fn strict(form: ManualTradeFormWithOptions) -> Result<ManualTradeFormWithOptions, SnapTradeError> {
    if !matches!(form.action.as_str(), "BUY" | "SELL") {
        return Err(SnapTradeError::invalid(format!(
            "Unable to verify data sent: action {:.20} is not one of BUY, SELL",
            form.action
        )));
    }
    if form.time_in_force == "GTD" {
        return Err(SnapTradeError::invalid(
            "Unable to verify data sent: time_in_force GTD is not one of FOK, Day, GTC, IOC",
        ));
    }
    Ok(ManualTradeFormWithOptions {
        symbol: None,
        expiry_date: None,
        trading_session: None,
        client_order_id: None,
        ..form
    })
}

/// What a trade would cost: the brokerage's commission and fees, and the
/// cash left after it at the price it names (a market order's at the
/// touch; none without a quote).
struct Estimate {
    commission: Decimal,
    remaining_cash: Option<Decimal>,
}

fn estimate(b: &SimBrokerage, r: &OrderRequest) -> Checked<Estimate> {
    let quote = b.engine().quote(&r.instrument);
    let price = match r.order_type {
        OrderType::Market => quote.map(|q| match r.side {
            Side::Buy => q.ask,
            Side::Sell => q.bid,
        }),
        OrderType::Limit | OrderType::StopLimit => r.limit_price,
        OrderType::Stop => r.stop_price,
    };
    // What one fill of the whole order would be charged; without a price,
    // the commission alone (the regulatory fees go by the notional).
    let fees = b.engine().config().fees_for(&r.account_id);
    let commission = match price {
        Some(p) => fees.fee_for_fill(&r.instrument, r.side, Decimal::ZERO, r.quantity, p)?,
        None => fees.commission_for(&r.instrument, r.quantity)?,
    };
    let cash = b.account(&r.account_id).map(|v| v.cash);
    let remaining_cash = match (price, cash) {
        (Some(p), Some(cash)) => {
            let value = checked::mul(checked::mul(r.quantity, p)?, r.instrument.multiplier())?;
            let moved = match r.side {
                Side::Buy => checked::sub(cash, value)?,
                Side::Sell => checked::add(cash, value)?,
            };
            Some(checked::sub(moved, commission)?)
        }
        _ => None,
    };
    Ok(Estimate {
        commission,
        remaining_cash,
    })
}
