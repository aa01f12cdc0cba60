//! What an account holder does at the institution on their own, outside
//! any connection: the history a read-only source (Plaid) imports. A
//! profile with a `[holder]` program opens its accounts with a first
//! session of buys, then posts one seeded action per account on a fixed
//! grid of simulated time while the market is open: a buy, a sell, a
//! dividend or an account fee.
//!
//! Trades go to the venue as the holder's own orders, priced and filled
//! like any other but never in the broker's order book (no connection
//! placed them). Dividends and fees are cash the institution books beside
//! the engine's ledger (`flows`). Each posting is recorded (the ground-truth
//! history) and followed by a snapshot of the accounts: what the
//! institution reported at that moment, which a source answering from a
//! cache serves later.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use mbt::engine::AccountView;
use mbt::rng::{below, SimRng};
use mbt::{
    Engine, Instrument, OccSymbol, OptionRight, OrderRequest, OrderType, PositionEffect, Side,
    TimeInForce, Timestamp,
};

use crate::ids::stable_alnum;

/// The holder's program, as profile data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolderProgram {
    /// The equities and ETFs the holder trades.
    pub symbols: Vec<String>,
    /// After the opening (at the model's start), postings fall on the
    /// multiples of `every_ms` since the Unix epoch; those that fall while
    /// the market is closed are skipped.
    pub every_ms: u64,
    /// The opening session also buys one call in every account (on its
    /// first stock): each institution then has an option holding to report.
    #[serde(default)]
    pub options: bool,
    /// The accounts the holder trades in on their own; every account of the
    /// profile when absent. An aggregator's user trades on their own only
    /// at the brokerages it merely reads (SnapTrade's read-only ones): an
    /// account the connection trades holds what its orders did, nothing else.
    #[serde(default)]
    pub accounts: Option<Vec<String>>,
}

impl HolderProgram {
    /// Whether the holder trades in `account` on their own.
    pub fn holds(&self, account: &str) -> bool {
        self.accounts
            .as_ref()
            .is_none_or(|only| only.iter().any(|a| a == account))
    }
}

/// What one entry of the holder's history is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolderActivityKind {
    /// Money put into the account (its opening cash).
    Contribution,
    Buy,
    Sell,
    /// A cash dividend paid on a holding.
    Dividend,
    /// An account fee.
    Fee,
}

/// One entry of the holder's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderActivity {
    /// The institution's own id for it (37 letters and digits, from the seed).
    pub id: String,
    pub account: String,
    pub time: Timestamp,
    pub kind: HolderActivityKind,
    /// What was traded, or paid the dividend; None for cash only.
    pub instrument: Option<Instrument>,
    /// Units traded (contracts for options), never negative; zero for cash only.
    pub quantity: Decimal,
    /// The fill price per unit (per-share premium for options); None for cash only.
    pub price: Option<Decimal>,
    /// The cash effect on the account, fees included: positive in, negative out.
    pub amount: Decimal,
    pub fees: Decimal,
}

/// The accounts as the institution reported them right after a posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub time: Timestamp,
    pub accounts: Vec<AccountView>,
}

/// The id length of the institution's activity ids (Plaid's shape).
const ID_LEN: usize = 37;

pub struct Holder {
    program: HolderProgram,
    rng: SimRng,
    /// What makes activity ids unique to this model: the slug and the seed.
    id_labels: [String; 2],
    next: Timestamp,
    /// Postings made so far (the opening is the first).
    postings: u64,
    activity: Vec<HolderActivity>,
    snapshots: Vec<Snapshot>,
    /// Dividends less fees per account: cash the engine's ledger does not hold.
    flows: BTreeMap<String, Decimal>,
}

impl Holder {
    pub fn new(
        program: HolderProgram,
        rng: SimRng,
        slug: &str,
        seed: u64,
        start: Timestamp,
    ) -> Self {
        Self {
            program,
            rng,
            id_labels: [slug.to_string(), seed.to_string()],
            next: start,
            postings: 0,
            activity: Vec::new(),
            snapshots: Vec::new(),
            flows: BTreeMap::new(),
        }
    }

    /// The next posting's time, when it is due by `now`.
    pub fn due(&self, now: Timestamp) -> Option<Timestamp> {
        (self.next <= now).then_some(self.next)
    }

