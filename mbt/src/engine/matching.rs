//! Matching: which working orders a market event fills, how much, and at what price.
//!
//! Every fill is all or nothing: its fee and the order's and the account's
//! new state are computed with checked arithmetic before any of them is
//! booked. A fill that cannot be represented (only absurd amounts make one)
//! is not made, and the order keeps working.

use rust_decimal::Decimal;

use super::{held_for, order_index, release, Engine};
use crate::account::Account;
use crate::checked;
use crate::instrument::Instrument;
use crate::log::EngineEvent;
use crate::market::{InstrumentId, MarketData, MarketEvent, Touch};
use crate::order::{
    FillError, Order, OrderFill, OrderId, OrderStatus, OrderType, Side, TimeInForce,
};

use super::book::Book;

/// One leg's execution in a multi-leg fill.
struct LegFill {
    instrument: Instrument,
    side: Side,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
}

/// A multi-leg order's whole fill, computed before anything changes.
struct SpreadFill {
    legs: Vec<LegFill>,
    /// The account once every leg is booked and the order's hold released.
    account: Account,
    order: OrderFill,
}

impl Engine {
    pub(super) fn book(&self, iid: InstrumentId) -> Option<&Book> {
        self.books.get(iid.0 as usize)
    }

    fn book_mut(&mut self, iid: InstrumentId) -> Option<&mut Book> {
        self.books.get_mut(iid.0 as usize)
    }

    /// Units of an order not yet filled while it works (zero once it has finished).
    fn remaining(&self, id: OrderId) -> Decimal {
        self.order(id)
            .map_or(Decimal::ZERO, Order::remaining_quantity)
    }

    /// Where an order's working state lives: its own instrument, or its
    /// underlying for a multi-leg order.
    pub(super) fn home(&mut self, id: OrderId) -> Option<InstrumentId> {
        let r = &self.order(id)?.request;
        let instrument = if r.is_multi_leg() {
            Instrument::equity(r.instrument.underlying())
        } else {
            r.instrument.clone()
        };
        Some(self.instrument_id(&instrument))
    }

    /// Puts a newly accepted order to work: fills what the market allows
    /// now and rests the rest. IOC and FOK orders never rest.
    pub(super) fn work(&mut self, id: OrderId) {
        let Some(iid) = self.home(id) else {
            return;
        };
        let Some((multi_leg, tif, option)) = self.order(id).map(|o| {
            let r = &o.request;
            (r.is_multi_leg(), r.time_in_force, r.instrument.is_option())
        }) else {
            return;
        };
        // An order told to wait for the market rests now and meets the
        // market at its instrument's next event.
        let waits = self.waiting_for_market.remove(&id);
        if multi_leg {
            if waits || !(self.is_open() && self.try_multi_leg(id)) {
                if let Some(waiting) = self.multi_leg.get_mut(iid.0 as usize) {
                    waiting.push(id);
                }
            }
        } else {
            if option {
                self.watch_option(iid);
            }
            if tif == TimeInForce::Fok && self.fillable_now(id) < self.remaining(id) {
                let _ = self.finish(id, OrderStatus::Canceled);
                return;
            }
            if let (Some(order), Some(book)) = (
                order_index(id).and_then(|i| self.orders.get(i)),
                self.books.get_mut(iid.0 as usize),
            ) {
                book.insert(order);
            }
            if !waits {
                self.match_instrument(iid);
            }
        }
        if matches!(tif, TimeInForce::Ioc | TimeInForce::Fok)
            && self.order(id).is_some_and(|o| o.status.is_working())
        {
            let _ = self.finish(id, OrderStatus::Canceled);
        }
    }

    /// Units of an order the current market would fill right now.
    fn fillable_now(&self, id: OrderId) -> Decimal {
        let Some(o) = self.order(id) else {
            return Decimal::ZERO;
        };
        let Some(iid) = self.market.id(&o.request.instrument) else {
            return Decimal::ZERO;
        };
        let (Some(touch), Some(book)) = (self.market.state(iid).touch, self.book(iid)) else {
            return Decimal::ZERO;
        };
        if !self.is_open() || matches!(o.request.order_type, OrderType::Stop | OrderType::StopLimit)
        {
            return Decimal::ZERO;
        }
        let px = super::book::working_price(o);
        match o.request.side {
            Side::Buy if px >= touch.buy => book.buy_liquidity,
            Side::Sell if px <= touch.sell => book.sell_liquidity,
            _ => Decimal::ZERO,
        }
    }

