//! Matching: which working orders a market event fills, how much, and at what price.

use rust_decimal::Decimal;

use super::Engine;
use crate::instrument::Instrument;
use crate::log::EngineEvent;
use crate::market::{InstrumentId, MarketData, MarketEvent};
use crate::order::{OrderId, OrderStatus, OrderType, Side, TimeInForce};

impl Engine {
    fn order_ref(&self, id: OrderId) -> &crate::order::Order {
        &self.orders[id.0 as usize - 1]
    }

    /// Where an order's working state lives: its own instrument, or its
    /// underlying for a multi-leg order.
    fn home(&mut self, id: OrderId) -> InstrumentId {
        let r = &self.order_ref(id).request;
        let instrument = if r.is_multi_leg() {
            Instrument::equity(r.instrument.underlying())
        } else {
            r.instrument.clone()
        };
        self.instrument_id(&instrument)
    }

    /// Puts a newly accepted order to work: fills what the market allows
    /// now and rests the rest. IOC and FOK orders never rest.
    pub(super) fn work(&mut self, id: OrderId) {
        let iid = self.home(id);
        let (multi_leg, tif) = {
            let o = self.order_ref(id);
            (o.request.is_multi_leg(), o.request.time_in_force)
        };
        if multi_leg {
            if !(self.is_open() && self.try_multi_leg(id)) {
                self.multi_leg[iid.0 as usize].push(id);
            }
        } else {
            if self.order_ref(id).request.instrument.is_option() {
                self.watch_option(iid);
            }
            if tif == TimeInForce::Fok
                && self.fillable_now(id) < self.order_ref(id).remaining_quantity()
            {
                let _ = self.finish(id, OrderStatus::Canceled);
                return;
            }
            let order = &self.orders[id.0 as usize - 1];
            self.books[iid.0 as usize].insert(order);
            self.match_instrument(iid);
        }
        if matches!(tif, TimeInForce::Ioc | TimeInForce::Fok)
            && self.order_ref(id).status.is_working()
        {
            let _ = self.finish(id, OrderStatus::Canceled);
        }
    }

    /// Units of an order the current market would fill right now.
    fn fillable_now(&self, id: OrderId) -> Decimal {
        let o = self.order_ref(id);
        let Some(iid) = self.market.id(&o.request.instrument) else {
            return Decimal::ZERO;
        };
        let Some(touch) = self.market.state(iid).touch else {
            return Decimal::ZERO;
        };
        if !self.is_open() || matches!(o.request.order_type, OrderType::Stop | OrderType::StopLimit)
        {
            return Decimal::ZERO;
        }
        let px = super::book::working_price(o);
        let book = &self.books[iid.0 as usize];
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
        let deps = &mut self.option_dependents[uid.0 as usize];
        if !deps.contains(&iid) {
            deps.push(iid);
        }
        let version = self.market.state(uid).version;
        if self.books[iid.0 as usize].priced_from != Some(version) {
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
            self.books[iid.0 as usize].priced_from = Some(underlying_version);
            self.refresh_liquidity(iid);
        }
    }

    fn refresh_liquidity(&mut self, iid: InstrumentId) {
        if let Some(q) = self.market.state(iid).quote {
            let book = &mut self.books[iid.0 as usize];
            book.buy_liquidity = self.config.fill.available(q.ask_size);
            book.sell_liquidity = self.config.fill.available(q.bid_size);
        }
    }

    /// After an instrument's market state changed: fill what it makes
    /// marketable, then re-price and match the options and spreads written on it.
    pub(super) fn after_market_update(&mut self, iid: InstrumentId) {
        self.refresh_liquidity(iid);
        self.match_instrument(iid);
        let idx = iid.0 as usize;
        if !self.option_dependents[idx].is_empty() {
            let version = self.market.state(iid).version;
            let mut deps = std::mem::take(&mut self.option_dependents[idx]);
            for &opt in &deps {
                self.reprice_option(opt, version);
                self.match_instrument(opt);
            }
            deps.retain(|opt| !self.books[opt.0 as usize].is_empty());
            // Orders placed while matching may have registered new dependents.
            deps.append(&mut self.option_dependents[idx]);
            self.option_dependents[idx] = deps;
        }
        if !self.multi_leg[idx].is_empty() && self.is_open() {
            let pending = std::mem::take(&mut self.multi_leg[idx]);
            let mut still = Vec::with_capacity(pending.len());
            for id in pending {
                if self.order_ref(id).status.is_working() && !self.try_multi_leg(id) {
                    still.push(id);
                }
            }
            still.append(&mut self.multi_leg[idx]);
            self.multi_leg[idx] = still;
        }
    }

    /// Triggers stops and fills marketable orders of one instrument against its latest event.
    fn match_instrument(&mut self, iid: InstrumentId) {
        if !self.is_open() {
            return;
        }
        let state = self.market.state(iid);
        let (Some(touch), Some(quote)) = (state.touch, state.quote) else {
            return;
        };
        let idx = iid.0 as usize;
        loop {
            let book = &self.books[idx];
            let (id, price) = if let Some(id) = book.triggered_buy_stop(touch.high) {
                (id, touch.high)
            } else if let Some(id) = book.triggered_sell_stop(touch.low) {
                (id, touch.low)
            } else {
                break;
            };
            let order = &self.orders[id.0 as usize - 1];
            self.books[idx].remove(order);
            self.orders[id.0 as usize - 1].triggered = true;
            self.books[idx].insert(&self.orders[id.0 as usize - 1]);
            self.log.push(
                self.now,
                EngineEvent::StopTriggered {
                    order_id: id,
                    price,
                },
            );
        }
        // Each order fills at most once per event (so per-order caps slice
        // fills across events), walking each side of the book from the best
        // price with a cursor: filled orders leave the book under it.
        for (side, reach, quoted) in [
            (Side::Buy, touch.buy, quote.ask),
            (Side::Sell, touch.sell, quote.bid),
        ] {
            let mut after = None;
            while let Some(key) = self.books[idx].next_marketable(side, reach, after) {
                after = Some(key);
                let id = key.1;
                let qty = self
                    .fill_limit(id)
                    .min(*self.books[idx].liquidity_mut(side));
                if qty <= Decimal::ZERO {
                    break;
                }
                let limit = self
                    .order_ref(id)
                    .request
                    .limit_price
                    .filter(|_| self.is_limit(id));
                let price = self
                    .config
                    .fill
                    .execution_price(&mut self.rng, side, quoted, limit);
                *self.books[idx].liquidity_mut(side) -= qty;
                self.fill_single(id, iid, qty, price);
            }
        }
    }

