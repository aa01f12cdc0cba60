//! Orders: the lifecycle of single orders, from flat, long and short.

use std::sync::Arc;

use adapters::{
    BrokerAdapter, CancelStatus, ErrorKind, Instrument, Order, OrderStatus, OrderType,
    PositionEffect, Side, TimeInForce,
};
use rust_decimal::Decimal;

use super::{OPTION, SYMBOL};
use crate::case::{expect_kind, unexpected, Body, Case, Ctx, Failure, Group, Need, Outcome};
use crate::ensure;

pub static CASES: &[Case] = &[
    Case {
        id: "market_buy_from_flat_fills",
        group: Group::Orders,
        about: "a market buy from a flat account fills completely at a positive price",
        needs: &[],
        plan: "",
        run: Body::Check(|c| Box::pin(market_buy_from_flat_fills(c))),
    },
    Case {
        id: "limit_rests_then_cancels",
        group: Group::Orders,
        about: "a limit far from the market rests unfilled, then cancels",
        needs: &[Need::OrderType(OrderType::Limit)],
        plan: "",
        run: Body::Check(|c| Box::pin(limit_rests_then_cancels(c))),
    },
    Case {
        id: "double_cancel_is_idempotent",
        group: Group::Orders,
        about: "cancelling a canceled order again is not an error and changes nothing",
        needs: &[Need::OrderType(OrderType::Limit)],
        plan: "",
        run: Body::Check(|c| Box::pin(double_cancel_is_idempotent(c))),
    },
    Case {
        id: "unknown_order_is_not_found",
        group: Group::Orders,
        about: "reading or cancelling an order the broker does not know is not_found, and the credentials stay good",
        needs: &[Need::OrderType(OrderType::Limit)],
        plan: "",
        run: Body::Check(|c| Box::pin(unknown_order_is_not_found(c))),
    },
    Case {
        id: "cancel_after_fill_is_too_late",
        group: Group::Orders,
        about: "cancelling a filled order is too_late_to_cancel, never a success",
        needs: &[],
        plan: "",
        run: Body::Check(|c| Box::pin(cancel_after_fill_is_too_late(c))),
    },
    Case {
        id: "close_from_long",
        group: Group::Orders,
        about: "selling a whole long position leaves the account flat",
        needs: &[],
        plan: "",
        run: Body::Check(|c| Box::pin(close_from_long(c))),
    },
    Case {
        id: "short_from_flat",
        group: Group::Orders,
        about: "a sell from flat opens a short position",
        needs: &[Need::ShortSelling],
        plan: "",
        run: Body::Check(|c| Box::pin(short_from_flat(c))),
    },
    Case {
        id: "long_to_short_crosses_zero",
        group: Group::Orders,
        about: "selling more than the long position ends short by the difference",
        needs: &[Need::ShortSelling],
        plan: "",
        run: Body::Check(|c| Box::pin(long_to_short_crosses_zero(c))),
    },
    Case {
        id: "replace_changes_price_and_quantity",
        group: Group::Orders,
        about: "a replace changes a working order's price and quantity",
        needs: &[Need::Replace, Need::OrderType(OrderType::Limit)],
        plan: "",
        run: Body::Check(|c| Box::pin(replace_changes_price_and_quantity(c))),
    },
    Case {
        id: "ioc_and_fok_semantics",
        group: Group::Orders,
        about: "IOC fills what it can now and cancels the rest; FOK fills whole or not at all",
        needs: &[
            Need::TimeInForce(TimeInForce::Ioc),
            Need::TimeInForce(TimeInForce::Fok),
            Need::OrderType(OrderType::Limit),
        ],
        plan: "",
        run: Body::Check(|c| Box::pin(ioc_and_fok_semantics(c))),
    },
    Case {
        id: "stop_triggers",
        group: Group::Orders,
        about: "a buy stop rests below its trigger and fills once the price crosses it",
        needs: &[Need::OrderType(OrderType::Stop)],
        plan: "",
        run: Body::Check(|c| Box::pin(stop_triggers(c))),
    },
    Case {
        id: "option_open_then_close",
        group: Group::Orders,
        about: "buy to open one call, then sell to close it: flat again",
        needs: &[Need::Options],
        plan: "",
        run: Body::Check(|c| Box::pin(option_open_then_close(c))),
    },
    Case {
        id: "multi_leg_credit_spread",
        group: Group::Orders,
        about:
            "a vertical credit spread fills atomically at a net credit, held and reported as one",
        needs: &[Need::MultiLeg, Need::Options],
        plan: "",
        run: Body::Check(|c| Box::pin(multi_leg_credit_spread(c))),
    },
    Case {
        id: "rejects_are_typed",
        group: Group::Orders,
        about: "insufficient buying power and an unknown symbol are typed rejections",
        needs: &[],
        plan: "",
        run: Body::Check(|c| Box::pin(rejects_are_typed(c))),
    },
];