    /// Registers an option with working orders so that its underlying's events re-price it.
    fn watch_option(&mut self, iid: InstrumentId) {
        let Instrument::Option { occ } = self.market.instrument(iid).clone() else {
            return;
        };
        let uid = self.instrument_id(&Instrument::equity(occ.root()));
        if let Some(deps) = self.option_dependents.get_mut(uid.0 as usize) {
            if !deps.contains(&iid) {
                deps.push(iid);
            }
        }
        let version = self.market.state(uid).version;
        if self
            .book(iid)
            .is_some_and(|b| b.priced_from != Some(version))
        {
            self.reprice_option(iid, version);
        }
    }

    /// Prices an option from its underlying and refreshes its liquidity.
    fn reprice_option(&mut self, iid: InstrumentId, underlying_version: u64) {
        let instrument = self.market.instrument(iid).clone();
        let Some(quote) = self.quote(&instrument) else {
            return;
        };
        let ev = MarketEvent {
            time: self.now,
            instrument: iid,
            data: MarketData::Quote(quote),
        };
        if self.market.apply(&ev) {
            if let Some(book) = self.book_mut(iid) {
                book.priced_from = Some(underlying_version);
            }
            self.refresh_liquidity(iid);
        }
    }

    fn refresh_liquidity(&mut self, iid: InstrumentId) {
        let Some(q) = self.market.state(iid).quote else {
            return;
        };
        let fill = &self.config.fill;
        if let Some(book) = self.books.get_mut(iid.0 as usize) {
            book.buy_liquidity = fill.available(q.ask_size);
            book.sell_liquidity = fill.available(q.bid_size);
        }
    }

    /// After an instrument's market state changed: fill what it makes
    /// marketable, then re-price and match the options and spreads written on it.
    pub(super) fn after_market_update(&mut self, iid: InstrumentId) {
        self.refresh_liquidity(iid);
        self.match_instrument(iid);
        let idx = iid.0 as usize;
        if self
            .option_dependents
            .get(idx)
            .is_some_and(|d| !d.is_empty())
        {
            let version = self.market.state(iid).version;
            let mut deps = self
                .option_dependents
                .get_mut(idx)
                .map(std::mem::take)
                .unwrap_or_default();
            for &opt in &deps {
                self.reprice_option(opt, version);
                self.match_instrument(opt);
            }
            deps.retain(|opt| self.book(*opt).is_some_and(|b| !b.is_empty()));
            // Orders placed while matching may have registered new dependents.
            if let Some(slot) = self.option_dependents.get_mut(idx) {
                deps.append(slot);
                *slot = deps;
            }
        }
        if self.multi_leg.get(idx).is_some_and(|w| !w.is_empty()) && self.is_open() {
            let pending = self
                .multi_leg
                .get_mut(idx)
                .map(std::mem::take)
                .unwrap_or_default();
            let mut still = Vec::with_capacity(pending.len());
            for id in pending {
                if self.order(id).is_some_and(|o| o.status.is_working()) && !self.try_multi_leg(id)
                {
                    still.push(id);
                }
            }
            if let Some(slot) = self.multi_leg.get_mut(idx) {
                still.append(slot);
                *slot = still;
            }
        }
    }

    /// Triggers stops and fills marketable orders of one instrument against its latest event.
    fn match_instrument(&mut self, iid: InstrumentId) {
        // Most events reach instruments nobody has an order on: an empty
        // book has no stop to trigger, trail or fill, so they cost nothing.
        if !self.is_open() || self.book(iid).is_none_or(Book::is_empty) {
            return;
        }
        let state = self.market.state(iid);
        let (Some(touch), Some(quote)) = (state.touch, state.quote) else {
            return;
        };
        self.trigger_stops(iid, touch);
        self.trail_stops(iid, touch);
        // Each order fills at most once per event (so per-order caps slice
        // fills across events), walking each side of the book from the best
        // price with a cursor: filled orders leave the book under it.
        for (side, reach, quoted) in [
            (Side::Buy, touch.buy, quote.ask),
            (Side::Sell, touch.sell, quote.bid),
        ] {
            let mut after = None;
            while let Some(key) = self
                .book(iid)
                .and_then(|b| b.next_marketable(side, reach, after))
            {
                after = Some(key);
                let id = key.1;
                let offered = self.book(iid).map_or(Decimal::ZERO, |b| b.liquidity(side));
                let qty = self.fill_limit(id).min(offered);
                if qty <= Decimal::ZERO {
                    break;
                }
                let limit = self
                    .order(id)
                    .and_then(|o| o.request.limit_price)
                    .filter(|_| self.is_limit(id));
                let Ok(price) =
                    self.config
                        .fill
                        .execution_price(&mut self.rng, side, quoted, limit)
                else {
                    continue;
                };
                if self.fill_single(id, iid, qty, price) {
                    if let Some(book) = self.book_mut(iid) {
                        book.take(side, qty);
                    }
                }
            }
        }
    }

