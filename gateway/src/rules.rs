//! Orders fired by rules: a trader's discipline as data.
//!
//! A [`Strategy`] says what is traded (an equity, one option, or a
//! multi-leg option order), when to enter, at what price or credit, and
//! when to get out (take-profit, stop-loss, time exit). [`Rules`] turns it
//! into orders. The rules see only what [`Seen`] carries: the clock, the
//! market's marks and what became of their own orders. Nothing about the
//! broker, the tier or the mode reaches them, so the same inputs fire the
//! same orders whatever broker, paper or live, the orders go to; and a
//! run's inputs, fed again to fresh rules, fire the same orders again
//! (the gateway's tests and the harness's `rules_fire_alike_everywhere`).
//!
//! Client order ids are `<name>-<trip>-<entry|exit>`, `trip` counting round
//! trips from 1, with `-<k>` for the k-th attempt of the same purpose in
//! one trip (an entry fired again after a refusal, an exit after a partial
//! fill): every order fired has an id of its own, and a resubmitted one
//! keeps it.

use std::collections::BTreeMap;

use adapters::{Leg, Order, OrderStatus, OrderType, PositionEffect, Side, TimeInForce};
use chrono::{DateTime, Duration, Utc};
use mbt::{Instrument, OccSymbol};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A trader's entry, price and exit discipline for one trade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Strategy {
    /// Names the strategy's orders (`<name>-<n>-entry`).
    pub name: String,
    pub trade: Trade,
    /// Shares or contracts per entry (spreads: per leg ratio of one).
    #[schemars(with = "String")]
    pub quantity: Decimal,
    pub entry: Entry,
    #[serde(default)]
    pub exit: Exit,
    /// Stop after this many round trips (entered and left again).
    #[serde(default)]
    pub round_trips: Option<u32>,
}

/// What the strategy trades, and in which direction it opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trade {
    /// An equity, bought (long) or sold short.
    Equity {
        symbol: String,
        #[schemars(with = "SideSchema")]
        side: Side,
    },
    /// One option contract series, bought or written.
    Option {
        occ: String,
        #[schemars(with = "SideSchema")]
        side: Side,
    },
    /// A multi-leg option order on one underlying, opened as one order:
    /// `side` sell is a credit spread (the limit is the credit asked),
    /// buy a debit spread.
    Spread {
        underlying: String,
        #[schemars(with = "SideSchema")]
        side: Side,
        legs: Vec<SpreadLeg>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpreadLeg {
    pub occ: String,
    #[schemars(with = "SideSchema")]
    pub side: Side,
    #[serde(default = "one")]
    #[schemars(with = "String")]
    pub ratio: Decimal,
}

/// [`Side`]'s words, for the schema (the engine's type has none).
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum SideSchema {
    Buy,
    Sell,
}

fn one() -> Decimal {
    Decimal::ONE
}

/// When and at what price the strategy opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Asked of the underlying's mark (the equity itself for equities).
    pub when: Condition,
    /// Market, or a limit: the price (or, for a spread, the net credit or
    /// debit) the trader asks for.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub limit: Option<Decimal>,
    /// An entry not filled after this many minutes is canceled.
    #[serde(default)]
    pub expire_after_minutes: Option<u32>,
}

/// A condition on the underlying's mark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// At the first mark.
    Always,
    /// The mark is at or below `price`.
    AtOrBelow {
        #[schemars(with = "String")]
        price: Decimal,
    },
    /// The mark is at or above `price`.
    AtOrAbove {
        #[schemars(with = "String")]
        price: Decimal,
    },
    /// The mark is at least `percent` below the highest mark seen since
    /// the strategy was last flat.
    DropFromHigh {
        #[schemars(with = "String")]
        percent: Decimal,
    },
}

/// When the strategy gets out, judged on the trade's own mark against
/// the entry's average fill price (for a credit, the credit received).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exit {
    /// Out once the position gained this percent of its entry price.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub take_profit_percent: Option<Decimal>,
    /// Out once it lost this percent.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub stop_loss_percent: Option<Decimal>,
    /// Out once held this many minutes, whatever the mark.
    #[serde(default)]
    pub max_hold_minutes: Option<u32>,
    /// Out with a limit this far past the trade's mark when the exit is
    /// decided (what is given up to be filled: above it buying back, below
    /// it selling), instead of at the market. Brokers take multi-leg
    /// orders at a limit only (tastytrade): a spread meant to trade live
    /// sets it. An exit left unfilled is decided again at a later tick.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub limit_offset: Option<Decimal>,
}

