//! Fills: partial fills accumulate, survive a cancel, and average by quantity.

use std::sync::Arc;

use adapters::{BrokerAdapter, Order, OrderResult, OrderStatus, Side};
use broker_models::faults::Fault;
use rust_decimal::Decimal;

use super::orders::dec;
use super::SYMBOL;
use crate::case::{unexpected, Body, Case, Ctx, Failure, Group, Outcome};
use crate::ensure;

pub static CASES: &[Case] = &[
    Case {
        id: "partial_fills_accumulate",
        group: Group::Fills,
        about: "an order filled in slices reports partially_filled with a growing cumulative quantity, then filled",
        needs: &[],
        plan: "",
        run: Body::Check(|c| Box::pin(partial_fills_accumulate(c))),
    },
    Case {
        id: "partial_fill_then_cancel_keeps_filled_quantity",
        group: Group::Fills,
        about: "cancelling a partially filled order keeps what filled",
        needs: &[],
        plan: "",
        run: Body::Check(|c| Box::pin(partial_fill_then_cancel_keeps_filled_quantity(c))),
    },
    Case {
        id: "average_price_is_quantity_weighted",
        group: Group::Fills,
        about: "the average fill price is the quantity-weighted mean of the fills",
        needs: &[],
        plan: "",
        run: Body::Check(|c| Box::pin(average_price_is_quantity_weighted(c))),
    },
    Case {
        id: "status_mapping_is_total",
        group: Group::Fills,
        about: "every order the broker holds reads back with a normalized status and the vendor's word",
        needs: &[],
        plan: "",
        run: Body::Check(|c| Box::pin(status_mapping_is_total(c))),
    },
];

/// A market buy that fills in slices: a simulated broker is told to slice
/// the next order it receives (through its control surface, not a client
/// order id: some vendors have none); the paper engine slices an order
/// larger than the displayed size on its own.
pub(crate) async fn sliced_buy(c: &Ctx, purpose: &str) -> Result<Order, Failure> {
    if !c.venue.is_model() {
        return Ok(Order::market(
            &c.cid(purpose),
            SYMBOL,
            Side::Buy,
            dec(2_500),
        ));
    }
    let slices = Fault::PartialFill { units_per_event: 1 };
    c.venue.steer_next(&slices).await?;
    Ok(Order::market(&c.cid(purpose), SYMBOL, Side::Buy, dec(6)))
}