pub(crate) fn dec(n: i64) -> Decimal {
    Decimal::from(n)
}

/// Submits a market order and waits until it is filled.
pub(crate) async fn fill_market(
    c: &Ctx,
    purpose: &str,
    side: Side,
    qty: Decimal,
) -> Result<adapters::OrderResult, Failure> {
    let r = c
        .submit(&Order::market(&c.cid(purpose), SYMBOL, side, qty))
        .await?;
    let done = c
        .wait_status(&r.broker_order_id, OrderStatus::Filled)
        .await?;
    ensure!(
        done.filled_quantity == qty && done.remaining_quantity.is_zero(),
        "filled order {} shows filled {} remaining {}",
        done.broker_order_id,
        done.filled_quantity,
        done.remaining_quantity
    );
    ensure!(
        done.average_fill_price.is_some_and(|p| p > Decimal::ZERO),
        "filled order {} has average price {:?}",
        done.broker_order_id,
        done.average_fill_price
    );
    Ok(done)
}

/// The adapter's position in `instrument` (zero when it reports none).
pub(crate) async fn position(c: &Ctx, instrument: &Instrument) -> Result<Decimal, Failure> {
    let positions = c
        .adapter
        .get_positions()
        .await
        .map_err(|e| unexpected("get_positions", &e))?;
    Ok(positions
        .iter()
        .filter(|p| &p.instrument == instrument)
        .map(|p| p.quantity)
        .sum())
}

/// A limit buy far below the market: it rests.
pub(crate) fn resting_buy(c: &Ctx, purpose: &str) -> Order {
    Order::limit(&c.cid(purpose), SYMBOL, Side::Buy, dec(1), dec(1))
}

async fn market_buy_from_flat_fills(c: Arc<Ctx>) -> Outcome {
    ensure!(
        position(&c, &Instrument::equity(SYMBOL)).await?.is_zero(),
        "the account is not flat at the start"
    );
    let done = fill_market(&c, "buy", Side::Buy, dec(10)).await?;
    ensure!(
        done.status == OrderStatus::Filled,
        "status {:?}",
        done.status
    );
    ensure!(!done.broker_status.is_empty(), "no broker_status");
    let held = position(&c, &Instrument::equity(SYMBOL)).await?;
    ensure!(
        held == dec(10),
        "position after the buy is {held}, expected 10"
    );
    Ok(())
}

async fn limit_rests_then_cancels(c: Arc<Ctx>) -> Outcome {
    let r = c.submit(&resting_buy(&c, "rest")).await?;
    let id = r.broker_order_id.clone();
    let working = c
        .wait_for(&id, "working", |r| {
            matches!(r.status, OrderStatus::Accepted | OrderStatus::Pending)
        })
        .await?;
    ensure!(
        working.filled_quantity.is_zero(),
        "a limit at $1 filled {}",
        working.filled_quantity
    );
    let cancel = c
        .adapter
        .cancel_order(&id)
        .await
        .map_err(|e| unexpected("cancel_order", &e))?;
    ensure!(
        cancel.broker_order_id == id,
        "cancel answered for {}",
        cancel.broker_order_id
    );
    let done = c.wait_status(&id, OrderStatus::Canceled).await?;
    ensure!(
        done.filled_quantity.is_zero(),
        "canceled order filled {}",
        done.filled_quantity
    );
    Ok(())
}