/// Why a strategy definition cannot be traded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("strategy {name}: {why}")]
pub struct InvalidStrategy {
    pub name: String,
    pub why: String,
}

/// Everything the rules are told: nothing else reaches them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "seen", rename_all = "snake_case")]
pub enum Seen {
    /// The market now: the marks of whatever instruments are quoted.
    Tick {
        at: DateTime<Utc>,
        marks: BTreeMap<Instrument, Decimal>,
    },
    /// What became of one of the strategy's orders: a fill, or an end. A
    /// refused submit is reported as `Rejected` with nothing filled.
    Order {
        client_order_id: String,
        status: OrderStatus,
        filled_quantity: Decimal,
        average_fill_price: Option<Decimal>,
    },
}

/// What the rules ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Fire {
    Submit(Order),
    Cancel { client_order_id: String },
}

/// Where the strategy is in its round trip.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Flat,
    Entering {
        cid: String,
        since: DateTime<Utc>,
        cancel_asked: bool,
    },
    Holding(Held),
    Exiting {
        cid: String,
        held: Held,
    },
    Done,
}

#[derive(Debug, Clone, PartialEq)]
struct Held {
    quantity: Decimal,
    price: Decimal,
    since: DateTime<Utc>,
}

/// The rules of one strategy, and the state of its round trip.
#[derive(Debug, Clone)]
pub struct Rules {
    strategy: Strategy,
    underlying: Instrument,
    instrument: Instrument,
    /// Orders of each purpose fired in the current round trip.
    attempts: BTreeMap<&'static str, u32>,
    round_trips: u32,
    high: Option<Decimal>,
    now: Option<DateTime<Utc>>,
    phase: Phase,
}

impl Rules {
    pub fn new(strategy: Strategy) -> Result<Rules, InvalidStrategy> {
        let invalid = |why: &str| InvalidStrategy {
            name: strategy.name.clone(),
            why: why.to_string(),
        };
        if strategy.name.is_empty() || strategy.name.len() > 64 {
            return Err(invalid("the name must be 1 to 64 characters"));
        }
        if strategy.quantity <= Decimal::ZERO {
            return Err(invalid("the quantity must be positive"));
        }
        if strategy.entry.limit.is_some_and(|l| l <= Decimal::ZERO) {
            return Err(invalid("a limit must be positive"));
        }
        if strategy
            .exit
            .limit_offset
            .is_some_and(|o| o < Decimal::ZERO)
        {
            return Err(invalid("an exit's limit offset must not be negative"));
        }
        let occ = |s: &str| -> Result<OccSymbol, InvalidStrategy> {
            s.parse()
                .map_err(|_| invalid(&format!("{s:?} is not an OCC option symbol")))
        };
        let (underlying, instrument) = match &strategy.trade {
            Trade::Equity { symbol, .. } => {
                if !mbt::instrument::is_ticker(symbol) {
                    return Err(invalid(&format!("{symbol:?} is not a ticker")));
                }
                (Instrument::equity(symbol), Instrument::equity(symbol))
            }
            Trade::Option { occ: s, .. } => {
                let o = occ(s)?;
                (Instrument::equity(o.root()), Instrument::option(o))
            }
            Trade::Spread {
                underlying, legs, ..
            } => {
                if legs.len() < 2 {
                    return Err(invalid("a spread has at least two legs"));
                }
                for leg in legs {
                    let o = occ(&leg.occ)?;
                    if o.root() != underlying {
                        return Err(invalid(&format!("leg {} is not on {underlying}", leg.occ)));
                    }
                    if leg.ratio <= Decimal::ZERO {
                        return Err(invalid("a leg's ratio must be positive"));
                    }
                }
                (
                    Instrument::equity(underlying),
                    Instrument::equity(underlying),
                )
            }
        };
        Ok(Rules {
            strategy,
            underlying,
            instrument,
            attempts: BTreeMap::new(),
            round_trips: 0,
            high: None,
            now: None,
            phase: Phase::Flat,
        })
    }

    pub fn strategy(&self) -> &Strategy {
        &self.strategy
    }

    /// Round trips completed so far.
    pub fn round_trips(&self) -> u32 {
        self.round_trips
    }

