//! Brackets: an entry placed with its exits. For a discipline app the
//! exits are the product, so the case reads them at the broker itself: an
//! adapter that drops them passes every order case and leaves the trader
//! unprotected.

use std::sync::Arc;
use std::time::Duration;

use adapters::{Exits, Instrument, Order, OrderStatus, Side, StopLoss, TimeInForce};
use broker_models::brokerage::LedgerOrder;

use super::orders::{dec, position};
use super::SYMBOL;
use crate::case::{Body, Case, Ctx, Failure, Group, Need, Outcome, PATIENCE};
use crate::ensure;

pub static CASES: &[Case] = &[Case {
    id: "bracket_exits_work_after_the_entry_fills",
    group: Group::Orders,
    about: "a bracket's exits are at the broker once its entry fills, sized to the fill, and the first to fill cancels the other",
    needs: &[Need::Brackets, Need::BrokerModel],
    plan: "",
    run: Body::Check(|c| Box::pin(bracket_exits_work_after_the_entry_fills(c))),
}];

/// The broker's orders that are exits of `entry`, once `done` holds for
/// them (polled for up to [`PATIENCE`] of simulated time).
async fn exits_of(
    c: &Ctx,
    entry: &str,
    what: &str,
    done: impl Fn(&[LedgerOrder]) -> bool,
) -> Result<Vec<LedgerOrder>, Failure> {
    let deadline = c.pace.deadline(PATIENCE);
    loop {
        let exits: Vec<LedgerOrder> = c
            .venue
            .ledger()
            .await?
            .orders
            .into_iter()
            .filter(|o| o.parent.as_deref() == Some(entry))
            .collect();
        if done(&exits) {
            return Ok(exits);
        }
        if tokio::time::Instant::now() >= deadline {
            let seen: Vec<String> = exits
                .iter()
                .map(|o| format!("{:?} {} {:?}", o.side, o.quantity, o.status))
                .collect();
            return Err(Failure::new(format!(
                "the exits of {entry} never {what} within {PATIENCE:?}; the broker holds {seen:?}"
            ))
            .near(entry));
        }
        c.pace.sleep(Duration::from_millis(250)).await;
    }
}

fn limit_at(o: &LedgerOrder, price: i64) -> bool {
    o.limit_price == Some(dec(price)) && o.stop_price.is_none()
}

fn stop_at(o: &LedgerOrder, price: i64) -> bool {
    o.stop_price == Some(dec(price))
}

async fn bracket_exits_work_after_the_entry_fills(c: Arc<Ctx>) -> Outcome {
    c.venue.set_price(SYMBOL, dec(100)).await?;
    let mut entry = Order::market(&c.cid("entry"), SYMBOL, Side::Buy, dec(3));
    entry.time_in_force = TimeInForce::Gtc;
    entry.exits = Some(Exits {
        take_profit: Some(dec(130)),
        stop_loss: Some(StopLoss {
            stop_price: dec(70),
            limit_price: None,
        }),
    });
    let r = c.submit(&entry).await?;
    let id = r.broker_order_id.clone();
    let filled = c.wait_status(&id, OrderStatus::Filled).await?;
    let live = exits_of(&c, &id, "went live", |exits| {
        exits.len() == 2 && exits.iter().all(|o| !o.status.is_terminal())
    })
    .await?;
    for exit in &live {
        ensure!(
            exit.side == Side::Sell && exit.quantity == filled.filled_quantity,
            "an exit of a buy of {} is {:?} {}",
            filled.filled_quantity,
            exit.side,
            exit.quantity
        );
    }
    ensure!(
        live.iter().any(|o| limit_at(o, 130)) && live.iter().any(|o| stop_at(o, 70)),
        "the exits are not a take-profit at 130 and a stop at 70: {:?}",
        live.iter()
            .map(|o| (o.limit_price, o.stop_price))
            .collect::<Vec<_>>()
    );
    // The market reaches the take-profit: it fills, the stop is canceled.
    c.venue.set_price(SYMBOL, dec(131)).await?;
    let ended = exits_of(&c, &id, "ended", |exits| {
        exits.iter().all(|o| o.status.is_terminal())
    })
    .await?;
    let took = ended
        .iter()
        .any(|o| limit_at(o, 130) && o.status == OrderStatus::Filled);
    let stopped = ended
        .iter()
        .any(|o| stop_at(o, 70) && o.status == OrderStatus::Canceled);
    ensure!(
        took && stopped,
        "the take-profit did not fill and cancel the stop: {:?}",
        ended.iter().map(|o| o.status).collect::<Vec<_>>()
    );
    let held = position(&c, &Instrument::equity(SYMBOL)).await?;
    ensure!(
        held.is_zero(),
        "after the take-profit the position is {held}"
    );
    // The stop's type as the broker holds it: a stop, not a stop-limit.
    ensure!(
        ended
            .iter()
            .filter(|o| stop_at(o, 70))
            .all(|o| o.limit_price.is_none()),
        "the stop-loss carries a limit it was not given"
    );
    Ok(())
}
