//! Lifecycle: an order's life as the vendors run it. A submit answers the
//! broker's first state and the fill comes later; a broker can reject an
//! order after it took it; closing a position closes exactly it.

use std::sync::Arc;

use adapters::{BrokerAdapter, ErrorKind, Order, OrderStatus, Side};

use super::orders::{dec, fill_market};
use super::SYMBOL;
use crate::case::{unexpected, Body, Case, Ctx, Failure, Group, Need, Outcome};
use crate::ensure;

pub static CASES: &[Case] = &[
    Case {
        id: "acceptance_is_not_a_fill",
        group: Group::Lifecycle,
        about:
            "a submit reports the broker's first state; the fill is reported only once it happened",
        needs: &[Need::BrokerModel],
        plan: "",
        run: Body::Check(|c| Box::pin(acceptance_is_not_a_fill(c))),
    },
    Case {
        id: "rejection_after_acceptance_is_surfaced",
        group: Group::Lifecycle,
        about: "an order the broker took and then rejected ends rejected, with the reason",
        needs: &[Need::BrokerModel],
        plan: r#"
[[rules]]
fault = { kind = "reject_after_accept", reason = "account restricted by the broker's later checks" }
"#,
        run: Body::Check(|c| Box::pin(rejection_after_acceptance_is_surfaced(c))),
    },
    Case {
        id: "close_position_closes_exactly_it",
        group: Group::Lifecycle,
        about: "a sell of the whole long position leaves it flat and touches no other position",
        needs: &[],
        plan: "",
        run: Body::Check(|c| Box::pin(close_position_closes_exactly_it(c))),
    },
];

/// The broker's own filled quantity for `id` now.
async fn broker_filled(c: &Ctx, id: &str) -> Result<rust_decimal::Decimal, Failure> {
    let ledger = c.venue.ledger().await?;
    ledger
        .orders
        .iter()
        .find(|o| o.vendor_id == id)
        .map(|o| o.filled_quantity)
        .ok_or_else(|| Failure::new(format!("the broker has no order {id}")).near(id))
}

async fn acceptance_is_not_a_fill(c: Arc<Ctx>) -> Outcome {
    let order = Order::market(&c.cid("first-state"), SYMBOL, Side::Buy, dec(2));
    let r = c.submit(&order).await?;
    // The broker's ledger is read after the answer: a fill can only have
    // grown since, so an answer ahead of it was invented.
    let truth = broker_filled(&c, &r.broker_order_id).await?;
    ensure!(
        r.filled_quantity <= truth,
        "submit_order reported {} filled ({:?}) while the broker had filled {truth}",
        r.filled_quantity,
        r.status
    );
    ensure!(
        r.status != OrderStatus::Filled || truth == order.quantity,
        "submit_order reported the order filled while the broker had filled {truth}"
    );
    let done = c
        .wait_status(&r.broker_order_id, OrderStatus::Filled)
        .await?;
    ensure!(
        done.filled_quantity == order.quantity,
        "the fill reported {} of {}",
        done.filled_quantity,
        order.quantity
    );
    Ok(())
}

async fn rejection_after_acceptance_is_surfaced(c: Arc<Ctx>) -> Outcome {
    let order = Order::market(&c.cid("rejected-later"), SYMBOL, Side::Buy, dec(1));
    let r = match c.adapter.submit_order(&order).await {
        Ok(r) => r,
        // A broker that answers after its later checks may refuse at once.
        Err(e) if e.kind == ErrorKind::Rejected => return Ok(()),
        Err(e) => return Err(unexpected("submit_order", &e)),
    };
    let done = c
        .wait_status(&r.broker_order_id, OrderStatus::Rejected)
        .await?;
    ensure!(
        done.filled_quantity.is_zero(),
        "a rejected order reports {} filled",
        done.filled_quantity
    );
    ensure!(
        done.reject_reason
            .as_deref()
            .is_some_and(|why| !why.is_empty()),
        "the rejection carries no reason"
    );
    Ok(())
}

async fn close_position_closes_exactly_it(c: Arc<Ctx>) -> Outcome {
    const OTHER: &str = "MSFT";
    fill_market(&c, "long", Side::Buy, dec(4)).await?;
    let other = c
        .submit(&Order::market(&c.cid("other"), OTHER, Side::Buy, dec(2)))
        .await?;
    c.wait_status(&other.broker_order_id, OrderStatus::Filled)
        .await?;
    fill_market(&c, "close", Side::Sell, dec(4)).await?;
    let positions = c
        .adapter
        .get_positions()
        .await
        .map_err(|e| unexpected("get_positions", &e))?;
    let held = |symbol: &str| {
        positions
            .iter()
            .filter(|p| p.instrument == adapters::Instrument::equity(symbol))
            .map(|p| p.quantity)
            .sum::<rust_decimal::Decimal>()
    };
    ensure!(
        held(SYMBOL).is_zero(),
        "{SYMBOL} is {} after closing it",
        held(SYMBOL)
    );
    ensure!(
        held(OTHER) == dec(2),
        "closing {SYMBOL} left {OTHER} at {}",
        held(OTHER)
    );
    Ok(())
}