    /// The orders (and cancels) this observation fires.
    pub fn on(&mut self, seen: &Seen) -> Vec<Fire> {
        match seen {
            Seen::Tick { at, marks } => self.on_tick(*at, marks),
            Seen::Order {
                client_order_id,
                status,
                filled_quantity,
                average_fill_price,
            } => {
                self.on_order(
                    client_order_id,
                    *status,
                    *filled_quantity,
                    *average_fill_price,
                );
                Vec::new()
            }
        }
    }

    fn on_tick(&mut self, at: DateTime<Utc>, marks: &BTreeMap<Instrument, Decimal>) -> Vec<Fire> {
        self.now = Some(at);
        let underlying = marks.get(&self.underlying).copied();
        if let Some(m) = underlying {
            self.high = Some(self.high.map_or(m, |h| h.max(m)));
        }
        match self.phase.clone() {
            Phase::Flat => match underlying {
                Some(m) if self.enters_at(m) => vec![Fire::Submit(self.entry_order(at))],
                _ => Vec::new(),
            },
            Phase::Entering {
                cid,
                since,
                cancel_asked: false,
            } if self.entry_expired(since, at) => {
                self.phase = Phase::Entering {
                    cid: cid.clone(),
                    since,
                    cancel_asked: true,
                };
                vec![Fire::Cancel {
                    client_order_id: cid,
                }]
            }
            Phase::Holding(held) if self.exits(&held, at, marks) => {
                let mark = self.mark(marks);
                vec![Fire::Submit(self.exit_order(held, mark))]
            }
            _ => Vec::new(),
        }
    }

    fn on_order(
        &mut self,
        cid: &str,
        status: OrderStatus,
        filled: Decimal,
        price: Option<Decimal>,
    ) {
        let at = self.now.unwrap_or_default();
        match self.phase.clone() {
            Phase::Entering { cid: c, .. } if c == cid && status.is_terminal() => {
                self.phase = match price {
                    Some(price) if filled > Decimal::ZERO => Phase::Holding(Held {
                        quantity: filled,
                        price,
                        since: at,
                    }),
                    _ => Phase::Flat,
                };
            }
            Phase::Exiting { cid: c, held } if c == cid && status.is_terminal() => {
                let left = held.quantity - filled.min(held.quantity);
                self.phase = if left > Decimal::ZERO {
                    // Not (wholly) out: the next tick decides again.
                    Phase::Holding(Held {
                        quantity: left,
                        ..held
                    })
                } else {
                    self.round_trips += 1;
                    self.attempts.clear();
                    self.high = None;
                    match self.strategy.round_trips {
                        Some(n) if self.round_trips >= n => Phase::Done,
                        _ => Phase::Flat,
                    }
                };
            }
            _ => {}
        }
    }

    fn enters_at(&self, mark: Decimal) -> bool {
        match &self.strategy.entry.when {
            Condition::Always => true,
            Condition::AtOrBelow { price } => mark <= *price,
            Condition::AtOrAbove { price } => mark >= *price,
            Condition::DropFromHigh { percent } => self
                .high
                .and_then(|h| h.checked_mul(Decimal::ONE - *percent / Decimal::ONE_HUNDRED))
                .is_some_and(|floor| mark <= floor),
        }
    }

    fn entry_expired(&self, since: DateTime<Utc>, at: DateTime<Utc>) -> bool {
        self.strategy
            .entry
            .expire_after_minutes
            .is_some_and(|m| at - since >= Duration::minutes(i64::from(m)))
    }

    fn exits(&self, held: &Held, at: DateTime<Utc>, marks: &BTreeMap<Instrument, Decimal>) -> bool {
        let exit = &self.strategy.exit;
        if exit
            .max_hold_minutes
            .is_some_and(|m| at - held.since >= Duration::minutes(i64::from(m)))
        {
            return true;
        }
        let Some(mark) = self.mark(marks) else {
            return false;
        };
        if held.price.is_zero() {
            return false;
        }
        // Gained fraction of the entry price: a long gains as the mark
        // rises, a short (or a credit sold) as it falls.
        let direction = self.opening_side().sign();
        let Some(gain) = (mark - held.price)
            .checked_div(held.price)
            .and_then(|g| g.checked_mul(direction))
        else {
            return false;
        };
        let pct = |p: Decimal| p / Decimal::ONE_HUNDRED;
        exit.take_profit_percent.is_some_and(|p| gain >= pct(p))
            || exit.stop_loss_percent.is_some_and(|p| -gain >= pct(p))
    }

