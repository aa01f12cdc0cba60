//! The brokerage's state in SnapTrade's shapes: connections (one per
//! brokerage behind SnapTrade, the profile's `[[downstream]]`), accounts,
//! balances, holdings and order records. Every id SnapTrade mints is a
//! UUID (the python SDK checks path ids client-side, §3), derived from what
//! it names so a seed's run repeats them.

use rust_decimal::Decimal;
use serde_json::json;

use mbt::{
    Instrument, OccSymbol, OrderStatus, OrderType, PositionEffect, Side, TimeInForce, Timestamp,
};

use super::wire::{
    Account, AccountBalance, AccountOrderRecord, AccountOrderRecordLeg, AccountOrderRecordV2,
    AccountPosition, AccountSimple, Amount, Brokerage, BrokerageAuthorization, BrokerageSymbol,
    BrokerageType, ConnectionSyncStatus, Currency, DataFreshnessMode, Exchange, HeldInstrument,
    HoldingsStatus, InvestmentAccount, LegInstrument, NetValue, OptionBrokerageSymbol,
    OptionInstrument, OptionsPosition, OptionsSymbol, Position, PositionInstrument, SecurityType,
    SyncStatus, TransactionsStatus, UniversalSymbol,
};
use crate::brokerage::{BrokerOrder, OrderState, SimBrokerage};
use crate::ids::stable_uuid;
use crate::json::Double;
use crate::profile::Downstream;