    /// Moves every stop `touch` reaches from its stop book to the working book.
    fn trigger_stops(&mut self, iid: InstrumentId, touch: Touch) {
        loop {
            let Some(book) = self.book(iid) else {
                return;
            };
            let (id, price) = if let Some(id) = book.triggered_buy_stop(touch.high) {
                (id, touch.high)
            } else if let Some(id) = book.triggered_sell_stop(touch.low) {
                (id, touch.low)
            } else {
                return;
            };
            let (Some(order), Some(book)) = (
                order_index(id).and_then(|i| self.orders.get_mut(i)),
                self.books.get_mut(iid.0 as usize),
            ) else {
                return;
            };
            book.remove(order);
            order.triggered = true;
            book.insert(order);
            self.log.push(
                self.now,
                EngineEvent::StopTriggered {
                    order_id: id,
                    price,
                },
            );
        }
    }

    /// What an order may take from one event: its remainder, within its own cap if it has one.
    fn fill_limit(&self, id: OrderId) -> Decimal {
        let remaining = self.remaining(id);
        self.fill_caps
            .get(&id)
            .map_or(remaining, |cap| remaining.min(*cap))
    }

    fn is_limit(&self, id: OrderId) -> bool {
        self.order(id).is_some_and(|o| {
            matches!(
                o.request.order_type,
                OrderType::Limit | OrderType::StopLimit
            )
        })
    }

    /// Books one fill of a single-instrument order; false (and nothing
    /// changed) when the fill cannot be represented.
    fn fill_single(
        &mut self,
        id: OrderId,
        iid: InstrumentId,
        qty: Decimal,
        price: Decimal,
    ) -> bool {
        let now = self.now;
        let Some(i) = order_index(id) else {
            return false;
        };
        let Some(order) = self.orders.get(i) else {
            return false;
        };
        let Ok((fee, outcome, signed_qty)) = self.plan_single(order, qty, price) else {
            return false;
        };
        let r = &order.request;
        let (instrument, side, account_id) = (r.instrument.clone(), r.side, r.account_id.clone());
        let released = held_for(self.reservations.get(&id).copied().unwrap_or_default(), qty);
        let (Some(order), Some(account)) =
            (self.orders.get_mut(i), self.accounts.get_mut(&account_id))
        else {
            return false;
        };
        if account
            .apply_fill(&instrument, signed_qty, price, fee)
            .is_err()
        {
            return false;
        }
        account.reserved = release(account.reserved, released);
        order.commit_fill(outcome);
        if outcome.status == OrderStatus::Filled {
            if let (Some(order), Some(book)) =
                (self.orders.get(i), self.books.get_mut(iid.0 as usize))
            {
                book.remove(order);
            }
            self.reservations.remove(&id);
            self.fill_caps.remove(&id);
        }
        self.log.push(
            now,
            EngineEvent::Fill {
                order_id: id,
                account_id,
                instrument,
                side,
                quantity: qty,
                price,
                fee,
                status: outcome.status,
            },
        );
        true
    }

    /// A single-instrument fill's fee, the order's state after it and the
    /// signed quantity the position moves by, computed without changing anything.
    fn plan_single(
        &self,
        order: &Order,
        qty: Decimal,
        price: Decimal,
    ) -> Result<(Decimal, OrderFill, Decimal), FillError> {
        let r = &order.request;
        let fee = self.config.fees_for(&r.account_id).fee_for_fill(
            &r.instrument,
            r.side,
            order.filled_quantity,
            qty,
            price,
        )?;
        let outcome = order.plan_fill(qty, price, fee, self.now)?;
        Ok((fee, outcome, checked::mul(r.side.sign(), qty)?))
    }

