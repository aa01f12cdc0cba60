//! Tiers: read-only sources never trade; paper never touches a broker.

use std::sync::Arc;

use adapters::{ReadOnlySource, Side};

use super::orders::{dec, fill_market};
use super::readonly::HOUR;
use crate::case::{Body, Case, Ctx, Failure, Group, Need, Outcome, ReadCtx};

pub static CASES: &[Case] = &[
    Case {
        id: "read_only_never_places_orders",
        group: Group::Tiers,
        about: "a read-only (Tier C) connection never places an order",
        needs: &[Need::ReadOnly],
        plan: "",
        run: Body::ReadOnly(|c| Box::pin(read_only_never_places_orders(c))),
    },
    Case {
        id: "paper_never_touches_the_broker",
        group: Group::Tiers,
        about: "paper trading fills in MBT and sends nothing to any broker",
        needs: &[Need::Paper],
        plan: "",
        run: Body::Check(|c| Box::pin(paper_never_touches_the_broker(c))),
    },
];

/// Everything a read-only source does, as the institution changes; then
/// the model's own record: no order, and no request shaped like one. (The
/// source cannot be asked to trade: `ReadOnlySource` has no such method.
/// What this checks is that nothing it does on its own reaches for one.)
async fn read_only_never_places_orders(c: Arc<ReadCtx>) -> Outcome {
    for hour in 0..2 {
        if hour > 0 {
            c.venue.advance(HOUR).await?;
        }
        // Failures are not this case's business; only what reached the broker is.
        let _ = c.source.get_holdings().await;
        let _ = c.source.get_account().await;
        let _ = c.source.get_transactions("2024-01-05", "2026-01-05").await;
    }
    let ledger = c.venue.ledger().await?;
    crate::ensure!(
        ledger.orders.is_empty(),
        "{} orders reached read-only {}",
        ledger.orders.len(),
        c.source.describe().name
    );
    if let Some(first) = ledger.order_attempts.first() {
        return Err(Failure::new(format!(
            "{} request(s) tried to trade at read-only {}, the first {} {} ({})",
            ledger.order_attempts.len(),
            c.source.describe().name,
            first.method,
            first.path,
            first.operation
        ))
        .near(first.path.clone()));
    }
    Ok(())
}

async fn paper_never_touches_the_broker(c: Arc<Ctx>) -> Outcome {
    fill_market(&c, "paper", Side::Buy, dec(3)).await?;
    // The world records every exchange with any broker host; the invariant
    // run after the case reads the same log, this states it for the case.
    crate::ensure!(
        c.trace.render().lines().all(|l| !l.contains(" wire ")),
        "a paper order produced wire traffic"
    );
    Ok(())
}