/// `2026-01-05T15:00:00.000000Z` (§3).
pub fn iso(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `2026-01-05 15:00:00.000000+00:00`: the holdings sync's own format (§3).
fn spaced(t: Timestamp) -> String {
    t.to_datetime()
        .format("%Y-%m-%d %H:%M:%S%.6f+00:00")
        .to_string()
}

pub fn usd() -> Currency {
    Currency {
        id: stable_uuid(&["snaptrade-currency", "USD"]),
        code: "USD",
        name: "US Dollar",
    }
}

/// The connection's id (a brokerage authorization).
pub fn connection_id(d: &Downstream) -> String {
    stable_uuid(&["snaptrade-connection", &d.slug])
}

/// The brokerage's own number for an account (what its statements show).
pub fn brokerage_number(account: &str) -> String {
    let n = crate::ids::stable_int(&["snaptrade-brokerage-number", account]);
    format!("{:08}", n % 100_000_000)
}

pub fn symbol_id(symbol: &str) -> String {
    stable_uuid(&["snaptrade-universal-symbol", symbol])
}

pub fn brokerage(d: &Downstream) -> Brokerage {
    Brokerage {
        id: stable_uuid(&["snaptrade-brokerage", &d.slug]),
        slug: d.slug.clone(),
        name: d.name.clone(),
        display_name: d.name.clone(),
        description: format!("{} (simulated by raxx-sim)", d.name),
        aws_s3_logo_url: String::new(),
        aws_s3_square_logo_url: None,
        url: None,
        enabled: true,
        maintenance_mode: false,
        is_degraded: false,
        allows_trading: d.trading,
        allows_fractional_units: false,
        has_reporting: true,
        is_real_time_connection: true,
        brokerage_type: BrokerageType {
            id: stable_uuid(&["snaptrade-brokerage-type", "Traditional Brokerage"]),
            name: "Traditional Brokerage",
        },
        exchanges: Vec::new(),
        open_url: None,
    }
}

pub fn connection(b: &SimBrokerage, d: &Downstream) -> BrokerageAuthorization {
    let created = iso(b
        .engine()
        .log()
        .entries()
        .next()
        .map_or(b.now(), |e| e.time));
    let broken = b.connection_broken_since(&d.slug);
    BrokerageAuthorization {
        id: connection_id(d),
        created_date: created.clone(),
        updated_date: broken.map_or(created, iso),
        brokerage: brokerage(d),
        name: format!("Connection-{}", d.name),
        kind: if d.trading { "trade" } else { "read" },
        disabled: broken.is_some(),
        disabled_date: broken.map(iso),
        meta: json!({}),
        is_eligible_for_payout: false,
        data_freshness_mode: DataFreshnessMode {
            institution: "realtime",
            snaptrade: "realtime",
        },
    }
}

/// The account as `GET /accounts/{id}` shows it; `synced` is when its
/// holdings were last fetched from the brokerage.
/// When the brokerage opened the model's accounts: its first event.
fn created(b: &SimBrokerage) -> Timestamp {
    b.engine()
        .log()
        .entries()
        .next()
        .map_or(b.now(), |e| e.time)
}

fn kind_of(b: &SimBrokerage, number: &str) -> Option<mbt::AccountKind> {
    b.profile()
        .accounts
        .iter()
        .find(|a| a.number == number)
        .map(|a| a.kind)
}

/// The account's name as SnapTrade shows it: the brokerage's and its type.
pub fn account_name(b: &SimBrokerage, d: &Downstream, number: &str) -> String {
    format!("{} {}", d.name, raw_type(kind_of(b, number)))
}

/// How far SnapTrade has synced the account: holdings as of `synced`,
/// transactions to the end of yesterday (§8.1: a day late), or the day the
/// account opened when it is younger than that.
pub fn sync_status(b: &SimBrokerage, synced: Timestamp) -> SyncStatus {
    let opened = created(b).date();
    let yesterday = b.now().date().pred_opt().unwrap_or(opened);
    SyncStatus {
        transactions: TransactionsStatus {
            initial_sync_completed: true,
            last_successful_sync: Some(yesterday.max(opened).format("%Y-%m-%d").to_string()),
            first_transaction_date: None,
        },
        holdings: HoldingsStatus {
            initial_sync_completed: true,
            last_successful_sync: Some(spaced(synced)),
            holdings_unavailable: false,
        },
    }
}

/// The account in brief (the spec's `AccountSimple`), synced now.
pub fn account_simple(b: &SimBrokerage, d: &Downstream, number: &str) -> AccountSimple {
    AccountSimple {
        id: number.to_string(),
        name: account_name(b, d, number),
        number: brokerage_number(number),
        institution_account_id: Some(brokerage_number(number)),
        sync_status: sync_status(b, b.now()),
    }
}

pub fn account(b: &SimBrokerage, d: &Downstream, number: &str, synced: Timestamp) -> Account {
    let total = total_value(b, number, synced);
    let kind = kind_of(b, number);
    Account {
        id: number.to_string(),
        brokerage_authorization: connection_id(d),
        portfolio_group: stable_uuid(&["snaptrade-portfolio-group", number]),
        name: account_name(b, d, number),
        number: brokerage_number(number),
        institution_name: d.name.clone(),
        institution_account_id: brokerage_number(number),
        created_date: iso(created(b)),
        funding_date: None,
        opening_date: None,
        sync_status: sync_status(b, synced),
        balance: AccountBalance {
            total: total.map(|t| Amount {
                amount: Double(t),
                currency: "USD",
            }),
        },
        status: "open",
        raw_type: raw_type(kind),
        account_category: "INVESTMENT",
        meta: json!({}),
        cash_restrictions: Vec::new(),
        is_paper: false,
    }
}

/// The account as `GET /accounts/all` shows it (SDK 13.0.49's
/// kind-discriminated shape): the same account, its holdings sync split
/// into orders, positions and balances.
pub fn investment_account(
    b: &SimBrokerage,
    d: &Downstream,
    number: &str,
    synced: Timestamp,
) -> InvestmentAccount {
    let a = account(b, d, number, synced);
    let last4: String = {
        let chars: Vec<char> = a.number.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    };
    let cash_or_margin = match a.raw_type {
        "Cash" => "cash",
        _ => "margin",
    };
    let at = Some(spaced(synced));
    InvestmentAccount {
        kind: "investment",
        id: a.id,
        connection_id: a.brokerage_authorization,
        masked_account_number: format!("****{last4}"),
        sync_status: ConnectionSyncStatus {
            transactions: a.sync_status.transactions,
            orders: at.clone(),
            positions: at.clone(),
            balances: at,
        },
        is_paper: a.is_paper,
        display_name: Some(a.name),
        institution_account_id: Some(a.institution_account_id),
        institution_id: brokerage(d).id,
        opening_date: a.opening_date,
        funding_date: a.funding_date,
        raw_type: Some(a.raw_type),
        cash_or_margin,
        net_value: a.balance.total.map(|t| NetValue {
            amount: Some(t.amount),
            currency: Some(t.currency),
        }),
    }
}

fn raw_type(kind: Option<mbt::AccountKind>) -> &'static str {
    match kind {
        Some(mbt::AccountKind::Cash) => "Cash",
        _ => "Margin",
    }
}