    /// The trade's own mark: the instrument's, or a spread's net value
    /// (legs on the opening side add, the others subtract), None when a
    /// needed mark is missing.
    fn mark(&self, marks: &BTreeMap<Instrument, Decimal>) -> Option<Decimal> {
        match &self.strategy.trade {
            Trade::Equity { .. } | Trade::Option { .. } => marks.get(&self.instrument).copied(),
            Trade::Spread { side, legs, .. } => legs.iter().try_fold(Decimal::ZERO, |net, leg| {
                let occ: OccSymbol = leg.occ.parse().ok()?;
                let m = marks.get(&Instrument::option(occ))?;
                let sign = if leg.side == *side {
                    Decimal::ONE
                } else {
                    -Decimal::ONE
                };
                net.checked_add(m.checked_mul(leg.ratio)?.checked_mul(sign)?)
            }),
        }
    }

    fn opening_side(&self) -> Side {
        match &self.strategy.trade {
            Trade::Equity { side, .. }
            | Trade::Option { side, .. }
            | Trade::Spread { side, .. } => *side,
        }
    }

    fn next_cid(&mut self, purpose: &'static str) -> String {
        let k = self.attempts.entry(purpose).or_default();
        *k += 1;
        let trip = self.round_trips + 1;
        match *k {
            1 => format!("{}-{trip}-{purpose}", self.strategy.name),
            k => format!("{}-{trip}-{purpose}-{k}", self.strategy.name),
        }
    }

    fn entry_order(&mut self, at: DateTime<Utc>) -> Order {
        let cid = self.next_cid("entry");
        let side = self.opening_side();
        let order = self.order(&cid, side, self.strategy.quantity, PositionEffect::Open);
        let order = match self.strategy.entry.limit {
            Some(limit) => Order {
                order_type: OrderType::Limit,
                limit_price: Some(limit),
                ..order
            },
            None => order,
        };
        self.phase = Phase::Entering {
            cid,
            since: at,
            cancel_asked: false,
        };
        order
    }

    /// An order closing what is held: at the market, or at a limit
    /// `limit_offset` past the mark (a cent at least).
    fn exit_order(&mut self, held: Held, mark: Option<Decimal>) -> Order {
        let cid = self.next_cid("exit");
        let side = flip(self.opening_side());
        let order = self.order(&cid, side, held.quantity, PositionEffect::Close);
        let limit = self
            .strategy
            .exit
            .limit_offset
            .zip(mark)
            .and_then(|(off, m)| {
                let price = match side {
                    Side::Buy => m.checked_add(off)?,
                    Side::Sell => m.checked_sub(off)?,
                };
                Some(price.round_dp(2).max(Decimal::new(1, 2)))
            });
        let order = match limit {
            Some(limit) => Order {
                order_type: OrderType::Limit,
                limit_price: Some(limit),
                ..order
            },
            None => order,
        };
        self.phase = Phase::Exiting { cid, held };
        order
    }

    fn order(&self, cid: &str, side: Side, quantity: Decimal, effect: PositionEffect) -> Order {
        let base = Order::market(cid, "", side, quantity);
        match &self.strategy.trade {
            Trade::Equity { .. } => Order {
                instrument: self.instrument.clone(),
                ..base
            },
            Trade::Option { .. } => Order {
                instrument: self.instrument.clone(),
                position_effect: Some(effect),
                ..base
            },
            Trade::Spread {
                side: opening,
                legs,
                ..
            } => Order {
                instrument: self.underlying.clone(),
                position_effect: Some(effect),
                time_in_force: TimeInForce::Day,
                legs: Some(
                    legs.iter()
                        .filter_map(|l| {
                            let occ: OccSymbol = l.occ.parse().ok()?;
                            // Closing flips every leg along with the order.
                            let leg_side = if side == *opening {
                                l.side
                            } else {
                                flip(l.side)
                            };
                            Some(Leg {
                                instrument: Instrument::option(occ),
                                side: leg_side,
                                position_effect: Some(effect),
                                ratio_quantity: l.ratio,
                            })
                        })
                        .collect(),
                ),
                ..base
            },
        }
    }
}

fn flip(side: Side) -> Side {
    match side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

#[cfg(test)]
mod tests;
