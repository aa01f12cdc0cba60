//! Tiers: read-only sources never trade; paper never touches a broker.

use std::sync::Arc;

use adapters::Side;

use super::orders::{dec, fill_market};
use crate::case::{Body, Case, Ctx, Group, Need, Outcome};

pub static CASES: &[Case] = &[
    Case {
        id: "read_only_never_places_orders",
        group: Group::Tiers,
        about: "a read-only (Tier C) connection never places an order",
        needs: &[Need::ReadOnly],
        plan: "",
        run: Body::Missing("needs a read-only source model (Plaid)"),
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