pub fn universal_symbol(symbol: &str) -> UniversalSymbol {
    UniversalSymbol {
        id: symbol_id(symbol),
        symbol: symbol.to_string(),
        raw_symbol: symbol.to_string(),
        description: symbol.to_string(),
        currency: usd(),
        exchange: Exchange {
            id: stable_uuid(&["snaptrade-exchange", "XNAS"]),
            code: "NASDAQ",
            mic_code: "XNAS",
            name: "Nasdaq",
            timezone: "America/New_York",
            start_time: "09:30:00",
            close_time: "16:00:00",
            suffix: None,
        },
        kind: SecurityType {
            id: stable_uuid(&["snaptrade-security-type", "cs"]),
            code: "cs",
            description: "Common Stock",
            is_supported: true,
        },
        currencies: vec![usd()],
        figi_code: None,
        figi_instrument: None,
    }
}

/// One holding as of a sync: its quantity, price and average cost then.
pub struct Holding {
    pub instrument: Instrument,
    pub units: Decimal,
    pub price: Option<Decimal>,
    pub average_price: Decimal,
}

/// The cash and buying power a read synced at `synced` shows: now's, or a
/// cache's from then (§8.1: balances are cached with the holdings). The
/// buying power of then is now's less the cash moved since: the holds of
/// then are not kept.
pub fn balances(b: &SimBrokerage, number: &str, synced: Timestamp) -> Option<(Decimal, Decimal)> {
    let now = b.account(number)?;
    if synced >= b.now() {
        return Some((now.cash, now.buying_power));
    }
    let cash = b.cash_at(number, synced);
    let moved = now.cash.saturating_sub(cash);
    Some((
        cash,
        now.buying_power.saturating_sub(moved).max(Decimal::ZERO),
    ))
}

/// The account's total value as a read synced at `synced` shows it: its
/// equity now, or a cache's cash then with what it held then at the
/// prices of then.
fn total_value(b: &SimBrokerage, number: &str, synced: Timestamp) -> Option<Decimal> {
    let now = b.account(number)?;
    if synced >= b.now() {
        return Some(now.equity);
    }
    let held = holdings(b, number, synced)
        .iter()
        .fold(Decimal::ZERO, |sum, h| {
            let value = h.price.unwrap_or_default().saturating_mul(h.units);
            sum.saturating_add(value.saturating_mul(h.instrument.multiplier()))
        });
    Some(b.cash_at(number, synced).saturating_add(held))
}

/// What `number` held at `as_of`, priced as the market stood then (to the
/// minute, within the profile's `marks_kept_ms`; older, at today's mark).
pub fn holdings(b: &SimBrokerage, number: &str, as_of: Timestamp) -> Vec<Holding> {
    let view = b.account(number);
    let now_of = |i: &Instrument| {
        view.as_ref()
            .and_then(|v| v.positions.iter().find(|p| &p.instrument == i))
    };
    let cached = as_of < b.now();
    b.positions_at(number, as_of)
        .into_iter()
        .map(|(instrument, held)| {
            let now = now_of(&instrument);
            // A cache shows the price of when it was filled, where the
            // model still knows it.
            let then = cached.then(|| b.mark_at(&instrument, as_of)).flatten();
            Holding {
                price: then
                    .or_else(|| now.and_then(|p| p.mark))
                    .or_else(|| b.engine().mark(&instrument)),
                average_price: held.average_price(),
                units: held.quantity,
                instrument,
            }
        })
        .collect()
}

