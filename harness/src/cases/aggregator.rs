//! Tier B: the aggregator between Raxx and the brokerage. SnapTrade down
//! takes every brokerage behind it down with it; one brokerage down, or
//! one user's connection broken, is that brokerage's alone, and each is an
//! error of its own kind, never a lost or phantom order.

use std::sync::Arc;

use adapters::{BrokerAdapter, ErrorKind, Order, Side};
use broker_models::brokerage::ConnectionView;
use broker_models::faults::FaultPlan;

use super::orders::{dec, fill_market, position};
use super::SYMBOL;
use crate::case::{expect_kind, unexpected, Ctx, Failure, Outcome};
use crate::ensure;

/// The connections behind the aggregator: the adapter's account's, and the others.
async fn connections(c: &Ctx) -> Result<(ConnectionView, Vec<ConnectionView>), Failure> {
    let account = c.adapter.account_id().to_string();
    let all = c.venue.ledger().await?.connections;
    let (mine, others): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|v| v.accounts.contains(&account));
    let mine = mine.into_iter().next().ok_or_else(|| {
        Failure::new(format!(
            "no connection behind the aggregator holds account {account}"
        ))
    })?;
    Ok((mine, others))
}

async fn plan(c: &Ctx, text: &str) -> Outcome {
    let plan = FaultPlan::from_toml(text, c.case).map_err(|e| Failure::new(e.to_string()))?;
    c.venue.set_faults(&plan).await?;
    Ok(())
}

/// A market buy of one share that must fail with one of `kinds` and leave no order.
async fn refused(c: &Ctx, purpose: &str, kinds: &[ErrorKind], why: &str) -> Outcome {
    let order = Order::market(&c.cid(purpose), SYMBOL, Side::Buy, dec(1));
    let r = c.adapter.submit_order(&order).await;
    match &r {
        Err(e) if kinds.contains(&e.kind) => {}
        _ => {
            let first = kinds.first().copied().unwrap_or(ErrorKind::Unknown);
            expect_kind(&format!("submit_order {why}"), &r, first)?;
        }
    }
    let n = c.taken(&order.client_order_id).await?;
    ensure!(
        n == 0,
        "{why}, the submit failed, yet the brokerage took {n} orders for it"
    );
    Ok(())
}

/// What a submit may answer while the brokerage cannot be reached:
/// `unavailable`, or `timeout` from an adapter that cannot rule out that a
/// 5xx came after the order was placed and could not look (the listing is
/// down too). Never a refusal: nothing refused the order.
const DOWN: &[ErrorKind] = &[ErrorKind::Unavailable, ErrorKind::Timeout];

/// SnapTrade down: the adapter's brokerage is unreachable too (submit and
/// reads `unavailable`, no order). Another brokerage down: the adapter's
/// is not (it trades). Its own brokerage down: `unavailable` again.
pub async fn aggregator_outage_is_transitive(c: Arc<Ctx>) -> Outcome {
    let (mine, others) = connections(&c).await?;
    plan(
        &c,
        "[[rules]]\nfault = { kind = \"outage\", mode = \"status\" }\n",
    )
    .await?;
    refused(&c, "aggregator-down", DOWN, "while the aggregator is down").await?;
    let r = c.adapter.get_positions().await;
    expect_kind(
        "get_positions while the aggregator is down",
        &r,
        ErrorKind::Unavailable,
    )?;
    if let Some(other) = others.first() {
        plan(
            &c,
            &format!(
                "[[rules]]\nfault = {{ kind = \"downstream_outage\", brokerage = \"{}\" }}\n",
                other.brokerage
            ),
        )
        .await?;
        c.note(format!(
            "{} is down behind the aggregator; {} is not",
            other.brokerage, mine.brokerage
        ));
        fill_market(&c, "sibling-down", Side::Buy, dec(1)).await?;
    }
    plan(
        &c,
        &format!(
            "[[rules]]\nfault = {{ kind = \"downstream_outage\", brokerage = \"{}\" }}\n",
            mine.brokerage
        ),
    )
    .await?;
    refused(&c, "own-down", DOWN, "while its own brokerage is down").await?;
    plan(&c, "").await
}

/// The connection breaks after a fill: an order is `reauth_required` (the
/// user must reconnect) and never reaches the brokerage; the holdings still
/// read, as they stood; once repaired, orders go through again.
pub async fn downstream_connection_broken_is_typed(c: Arc<Ctx>) -> Outcome {
    let account = c.adapter.account_id().to_string();
    fill_market(&c, "before", Side::Buy, dec(2)).await?;
    let instrument = adapters::Instrument::equity(SYMBOL);
    let held = position(&c, &instrument).await?;
    c.venue.set_connection_broken(&account, true).await?;
    refused(
        &c,
        "broken",
        &[ErrorKind::ReauthRequired],
        "on a broken connection",
    )
    .await?;
    let positions = c
        .adapter
        .get_positions()
        .await
        .map_err(|e| unexpected("get_positions on a broken connection", &e))?;
    let cached: rust_decimal::Decimal = positions
        .iter()
        .filter(|p| p.instrument == instrument)
        .map(|p| p.quantity)
        .sum();
    ensure!(
        cached == held,
        "on a broken connection the holdings read {cached} {SYMBOL}; {held} were held when it broke"
    );
    c.venue.set_connection_broken(&account, false).await?;
    fill_market(&c, "repaired", Side::Buy, dec(1)).await?;
    Ok(())
}