    /// Carries out the posting due now (the engine is at its time): the
    /// opening session first, then one action per account; nothing while
    /// the market is closed.
    pub fn post(&mut self, engine: &mut Engine, accounts: &[String]) {
        // The grid is whole multiples of `every_ms` since the Unix epoch (on
        // the hour for an hour), whenever the model started.
        let step = i64::try_from(self.program.every_ms.max(1)).unwrap_or(i64::MAX);
        let slot = self.next.millis().div_euclid(step).saturating_add(1);
        self.next = Timestamp::from_millis(slot.saturating_mul(step));
        if !engine.is_open() {
            return;
        }
        for account in accounts.iter() {
            if self.postings == 0 {
                self.open(engine, account);
            } else {
                self.act(engine, account);
            }
        }
        self.postings += 1;
        let time = engine.now();
        let views = accounts
            .iter()
            .filter_map(|a| engine.account_view(a))
            .map(|mut v| {
                self.adjust(&mut v);
                v
            })
            .collect();
        self.snapshots.push(Snapshot {
            time,
            accounts: views,
        });
    }

    /// The opening session: the account's cash arrives, then the holder
    /// buys three of the program's symbols for about a quarter of it each.
    fn open(&mut self, engine: &mut Engine, account: &str) {
        let deposit = engine
            .account(account)
            .map_or(Decimal::ZERO, |a| a.deposits);
        self.record(
            engine,
            account,
            HolderActivityKind::Contribution,
            None,
            deposit,
        );
        let mut bought = Vec::new();
        for _ in 0..3 {
            let Some(symbol) = self.pick_symbol(&bought) else {
                break;
            };
            // A quarter: dividing by a constant cannot overflow.
            let quarter = self.cash(engine, account) / Decimal::from(4);
            if let Some(qty) = affordable(engine, &symbol, quarter) {
                self.trade(engine, account, Instrument::equity(&symbol), Side::Buy, qty);
            }
            bought.push(symbol);
        }
        if self.program.options {
            if let Some(call) = bought.first().and_then(|s| call_on(engine, s)) {
                self.trade(engine, account, call, Side::Buy, Decimal::ONE);
            }
        }
    }

    /// One seeded action: buy 40%, sell 30%, dividend 20%, fee 10%; a sell
    /// or a dividend with nothing held is a buy.
    fn act(&mut self, engine: &mut Engine, account: &str) {
        let held = held_equities(engine, account);
        let roll = below(&mut self.rng, 10);
        let pick = (!held.is_empty()).then(|| {
            let n = u64::try_from(held.len()).unwrap_or(u64::MAX);
            let i = usize::try_from(below(&mut self.rng, n)).unwrap_or(0);
            held.get(i).cloned()
        });
        match (roll, pick.flatten()) {
            (4..=6, Some((symbol, qty))) => {
                let units = qty.trunc().to_u64().unwrap_or(1).max(1);
                let sell = Decimal::from(below(&mut self.rng, units).saturating_add(1)).min(qty);
                self.trade(
                    engine,
                    account,
                    Instrument::equity(&symbol),
                    Side::Sell,
                    sell,
                );
            }
            (7..=8, Some((symbol, qty))) => self.dividend(engine, account, &symbol, qty),
            (9, _) => {
                let fee = Decimal::new(
                    100 + i64::try_from(below(&mut self.rng, 2_401)).unwrap_or(0),
                    2,
                );
                self.book_flow(account, -fee);
                self.record(engine, account, HolderActivityKind::Fee, None, -fee);
            }
            _ => self.buy_some(engine, account),
        }
    }

    /// Buys one of the program's symbols for 2-8% of the account's cash.
    fn buy_some(&mut self, engine: &mut Engine, account: &str) {
        let Some(symbol) = self.pick_symbol(&[]) else {
            return;
        };
        let percent = Decimal::new(2 + i64::try_from(below(&mut self.rng, 7)).unwrap_or(0), 2);
        let budget = self.cash(engine, account).checked_mul(percent);
        if let Some(qty) = budget.and_then(|b| affordable(engine, &symbol, b)) {
            self.trade(engine, account, Instrument::equity(&symbol), Side::Buy, qty);
        }
    }