    /// Fills a multi-leg order whole if its net price is reachable and the
    /// fill can be represented; returns whether it filled.
    fn try_multi_leg(&mut self, id: OrderId) -> bool {
        let Ok(Some(fill)) = self.plan_multi_leg(id) else {
            return false;
        };
        let Some(i) = order_index(id) else {
            return false;
        };
        let account_id = fill.account.id.clone();
        let (Some(order), Some(account)) =
            (self.orders.get_mut(i), self.accounts.get_mut(&account_id))
        else {
            return false;
        };
        *account = fill.account;
        order.commit_fill(fill.order);
        self.reservations.remove(&id);
        for leg in fill.legs {
            self.log.push(
                self.now,
                EngineEvent::Fill {
                    order_id: id,
                    account_id: account_id.clone(),
                    instrument: leg.instrument,
                    side: leg.side,
                    quantity: leg.quantity,
                    price: leg.price,
                    fee: leg.fee,
                    status: fill.order.status,
                },
            );
        }
        true
    }

    /// A multi-leg order's fill at the legs' current quotes, computed without
    /// changing anything: None while a leg is unquoted or the net price is
    /// out of reach, an error when the fill cannot be represented.
    fn plan_multi_leg(&self, id: OrderId) -> Result<Option<SpreadFill>, FillError> {
        let Some(order) = self.order(id) else {
            return Ok(None);
        };
        let r = &order.request;
        let remaining = order.remaining_quantity();
        let mut legs = Vec::new();
        let mut net_credit = Decimal::ZERO;
        for leg in r.legs.iter().flatten() {
            let Some(q) = self.quote(&leg.instrument) else {
                return Ok(None);
            };
            let price = match leg.side {
                Side::Buy => q.ask,
                Side::Sell => q.bid,
            };
            let signed = checked::mul(checked::mul(leg.side.sign(), price)?, leg.ratio_quantity)?;
            net_credit = checked::sub(net_credit, signed)?;
            legs.push(LegFill {
                instrument: leg.instrument.clone(),
                side: leg.side,
                quantity: checked::mul(leg.ratio_quantity, remaining)?,
                price,
                fee: Decimal::ZERO,
            });
        }
        let net = match r.side {
            Side::Sell => net_credit,
            Side::Buy => checked::neg(net_credit),
        };
        let marketable = match (r.order_type, r.limit_price) {
            (OrderType::Limit, Some(limit)) => match r.side {
                Side::Sell => net >= limit,
                Side::Buy => net <= limit,
            },
            _ => true,
        };
        if !marketable {
            return Ok(None);
        }
        let Some(mut account) = self.accounts.get(&r.account_id).cloned() else {
            return Ok(None);
        };
        let fees = self.config.fees_for(&r.account_id);
        let contracts = checked::sum(legs.iter().map(|l| l.quantity))?;
        let commission = fees.commission_for(&r.instrument_for_commission(), contracts)?;
        let mut total_fee = Decimal::ZERO;
        for (i, leg) in legs.iter_mut().enumerate() {
            let regulatory = fees.regulatory(&leg.instrument, leg.side, leg.quantity, leg.price)?;
            leg.fee = checked::add(regulatory, if i == 0 { commission } else { Decimal::ZERO })?;
            total_fee = checked::add(total_fee, leg.fee)?;
            let signed_qty = checked::mul(leg.side.sign(), leg.quantity)?;
            account.apply_fill(&leg.instrument, signed_qty, leg.price, leg.fee)?;
        }
        let per_unit = self.reservations.get(&id).copied().unwrap_or_default();
        account.reserved = release(account.reserved, held_for(per_unit, remaining));
        let outcome = order.plan_fill(remaining, net.abs(), total_fee, self.now)?;
        Ok(Some(SpreadFill {
            legs,
            account,
            order: outcome,
        }))
    }

    /// Takes an order out of whichever book or spread list holds it.
    pub(super) fn remove_from_books(&mut self, id: OrderId) {
        let Some(iid) = self.home(id) else {
            return;
        };
        let idx = iid.0 as usize;
        let Some(order) = order_index(id).and_then(|i| self.orders.get(i)) else {
            return;
        };
        if order.request.is_multi_leg() {
            if let Some(waiting) = self.multi_leg.get_mut(idx) {
                waiting.retain(|o| *o != id);
            }
        } else if let Some(book) = self.books.get_mut(idx) {
            book.remove(order);
        }
    }
}

impl crate::order::OrderRequest {
    /// Multi-leg commissions are charged per option contract across the legs.
    fn instrument_for_commission(&self) -> Instrument {
        self.legs
            .as_ref()
            .and_then(|l| l.first())
            .map_or_else(|| self.instrument.clone(), |l| l.instrument.clone())
    }
}