pub fn position_v2(h: &Holding) -> AccountPosition {
    let instrument = match &h.instrument {
        Instrument::Equity { symbol } => HeldInstrument::Stock(stock(symbol)),
        Instrument::Option { occ } => {
            let ticker = occ.to_string();
            HeldInstrument::Option(OptionInstrument {
                kind: "option",
                id: option_symbol_id(&ticker),
                option_type: option_type(occ.right()),
                strike_price: occ.strike().normalize(),
                expiration_date: occ.expiry().format("%Y-%m-%d").to_string(),
                multiplier: h.instrument.multiplier(),
                underlying: stock(occ.root()),
                symbol: ticker,
            })
        }
    };
    AccountPosition {
        instrument,
        units: h.units.normalize(),
        price: h.price.map(|p| p.normalize()),
        // Per share, like `price` (the spec's and SDK 13's "book price or
        // average purchase price", example "118.2" beside a price of
        // "123.45"), not the position's total.
        cost_basis: Some(h.average_price.round_dp(6).normalize()),
        currency: "USD",
        cash_equivalent: false,
        tax_lots: Vec::new(),
    }
}

/// A stock-like instrument of `positions/all`.
fn stock(symbol: &str) -> PositionInstrument {
    PositionInstrument {
        kind: "stock",
        id: symbol_id(symbol),
        symbol: symbol.to_string(),
        raw_symbol: symbol.to_string(),
        description: symbol.to_string(),
        currency: "USD",
        exchange: "XNAS",
    }
}

fn option_symbol_id(occ: &str) -> String {
    stable_uuid(&["snaptrade-option-symbol", occ])
}

fn option_type(right: mbt::OptionRight) -> &'static str {
    match right {
        mbt::OptionRight::Call => "CALL",
        mbt::OptionRight::Put => "PUT",
    }
}

/// An option contract as SnapTrade's v1 shapes name it (`OptionsSymbol`).
pub fn options_symbol(occ: &OccSymbol) -> OptionsSymbol {
    let ticker = occ.to_string();
    OptionsSymbol {
        id: option_symbol_id(&ticker),
        option_type: option_type(occ.right()),
        strike_price: Double(occ.strike().normalize()),
        expiration_date: occ.expiry().format("%Y-%m-%d").to_string(),
        is_mini_option: false,
        underlying_symbol: universal_symbol(occ.root()),
        ticker,
    }
}

/// An option holding as SDK 11's option endpoint shows it; None for an
/// equity (the legacy positions list those).
pub fn option_position(h: &Holding) -> Option<OptionsPosition> {
    let Instrument::Option { occ } = &h.instrument else {
        return None;
    };
    let ticker = occ.to_string();
    let per_contract = h.average_price.checked_mul(h.instrument.multiplier());
    Some(OptionsPosition {
        symbol: OptionBrokerageSymbol {
            option_symbol: options_symbol(occ),
            id: brokerage_symbol_id(&ticker),
            description: ticker,
        },
        price: h.price.map(|p| Double(p.normalize())),
        units: Double(h.units.normalize()),
        average_purchase_price: per_contract.map(|a| Double(a.round_dp(6).normalize())),
        currency: usd(),
    })
}

pub fn position_v1(h: &Holding) -> Position {
    let symbol = h.instrument.to_string();
    let open_pnl = h
        .price
        .and_then(|p| p.checked_sub(h.average_price))
        .and_then(|d| d.checked_mul(h.units))
        .map(|v| Double(v.round_dp(2)));
    Position {
        symbol: BrokerageSymbol {
            id: brokerage_symbol_id(&symbol),
            description: symbol.clone(),
            local_id: symbol.clone(),
            is_quotable: true,
            is_tradable: true,
            symbol: universal_symbol(&symbol),
        },
        units: Double(h.units),
        price: h.price.map(Double),
        open_pnl,
        average_purchase_price: Some(Double(h.average_price)),
        fractional_units: None,
        currency: usd(),
        cash_equivalent: false,
        tax_lots: Vec::new(),
    }
}

/// SnapTrade's request and record words for an order type (§5: CamelCase in v1).
pub fn type_word(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "Market",
        OrderType::Limit => "Limit",
        OrderType::Stop => "Stop",
        OrderType::StopLimit => "StopLimit",
    }
}