    /// A cash dividend of 0.10-0.60% of the price per share held.
    fn dividend(&mut self, engine: &Engine, account: &str, symbol: &str, qty: Decimal) {
        let Some(spot) = engine.spot(symbol) else {
            return;
        };
        let rate = Decimal::new(10 + i64::try_from(below(&mut self.rng, 51)).unwrap_or(0), 4);
        let Some(per_share) = spot.checked_mul(rate) else {
            return;
        };
        let per_share = per_share.round_dp(2).max(Decimal::new(1, 2));
        let Some(paid) = qty.checked_mul(per_share).map(|p| p.round_dp(2)) else {
            return;
        };
        self.book_flow(account, paid);
        let instrument = Some(Instrument::equity(symbol));
        self.record(
            engine,
            account,
            HolderActivityKind::Dividend,
            instrument,
            paid,
        );
    }

    fn book_flow(&mut self, account: &str, amount: Decimal) {
        let flow = self.flows.entry(account.to_string()).or_default();
        *flow = flow.saturating_add(amount);
    }

    /// A market order of the holder's at the venue; recorded with its fill
    /// price, its fee, and its exact cash effect (the engine's cash moved by it).
    fn trade(
        &mut self,
        engine: &mut Engine,
        account: &str,
        instrument: Instrument,
        side: Side,
        qty: Decimal,
    ) {
        let effect = instrument.is_option().then_some(match side {
            Side::Buy => PositionEffect::Open,
            Side::Sell => PositionEffect::Close,
        });
        let request = OrderRequest {
            account_id: account.to_string(),
            client_order_id: format!("holder-{}", self.activity.len()),
            instrument: instrument.clone(),
            side,
            position_effect: effect,
            quantity: qty,
            order_type: OrderType::Market,
            limit_price: None,
            stop_price: None,
            time_in_force: TimeInForce::Day,
            legs: None,
            trail: None,
        };
        let before = engine.account(account).map(|a| (a.cash, a.fees_paid));
        let Ok(id) = engine.submit(request) else {
            return;
        };
        let Some(order) = engine.order(id).cloned() else {
            return;
        };
        if !order.status.is_terminal() {
            // The holder's orders are for now or never: one that rests is withdrawn.
            let _ = engine.cancel(id);
        }
        let after = engine.account(account).map(|a| (a.cash, a.fees_paid));
        let (Some(price), Some((cash0, fees0)), Some((cash1, fees1))) =
            (order.average_fill_price, before, after)
        else {
            return;
        };
        if order.filled_quantity.is_zero() {
            return;
        }
        let kind = match side {
            Side::Buy => HolderActivityKind::Buy,
            Side::Sell => HolderActivityKind::Sell,
        };
        // Both sides are amounts the engine's ledger holds (within its
        // range), so their differences are exact.
        let amount = cash1.saturating_sub(cash0);
        let fees = fees1.saturating_sub(fees0);
        let entry = self.entry(engine, account, kind, Some(instrument), amount);
        self.activity.push(HolderActivity {
            quantity: order.filled_quantity,
            price: Some(price),
            fees,
            ..entry
        });
    }

    fn record(
        &mut self,
        engine: &Engine,
        account: &str,
        kind: HolderActivityKind,
        instrument: Option<Instrument>,
        amount: Decimal,
    ) {
        let entry = self.entry(engine, account, kind, instrument, amount);
        self.activity.push(entry);
    }

    fn entry(
        &self,
        engine: &Engine,
        account: &str,
        kind: HolderActivityKind,
        instrument: Option<Instrument>,
        amount: Decimal,
    ) -> HolderActivity {
        let n = self.activity.len().to_string();
        let [slug, seed] = &self.id_labels;
        HolderActivity {
            id: stable_alnum(&[slug, seed, "holder", &n], ID_LEN),
            account: account.to_string(),
            time: engine.now(),
            kind,
            instrument,
            quantity: Decimal::ZERO,
            price: None,
            amount,
            fees: Decimal::ZERO,
        }
    }

    /// A symbol of the program not in `except`, drawn from the seed.
    fn pick_symbol(&mut self, except: &[String]) -> Option<String> {
        let free: Vec<&String> = self
            .program
            .symbols
            .iter()
            .filter(|s| !except.contains(s))
            .collect();
        let n = u64::try_from(free.len()).ok().filter(|n| *n > 0)?;
        let i = usize::try_from(below(&mut self.rng, n)).ok()?;
        free.get(i).map(|s| (*s).clone())
    }