async fn double_cancel_is_idempotent(c: Arc<Ctx>) -> Outcome {
    let r = c.submit(&resting_buy(&c, "rest")).await?;
    let id = r.broker_order_id.clone();
    c.adapter
        .cancel_order(&id)
        .await
        .map_err(|e| unexpected("first cancel_order", &e))?;
    c.wait_status(&id, OrderStatus::Canceled).await?;
    let again = c
        .adapter
        .cancel_order(&id)
        .await
        .map_err(|e| unexpected("second cancel_order", &e))?;
    ensure!(
        again.status == CancelStatus::Canceled,
        "second cancel answered {:?}",
        again.status
    );
    let after = c.wait_status(&id, OrderStatus::Canceled).await?;
    ensure!(
        after.filled_quantity.is_zero(),
        "filled {}",
        after.filled_quantity
    );
    Ok(())
}

/// An id of the broker's own shape that it never issued: a real one with
/// its last digit or letter changed (so a UUID stays a UUID, a number a
/// number).
fn unknown_like(id: &str) -> String {
    let mut chars: Vec<char> = id.chars().collect();
    if let Some(c) = chars.iter_mut().rev().find(|c| c.is_ascii_alphanumeric()) {
        *c = match *c {
            '9' => '8',
            'f' | 'F' | 'z' | 'Z' => char::from(u8::try_from(u32::from(*c) - 1).unwrap_or(b'0')),
            d => char::from(u8::try_from(u32::from(d) + 1).unwrap_or(b'0')),
        };
    }
    chars.into_iter().collect()
}

async fn unknown_order_is_not_found(c: Arc<Ctx>) -> Outcome {
    let real = c.submit(&resting_buy(&c, "known")).await?;
    let unknown = unknown_like(&real.broker_order_id);
    let ledger = c.venue.ledger().await?;
    ensure!(
        !ledger.orders.iter().any(|o| o.vendor_id == unknown),
        "{unknown} is a real order; the case needs one the broker never issued"
    );
    // Tradier answers an unknown id with a plain-text 401 "Unauthorized
    // Account": easy to misread as expired credentials.
    expect_kind(
        "get_order of an unknown id",
        &c.adapter.get_order(&unknown).await,
        ErrorKind::NotFound,
    )?;
    expect_kind(
        "cancel_order of an unknown id",
        &c.adapter.cancel_order(&unknown).await,
        ErrorKind::NotFound,
    )?;
    // Nothing about the credentials changed: the connection still works.
    c.adapter
        .get_account()
        .await
        .map_err(|e| unexpected("get_account after the unknown id", &e))?;
    let again = c
        .adapter
        .get_order(&real.broker_order_id)
        .await
        .map_err(|e| unexpected("get_order of the real order", &e))?;
    ensure!(
        again.broker_order_id == real.broker_order_id,
        "asked for {}, got {}",
        real.broker_order_id,
        again.broker_order_id
    );
    c.adapter
        .cancel_order(&real.broker_order_id)
        .await
        .map_err(|e| unexpected("cancel_order of the real order", &e))?;
    Ok(())
}

async fn cancel_after_fill_is_too_late(c: Arc<Ctx>) -> Outcome {
    let done = fill_market(&c, "buy", Side::Buy, dec(3)).await?;
    let r = c.adapter.cancel_order(&done.broker_order_id).await;
    expect_kind(
        "cancel_order of a filled order",
        &r,
        ErrorKind::TooLateToCancel,
    )?;
    let still = c
        .wait_status(&done.broker_order_id, OrderStatus::Filled)
        .await?;
    ensure!(
        still.filled_quantity == dec(3),
        "filled {}",
        still.filled_quantity
    );
    Ok(())
}

async fn close_from_long(c: Arc<Ctx>) -> Outcome {
    fill_market(&c, "open", Side::Buy, dec(7)).await?;
    fill_market(&c, "close", Side::Sell, dec(7)).await?;
    let held = position(&c, &Instrument::equity(SYMBOL)).await?;
    ensure!(held.is_zero(), "position after closing is {held}");
    Ok(())
}

async fn short_from_flat(c: Arc<Ctx>) -> Outcome {
    fill_market(&c, "short", Side::Sell, dec(5)).await?;
    let held = position(&c, &Instrument::equity(SYMBOL)).await?;
    ensure!(
        held == dec(-5),
        "position after a short sale of 5 is {held}"
    );
    Ok(())
}