pub fn action_word(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// A v1 record's action: an option's opens and closes are `BUY_OPEN`,
/// `SELL_CLOSE` and the like (§5); anything else buys or sells.
fn v1_action(option: bool, side: Side, effect: Option<PositionEffect>) -> &'static str {
    match (option, side, effect) {
        (true, Side::Buy, Some(PositionEffect::Open)) => "BUY_OPEN",
        (true, Side::Buy, Some(PositionEffect::Close)) => "BUY_CLOSE",
        (true, Side::Sell, Some(PositionEffect::Open)) => "SELL_OPEN",
        (true, Side::Sell, Some(PositionEffect::Close)) => "SELL_CLOSE",
        _ => action_word(side),
    }
}

/// A V2 leg's action: the request vocabulary's `BUY_TO_OPEN` and the like.
fn v2_action(option: bool, side: Side, effect: Option<PositionEffect>) -> &'static str {
    match (option, side, effect) {
        (true, Side::Buy, Some(PositionEffect::Open)) => "BUY_TO_OPEN",
        (true, Side::Buy, Some(PositionEffect::Close)) => "BUY_TO_CLOSE",
        (true, Side::Sell, Some(PositionEffect::Open)) => "SELL_TO_OPEN",
        (true, Side::Sell, Some(PositionEffect::Close)) => "SELL_TO_CLOSE",
        _ => action_word(side),
    }
}

/// The brokerage's own id for a security (`BrokerageSymbol.id`, an order
/// record's `symbol`).
pub fn brokerage_symbol_id(symbol: &str) -> String {
    stable_uuid(&["snaptrade-brokerage-symbol", symbol])
}

pub fn tif_word(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Day => "Day",
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Fok => "FOK",
    }
}

/// An order as SnapTrade reports it.
pub fn order(b: &SimBrokerage, o: &BrokerOrder) -> AccountOrderRecord {
    order_as_of(b, o, &b.state(o), o.updated_at)
}

/// An order as it stood when it was in state `s`, last changed at `updated`.
fn order_as_of(
    b: &SimBrokerage,
    o: &BrokerOrder,
    s: &OrderState,
    updated: Timestamp,
) -> AccountOrderRecord {
    let r = &o.request;
    let total = r.quantity;
    let terminal_unfilled = matches!(
        s.status,
        OrderStatus::Canceled
            | OrderStatus::Expired
            | OrderStatus::Rejected
            | OrderStatus::Replaced
    );
    let unfilled = total.checked_sub(s.filled_quantity).unwrap_or_default();
    let (open, canceled) = match terminal_unfilled {
        true => (Decimal::ZERO, unfilled),
        false => (unfilled, Decimal::ZERO),
    };
    let status = match (s.status, s.filled_quantity.is_zero()) {
        // A cancel after a partial fill: SnapTrade's own word for it.
        (OrderStatus::Canceled, false) => "PARTIAL_CANCELED".to_string(),
        (status, _) => b.profile().vendor_status(status).to_string(),
    };
    let symbol = r.instrument.to_string();
    let (universal, option) = match &r.instrument {
        Instrument::Equity { .. } => (Some(universal_symbol(&symbol)), None),
        Instrument::Option { occ } => (None, Some(options_symbol(occ))),
    };
    AccountOrderRecord {
        brokerage_order_id: o.vendor_id.clone(),
        brokerage_group_order_id: None,
        order_role: None,
        status,
        universal_symbol: universal,
        option_symbol: option,
        quote_universal_symbol: None,
        quote_currency: None,
        action: v1_action(r.instrument.is_option(), r.side, r.position_effect),
        total_quantity: total.normalize(),
        open_quantity: open.normalize(),
        canceled_quantity: canceled.normalize(),
        filled_quantity: s.filled_quantity.normalize(),
        execution_price: s.average_fill_price.map(|p| p.round_dp(6).normalize()),
        limit_price: r.limit_price.map(|p| p.normalize()),
        stop_price: r.stop_price.map(|p| p.normalize()),
        trailing_stop: None,
        order_type: type_word(r.order_type),
        time_in_force: tif_word(r.time_in_force),
        time_placed: iso(o.submitted_at),
        time_updated: iso(updated),
        time_executed: (s.status == OrderStatus::Filled).then(|| iso(updated)),
        expiry_date: None,
        symbol: brokerage_symbol_id(&symbol),
        child_brokerage_order_ids: None,
    }
}