    /// The account's cash as the holder sees it (the institution's flows included).
    fn cash(&self, engine: &Engine, account: &str) -> Decimal {
        let engine_cash = engine.account(account).map_or(Decimal::ZERO, |a| a.cash);
        let flow = self.flows.get(account).copied().unwrap_or_default();
        // Spend only what both ledgers agree is there.
        engine_cash
            .min(engine_cash.saturating_add(flow))
            .max(Decimal::ZERO)
    }

    /// The institution's cash flows (dividends less fees) booked on
    /// `account` by `t`: what `flows` held then.
    pub fn flows_until(&self, account: &str, t: Timestamp) -> Decimal {
        self.activity
            .iter()
            .take_while(|a| a.time <= t)
            .filter(|a| a.account == account)
            .filter(|a| {
                matches!(
                    a.kind,
                    HolderActivityKind::Dividend | HolderActivityKind::Fee
                )
            })
            .fold(Decimal::ZERO, |sum, a| sum.saturating_add(a.amount))
    }

    /// An account view with the institution's cash flows (dividends less
    /// fees) added to its cash, buying power and equity.
    pub fn adjust(&self, view: &mut AccountView) {
        let flow = self
            .flows
            .get(&view.account_id)
            .copied()
            .unwrap_or_default();
        view.cash = view.cash.saturating_add(flow);
        view.equity = view.equity.saturating_add(flow);
        view.buying_power = view.buying_power.saturating_add(flow).max(Decimal::ZERO);
    }

    pub fn program(&self) -> &HolderProgram {
        &self.program
    }

    /// Every entry of the history so far, oldest first.
    pub fn activity(&self) -> &[HolderActivity] {
        &self.activity
    }

    /// Every report the institution made, oldest first.
    pub fn snapshots(&self) -> &[Snapshot] {
        &self.snapshots
    }

    /// The institution's report as of `t`: the last snapshot taken at or before it.
    pub fn snapshot_at(&self, t: Timestamp) -> Option<&Snapshot> {
        self.snapshots.iter().rev().find(|s| s.time <= t)
    }
}

/// Whole units of `symbol` that `budget` buys at its ask, if at least one.
fn affordable(engine: &Engine, symbol: &str, budget: Decimal) -> Option<Decimal> {
    let ask = engine.quote(&Instrument::equity(symbol))?.ask;
    let units = budget.checked_div(ask)?.trunc();
    (units >= Decimal::ONE).then_some(units)
}

/// The account's long equity positions, in instrument order.
fn held_equities(engine: &Engine, account: &str) -> Vec<(String, Decimal)> {
    engine
        .account(account)
        .map(|a| {
            a.positions
                .values()
                .filter(|p| p.quantity >= Decimal::ONE)
                .filter_map(|p| match &p.instrument {
                    Instrument::Equity { symbol } => Some((symbol.clone(), p.quantity)),
                    Instrument::Option { .. } => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A call on `symbol` a little out of the money (strike: the next multiple
/// of 5 above the price), expiring on the third Friday two months out.
fn call_on(engine: &Engine, symbol: &str) -> Option<Instrument> {
    let spot = engine.spot(symbol)?;
    let five = Decimal::from(5);
    let strike = (spot.checked_div(five)?.floor() + Decimal::ONE).checked_mul(five)?;
    let expiry = third_friday(engine.now().date(), 2)?;
    let occ = OccSymbol::new(symbol, expiry, OptionRight::Call, strike).ok()?;
    Some(Instrument::option(occ))
}

/// The third Friday of the month `months` after `from`'s.
fn third_friday(from: NaiveDate, months: u32) -> Option<NaiveDate> {
    let first = from
        .with_day(1)?
        .checked_add_months(chrono::Months::new(months))?;
    let to_friday =
        (7 + Weekday::Fri.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
    first.checked_add_signed(Duration::days(i64::from(to_friday) + 14))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn third_fridays() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(third_friday(d(2026, 1, 5), 2), Some(d(2026, 3, 20)));
        assert_eq!(third_friday(d(2026, 1, 31), 0), Some(d(2026, 1, 16)));
        assert_eq!(third_friday(d(2026, 11, 2), 2), Some(d(2027, 1, 15)));
    }
}