async fn long_to_short_crosses_zero(c: Arc<Ctx>) -> Outcome {
    fill_market(&c, "long", Side::Buy, dec(5)).await?;
    let r = c
        .adapter
        .submit_order(&Order::market(&c.cid("cross"), SYMBOL, Side::Sell, dec(8)))
        .await;
    match r {
        Ok(r) => {
            c.wait_status(&r.broker_order_id, OrderStatus::Filled)
                .await?;
            let held = position(&c, &Instrument::equity(SYMBOL)).await?;
            ensure!(
                held == dec(-3),
                "position after selling 8 from long 5 is {held}"
            );
        }
        // Some brokers refuse an order that would flip a position; that is a
        // typed rejection and the position must be untouched.
        Err(e) if e.kind == ErrorKind::Rejected => {
            let held = position(&c, &Instrument::equity(SYMBOL)).await?;
            ensure!(
                held == dec(5),
                "a refused flip changed the position to {held}"
            );
        }
        Err(e) => return Err(unexpected("submit_order", &e)),
    }
    Ok(())
}

async fn replace_changes_price_and_quantity(c: Arc<Ctx>) -> Outcome {
    let r = c.submit(&resting_buy(&c, "original")).await?;
    // A replace is for a working order: one the broker has accepted.
    c.wait_status(&r.broker_order_id, OrderStatus::Accepted)
        .await?;
    let both = adapters::Replace {
        quantity: Some(dec(3)),
        limit_price: Some(dec(2)),
        ..adapters::Replace::default()
    };
    // Some brokers modify prices only (Tradier keeps the id and the
    // quantity); they must refuse the quantity before touching the order.
    let (replacement, quantity) = match c.adapter.replace_order(&r.broker_order_id, &both).await {
        Ok(replacement) => (replacement, dec(3)),
        Err(e) if e.kind == ErrorKind::Unsupported => {
            let untouched = c.venue.ledger().await?;
            let o = untouched
                .orders
                .iter()
                .find(|o| o.vendor_id == r.broker_order_id);
            ensure!(
                o.is_some_and(|o| o.quantity == dec(1) && o.limit_price == Some(dec(1))),
                "a refused replace changed the order: {o:?}"
            );
            let price_only = adapters::Replace {
                limit_price: Some(dec(2)),
                ..adapters::Replace::default()
            };
            let replacement = c
                .adapter
                .replace_order(&r.broker_order_id, &price_only)
                .await
                .map_err(|e| unexpected("replace_order (price only)", &e))?;
            (replacement, dec(1))
        }
        Err(e) => return Err(unexpected("replace_order", &e)),
    };
    let working = c
        .wait_for(&replacement.broker_order_id, "working", |r| {
            !r.status.is_terminal()
        })
        .await?;
    ensure!(
        working.remaining_quantity == quantity,
        "the replacement works {} units, expected {quantity}",
        working.remaining_quantity
    );
    if replacement.broker_order_id != r.broker_order_id {
        let old = c
            .wait_for(&r.broker_order_id, "terminal", |o| o.status.is_terminal())
            .await?;
        ensure!(
            matches!(old.status, OrderStatus::Replaced | OrderStatus::Canceled),
            "the replaced order ended {:?}",
            old.status
        );
    }
    let ledger = c.venue.ledger().await?;
    let held = ledger
        .orders
        .iter()
        .find(|o| o.vendor_id == replacement.broker_order_id)
        .map(|o| (o.quantity, o.limit_price));
    ensure!(
        held == Some((quantity, Some(dec(2)))),
        "the broker holds the replacement as (quantity, limit) {held:?}, expected ({quantity}, 2)"
    );
    Ok(())
}