/// The same order in the V2 shape (the experimental endpoints): the
/// order's status and prices as v1 has them, its legs with the V2
/// leg status and the vocabulary's upper-case words.
pub fn order_v2(b: &SimBrokerage, o: &BrokerOrder) -> AccountOrderRecordV2 {
    order_v2_as_of(b, o, &b.state(o), o.updated_at)
}

/// The V2 record of an order as it stood in state `s` (a webhook's).
pub fn order_v2_as_of(
    b: &SimBrokerage,
    o: &BrokerOrder,
    s: &OrderState,
    updated: Timestamp,
) -> AccountOrderRecordV2 {
    let v1 = order_as_of(b, o, s, updated);
    let r = &o.request;
    let leg_status = match s.status {
        OrderStatus::Pending | OrderStatus::Accepted => "PENDING",
        OrderStatus::PartiallyFilled => "PARTIALLY_EXECUTED",
        OrderStatus::Filled => "EXECUTED",
        OrderStatus::Canceled if !v1.filled_quantity.is_zero() => "PARTIAL_CANCELED",
        OrderStatus::Canceled => "CANCELED",
        OrderStatus::Rejected => "REJECTED",
        OrderStatus::Expired => "EXPIRED",
        OrderStatus::PendingCancel => "CANCEL_PENDING",
        OrderStatus::Replaced => "REPLACED",
    };
    // A multi-leg order's legs, each its ratio of the spreads; a single
    // order is its own one leg.
    let single = !r.is_multi_leg();
    let legs = r
        .each_leg()
        .iter()
        .map(|leg| {
            let (asset_type, exchange) = match leg.instrument {
                Instrument::Equity { .. } => ("EQUITY", "XNAS"),
                Instrument::Option { .. } => ("OPTION", "OPRA"),
            };
            let symbol = leg.instrument.to_string();
            let of_leg = |q: Decimal| q.checked_mul(leg.ratio_quantity).unwrap_or(q).normalize();
            AccountOrderRecordLeg {
                leg_id: None,
                instrument: LegInstrument {
                    description: symbol.clone(),
                    symbol,
                    asset_type,
                    exchange_mic_code: exchange,
                    figi_code: None,
                },
                action: v2_action(leg.instrument.is_option(), leg.side, leg.position_effect),
                // A spread fills at its net price; its legs' own prices
                // are not reported.
                execution_price: v1.execution_price.filter(|_| single),
                total_quantity: of_leg(v1.total_quantity),
                canceled_quantity: of_leg(v1.canceled_quantity),
                filled_quantity: of_leg(v1.filled_quantity),
                status: leg_status,
            }
        })
        .collect();
    AccountOrderRecordV2 {
        brokerage_order_id: v1.brokerage_order_id,
        brokerage_group_order_id: v1.brokerage_group_order_id,
        order_role: v1.order_role,
        status: v1.status,
        order_type: match r.order_type {
            OrderType::Market => "MARKET",
            OrderType::Limit => "LIMIT",
            OrderType::Stop => "STOP",
            OrderType::StopLimit => "STOP_LIMIT",
        },
        time_in_force: match r.time_in_force {
            TimeInForce::Day => "DAY",
            TimeInForce::Gtc => "GTC",
            TimeInForce::Ioc => "IOC",
            TimeInForce::Fok => "FOK",
        },
        time_placed: v1.time_placed,
        time_executed: v1.time_executed,
        price_currency: "USD",
        price_effect: match r.side {
            Side::Buy => "DEBIT",
            Side::Sell => "CREDIT",
        },
        execution_price: v1.execution_price,
        limit_price: v1.limit_price,
        stop_price: v1.stop_price,
        trailing_stop: v1.trailing_stop,
        legs,
    }
}