    /// What an order may take from one event: its remainder, within its own cap if it has one.
    fn fill_limit(&self, id: OrderId) -> Decimal {
        let remaining = self.order_ref(id).remaining_quantity();
        self.fill_caps
            .get(&id)
            .map_or(remaining, |cap| remaining.min(*cap))
    }

    fn is_limit(&self, id: OrderId) -> bool {
        matches!(
            self.order_ref(id).request.order_type,
            OrderType::Limit | OrderType::StopLimit
        )
    }

    /// Books one fill of a single-instrument order.
    fn fill_single(&mut self, id: OrderId, iid: InstrumentId, qty: Decimal, price: Decimal) {
        let now = self.now;
        let (instrument, side, account_id, filled_before) = {
            let o = self.order_ref(id);
            (
                o.request.instrument.clone(),
                o.request.side,
                o.request.account_id.clone(),
                o.filled_quantity,
            )
        };
        let fee = self
            .config
            .fees
            .fee_for_fill(&instrument, side, filled_before, qty, price);
        let per_unit = self.reservations.get(&id).copied().unwrap_or_default();
        if let Some(a) = self.accounts.get_mut(&account_id) {
            a.apply_fill(&instrument, side.sign() * qty, price, fee);
            a.reserved -= per_unit * qty;
        }
        let order = &mut self.orders[id.0 as usize - 1];
        // A marketable working order can always take a fill.
        let _ = order.record_fill(qty, price, fee, now);
        let status = order.status;
        if status == OrderStatus::Filled {
            self.books[iid.0 as usize].remove(&self.orders[id.0 as usize - 1]);
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
                status,
            },
        );
    }

    /// Fills a multi-leg order whole if its net price is reachable; returns whether it filled.
    fn try_multi_leg(&mut self, id: OrderId) -> bool {
        let order = self.order_ref(id).clone();
        let r = &order.request;
        let mut fills = Vec::new();
        let mut net_credit = Decimal::ZERO;
        for leg in r.legs.iter().flatten() {
            let Some(q) = self.quote(&leg.instrument) else {
                return false;
            };
            let price = match leg.side {
                Side::Buy => q.ask,
                Side::Sell => q.bid,
            };
            net_credit -= leg.side.sign() * price * leg.ratio_quantity;
            fills.push((
                leg.instrument.clone(),
                leg.side,
                leg.ratio_quantity * order.remaining_quantity(),
                price,
            ));
        }
        let net = match r.side {
            Side::Sell => net_credit,
            Side::Buy => -net_credit,
        };
        let marketable = match (r.order_type, r.limit_price) {
            (OrderType::Limit, Some(limit)) => match r.side {
                Side::Sell => net >= limit,
                Side::Buy => net <= limit,
            },
            _ => true,
        };
        if !marketable {
            return false;
        }
        let fees = &self.config.fees;
        let contracts: Decimal = fills.iter().map(|f| f.2).sum();
        let commission = fees.commission_for(&r.instrument_for_commission(), contracts);
        let now = self.now;
        let per_unit = self.reservations.remove(&id).unwrap_or_default();
        let remaining = order.remaining_quantity();
        let mut total_fee = Decimal::ZERO;
        let mut events = Vec::with_capacity(fills.len());
        for (i, (instrument, side, qty, price)) in fills.into_iter().enumerate() {
            let fee = fees.regulatory(&instrument, side, qty, price)
                + if i == 0 { commission } else { Decimal::ZERO };
            total_fee += fee;
            if let Some(a) = self.accounts.get_mut(&r.account_id) {
                a.apply_fill(&instrument, side.sign() * qty, price, fee);
            }
            events.push((instrument, side, qty, price, fee));
        }
        if let Some(a) = self.accounts.get_mut(&r.account_id) {
            a.reserved -= per_unit * remaining;
        }
        let o = &mut self.orders[id.0 as usize - 1];
        let _ = o.record_fill(remaining, net.abs(), total_fee, now);
        let status = o.status;
        for (instrument, side, quantity, price, fee) in events {
            self.log.push(
                now,
                EngineEvent::Fill {
                    order_id: id,
                    account_id: r.account_id.clone(),
                    instrument,
                    side,
                    quantity,
                    price,
                    fee,
                    status,
                },
            );
        }
        true
    }

    /// Takes an order out of whichever book or spread list holds it.
    pub(super) fn remove_from_books(&mut self, id: OrderId) {
        let iid = self.home(id);
        if self.order_ref(id).request.is_multi_leg() {
            self.multi_leg[iid.0 as usize].retain(|o| *o != id);
        } else {
            let order = &self.orders[id.0 as usize - 1];
            self.books[iid.0 as usize].remove(order);
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