/// Polls an order until it is terminal, keeping every distinct state seen.
async fn follow(c: &Ctx, id: &str) -> Result<Vec<OrderResult>, Failure> {
    let mut seen: Vec<OrderResult> = Vec::new();
    let deadline = c.pace.deadline(crate::case::PATIENCE);
    loop {
        let r = match c.adapter.get_order(id).await {
            Ok(r) => r,
            Err(e) if e.kind.is_transient() => continue,
            Err(e) => return Err(unexpected("get_order", &e).near(id)),
        };
        let terminal = r.status.is_terminal();
        if seen.last() != Some(&r) {
            seen.push(r);
        }
        if terminal {
            return Ok(seen);
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "order {id} never ended"
        );
        c.pace.sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn partial_fills_accumulate(c: Arc<Ctx>) -> Outcome {
    let order = sliced_buy(&c, "sliced").await?;
    let r = c.submit(&order).await?;
    let seen = follow(&c, &r.broker_order_id).await?;
    let last = seen.last().ok_or_else(|| Failure::new("no state seen"))?;
    ensure!(
        last.status == OrderStatus::Filled && last.filled_quantity == order.quantity,
        "the sliced order ended {:?} with {} of {} filled",
        last.status,
        last.filled_quantity,
        order.quantity
    );
    ensure!(
        seen.iter()
            .any(|s| s.status == OrderStatus::PartiallyFilled),
        "never reported partially_filled; states seen: {:?}",
        seen.iter()
            .map(|s| (s.status, s.filled_quantity))
            .collect::<Vec<_>>()
    );
    for pair in seen.windows(2) {
        ensure!(
            pair[1].filled_quantity >= pair[0].filled_quantity,
            "cumulative filled quantity went down: {} then {}",
            pair[0].filled_quantity,
            pair[1].filled_quantity
        );
    }
    for s in &seen {
        ensure!(
            s.filled_quantity + s.remaining_quantity == order.quantity || s.status.is_terminal(),
            "filled {} + remaining {} is not the order's {}",
            s.filled_quantity,
            s.remaining_quantity,
            order.quantity
        );
        if s.status == OrderStatus::PartiallyFilled {
            ensure!(
                s.average_fill_price.is_some(),
                "a partial fill without an average price"
            );
        }
    }
    Ok(())
}

async fn partial_fill_then_cancel_keeps_filled_quantity(c: Arc<Ctx>) -> Outcome {
    let mut order = sliced_buy(&c, "cancel-mid").await?;
    // Bigger than the slices can finish before the cancel lands.
    order.quantity *= dec(20);
    let r = c.submit(&order).await?;
    let id = r.broker_order_id.clone();
    let partial = c
        .wait_for(&id, "partially filled", |r| {
            r.filled_quantity > Decimal::ZERO || r.status.is_terminal()
        })
        .await?;
    ensure!(
        partial.status == OrderStatus::PartiallyFilled,
        "expected a partial fill first, got {:?} with {} filled",
        partial.status,
        partial.filled_quantity
    );
    c.adapter
        .cancel_order(&id)
        .await
        .map_err(|e| unexpected("cancel_order", &e))?;
    let done = c
        .wait_for(&id, "terminal", |r| r.status.is_terminal())
        .await?;
    ensure!(
        done.status == OrderStatus::Canceled,
        "ended {:?}",
        done.status
    );
    ensure!(
        done.filled_quantity >= partial.filled_quantity && done.filled_quantity < order.quantity,
        "after the cancel filled is {} (was {} before, of {})",
        done.filled_quantity,
        partial.filled_quantity,
        order.quantity
    );
    ensure!(
        done.average_fill_price.is_some(),
        "a canceled partial fill lost its average price"
    );
    Ok(())
}

async fn average_price_is_quantity_weighted(c: Arc<Ctx>) -> Outcome {
    let order = sliced_buy(&c, "avg").await?;
    let r = c.submit(&order).await?;
    let done = c
        .wait_status(&r.broker_order_id, OrderStatus::Filled)
        .await?;
    let fills: Vec<_> = c
        .venue
        .fills()
        .await?
        .into_iter()
        .filter(|f| f.order == done.broker_order_id)
        .collect();
    ensure!(
        fills.len() > 1,
        "expected several fills, the venue shows {}",
        fills.len()
    );
    let qty: Decimal = fills.iter().map(|f| f.quantity).sum();
    let notional: Decimal = fills.iter().map(|f| f.quantity * f.price).sum();
    let weighted = notional / qty;
    let avg = done
        .average_fill_price
        .ok_or_else(|| Failure::new("filled without an average price"))?;
    // Vendors send averages with limited decimals; a hundredth of a cent is
    // finer than any of them rounds.
    ensure!(
        (avg - weighted).abs() <= Decimal::new(1, 4),
        "average {avg}, quantity-weighted mean of the fills {weighted}"
    );
    Ok(())
}

async fn status_mapping_is_total(c: Arc<Ctx>) -> Outcome {
    // Orders in as many states as the venue can produce: filled, canceled,
    // working, and a refusal where the venue keeps refused orders.
    super::orders::fill_market(&c, "filled", Side::Buy, dec(1)).await?;
    let rest = c
        .submit(&super::orders::resting_buy(&c, "canceled"))
        .await?;
    c.adapter
        .cancel_order(&rest.broker_order_id)
        .await
        .map_err(|e| unexpected("cancel_order", &e))?;
    c.submit(&super::orders::resting_buy(&c, "working")).await?;
    let ledger = c.venue.ledger().await?;
    let account = c.adapter.account_id().to_string();
    for o in ledger
        .orders
        .iter()
        .filter(|o| o.account == account && o.taken)
    {
        let r = c
            .adapter
            .get_order(&o.vendor_id)
            .await
            .map_err(|e| unexpected(&format!("get_order {}", o.vendor_id), &e))?;
        // Reading back at all is the check: a vendor word the adapter
        // cannot map is an `unknown` error, never a guess.
        ensure!(
            !r.broker_status.is_empty(),
            "order {} has no broker_status",
            o.vendor_id
        );
    }
    Ok(())
}