async fn ioc_and_fok_semantics(c: Arc<Ctx>) -> Outcome {
    // An IOC limit far below the market cannot fill now: nothing fills and it ends.
    let mut ioc = resting_buy(&c, "ioc");
    ioc.time_in_force = TimeInForce::Ioc;
    let r = c.submit(&ioc).await?;
    let done = c
        .wait_for(&r.broker_order_id, "terminal", |r| r.status.is_terminal())
        .await?;
    ensure!(
        matches!(done.status, OrderStatus::Canceled | OrderStatus::Expired),
        "an unfillable IOC ended {:?}",
        done.status
    );
    ensure!(
        done.filled_quantity.is_zero(),
        "an unfillable IOC filled {}",
        done.filled_quantity
    );
    // A FOK far below the market: nothing fills, nothing rests.
    let mut fok = resting_buy(&c, "fok");
    fok.time_in_force = TimeInForce::Fok;
    let r = c.submit(&fok).await?;
    let done = c
        .wait_for(&r.broker_order_id, "terminal", |r| r.status.is_terminal())
        .await?;
    ensure!(
        done.filled_quantity.is_zero(),
        "an unfillable FOK filled {}",
        done.filled_quantity
    );
    // A marketable FOK fills whole.
    let mut fok = Order::limit(&c.cid("fok-fill"), SYMBOL, Side::Buy, dec(2), dec(100_000));
    fok.time_in_force = TimeInForce::Fok;
    let r = c.submit(&fok).await?;
    let done = c
        .wait_for(&r.broker_order_id, "terminal", |r| r.status.is_terminal())
        .await?;
    ensure!(
        done.status == OrderStatus::Filled && done.filled_quantity == dec(2),
        "a marketable FOK for 2 ended {:?} with {} filled",
        done.status,
        done.filled_quantity
    );
    Ok(())
}

async fn stop_triggers(c: Arc<Ctx>) -> Outcome {
    c.venue.set_price(SYMBOL, dec(100)).await?;
    let mut stop = Order::market(&c.cid("stop"), SYMBOL, Side::Buy, dec(2));
    stop.order_type = OrderType::Stop;
    stop.stop_price = Some(dec(110));
    stop.time_in_force = TimeInForce::Gtc;
    let r = c.submit(&stop).await?;
    c.pace.sleep(std::time::Duration::from_secs(2)).await;
    let resting = c
        .adapter
        .get_order(&r.broker_order_id)
        .await
        .map_err(|e| unexpected("get_order", &e))?;
    ensure!(
        resting.filled_quantity.is_zero(),
        "a buy stop at 110 filled {} with the market at 100",
        resting.filled_quantity
    );
    c.venue.set_price(SYMBOL, dec(120)).await?;
    let done = c
        .wait_status(&r.broker_order_id, OrderStatus::Filled)
        .await?;
    ensure!(
        done.average_fill_price.is_some_and(|p| p >= dec(110)),
        "the stop filled at {:?}, below its trigger",
        done.average_fill_price
    );
    Ok(())
}

fn option_order(
    c: &Ctx,
    purpose: &str,
    side: Side,
    effect: PositionEffect,
) -> Result<Order, Failure> {
    let occ = OPTION
        .parse()
        .map_err(|e| Failure::new(format!("bad OCC symbol in the case: {e:?}")))?;
    let mut o = Order::market(&c.cid(purpose), SYMBOL, side, dec(1));
    o.instrument = Instrument::option(occ);
    o.position_effect = Some(effect);
    Ok(o)
}

async fn option_open_then_close(c: Arc<Ctx>) -> Outcome {
    let open = option_order(&c, "open", Side::Buy, PositionEffect::Open)?;
    let instrument = open.instrument.clone();
    let r = c.submit(&open).await?;
    c.wait_status(&r.broker_order_id, OrderStatus::Filled)
        .await?;
    let held = position(&c, &instrument).await?;
    ensure!(
        held == dec(1),
        "after buying to open one call the position is {held}"
    );
    let close = option_order(&c, "close", Side::Sell, PositionEffect::Close)?;
    let r = c.submit(&close).await?;
    c.wait_status(&r.broker_order_id, OrderStatus::Filled)
        .await?;
    let held = position(&c, &instrument).await?;
    ensure!(
        held.is_zero(),
        "after selling to close the position is {held}"
    );
    Ok(())
}

async fn multi_leg_credit_spread(c: Arc<Ctx>) -> Outcome {
    let short_leg: mbt::OccSymbol = "AAPL  260116C00200000"
        .parse()
        .map_err(|e| Failure::new(format!("{e:?}")))?;
    let long_leg: mbt::OccSymbol = "AAPL  260116C00210000"
        .parse()
        .map_err(|e| Failure::new(format!("{e:?}")))?;
    let order = Order {
        client_order_id: c.cid("spread"),
        instrument: Instrument::equity(SYMBOL),
        side: Side::Sell,
        position_effect: Some(PositionEffect::Open),
        quantity: dec(1),
        order_type: OrderType::Limit,
        limit_price: Some(Decimal::new(1, 2)),
        stop_price: None,
        time_in_force: TimeInForce::Day,
        legs: Some(vec![
            adapters::Leg {
                instrument: Instrument::option(short_leg.clone()),
                side: Side::Sell,
                position_effect: Some(PositionEffect::Open),
                ratio_quantity: dec(1),
            },
            adapters::Leg {
                instrument: Instrument::option(long_leg),
                side: Side::Buy,
                position_effect: Some(PositionEffect::Open),
                ratio_quantity: dec(1),
            },
        ]),
        exits: None,
    };
    let r = c.submit(&order).await?;
    let done = c
        .wait_status(&r.broker_order_id, OrderStatus::Filled)
        .await?;
    let short = position(&c, &Instrument::option(short_leg)).await?;
    ensure!(short == dec(-1), "short leg position {short}, expected -1");
    // A credit is a sell of the spread at its positive net price: a vendor
    // that carries the direction beside an unsigned price (tastytrade's
    // price-effect) must not lose it, or the limit guards the wrong way.
    let ledger = c.venue.ledger().await?;
    let held = ledger
        .orders
        .iter()
        .find(|o| o.vendor_id == done.broker_order_id)
        .ok_or_else(|| {
            Failure::new("the broker has no order for the spread").near(&done.broker_order_id)
        })?;
    ensure!(
        held.side == Side::Sell && held.limit_price == order.limit_price,
        "the broker holds the credit spread as a {:?} at {:?}, not a sell at {:?}",
        held.side,
        held.limit_price,
        order.limit_price
    );
    let truth = held
        .average_fill_price
        .ok_or_else(|| Failure::new("the broker filled the spread without a price"))?;
    ensure!(
        done.average_fill_price
            .is_some_and(|p| p > Decimal::ZERO && (p - truth).abs() <= Decimal::new(1, 4)),
        "the spread's average is {:?}; it filled at a net credit of {truth}",
        done.average_fill_price
    );
    Ok(())
}

async fn rejects_are_typed(c: Arc<Ctx>) -> Outcome {
    // Beyond every simulated account's buying power (500,000 × ~$190 is
    // about $95M; the deepest, the paper account, has $20M) and under every
    // per-order quantity cap (1,000,000), so the refusal is the
    // buying-power one (Tradier's comes in an HTTP 200 body).
    let huge = Order::market(&c.cid("too-big"), SYMBOL, Side::Buy, dec(500_000));
    let r = c.adapter.submit_order(&huge).await;
    let why = rejected(&c, "an order far beyond buying power", r).await?;
    ensure!(
        why.to_lowercase().contains("buying power"),
        "an order far beyond buying power was refused for another reason: {why}"
    );
    let unknown = Order::market(&c.cid("unknown"), "ZZZZQ", Side::Buy, dec(1));
    let r = c.adapter.submit_order(&unknown).await;
    rejected(&c, "an order for an unknown symbol", r).await?;
    Ok(())
}

/// A refusal is a `rejected` error, or a result whose status is rejected
/// (brokers that accept first and reject after) with a reason; answers the
/// broker's words for it.
async fn rejected(
    c: &Ctx,
    what: &str,
    r: Result<adapters::OrderResult, adapters::AdapterError>,
) -> Result<String, Failure> {
    match r {
        Err(e) if e.kind == ErrorKind::Rejected => Ok(e.message),
        Err(e) => Err(Failure::new(format!(
            "{what}: expected rejected, got {}: {}",
            e.kind, e.message
        ))),
        Ok(r) => {
            let done = c
                .wait_for(&r.broker_order_id, "terminal", |r| r.status.is_terminal())
                .await?;
            ensure!(
                done.status == OrderStatus::Rejected,
                "{what}: ended {:?}, expected rejected",
                done.status
            );
            done.reject_reason
                .ok_or_else(|| Failure::new(format!("{what}: rejected without a reason")))
        }
    }
}
