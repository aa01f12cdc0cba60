//! Faults: outages, ambiguous submits, latency, rate limits, expired
//! credentials, and a misbehaving order-status stream. Each case's world
//! starts with the fault plan it names (TOML, as in scenarios/faults/).

use std::sync::Arc;
use std::time::Duration;

use adapters::ReadOnlySource;
use adapters::{BrokerAdapter, ErrorKind, Order, OrderResult, OrderStatus, Side};
use broker_models::faults::{Fault, FaultPlan};
use futures_util::StreamExt;

use super::aggregator;
use super::fills::sliced_buy;
use super::orders::dec;
use super::readonly::{self, HOUR};
use super::SYMBOL;
use crate::case::{
    expect_kind, unexpected, Body, Case, Ctx, Failure, Group, Need, Outcome, ReadCtx,
};
use crate::ensure;

pub static CASES: &[Case] = &[
    Case {
        id: "outage_is_typed_unavailable",
        group: Group::Faults,
        about: "a broker answering 503 to every submission gives `unavailable`, and no order",
        needs: &[Need::BrokerModel],
        plan: r#"
[[rules]]
operations = ["submit_order"]
fault = { kind = "outage", mode = "status" }
"#,
        run: Body::Check(|c| Box::pin(outage_is_typed_unavailable(c))),
    },
    Case {
        id: "ambiguous_submit_never_duplicates",
        group: Group::Faults,
        about: "the broker commits, the answer is lost: one order, found by reconciliation",
        needs: &[Need::BrokerModel],
        plan: r#"
[[rules]]
operations = ["submit_order"]
until_ms = 1000
fault = { kind = "lost_response" }
"#,
        run: Body::Check(|c| Box::pin(ambiguous_submit_never_duplicates(c))),
    },
    Case {
        id: "latency_beyond_timeout_reconciles",
        group: Group::Faults,
        about: "a submission slower than the adapter's timeout still becomes exactly one order",
        needs: &[Need::BrokerModel],
        plan: r#"
[[rules]]
operations = ["submit_order"]
until_ms = 1000
fault = { kind = "latency", min_ms = 2500, max_ms = 3500 }
"#,
        run: Body::Check(|c| Box::pin(latency_beyond_timeout_reconciles(c))),
    },
    Case {
        id: "partition_heals_without_duplicates",
        group: Group::Faults,
        about: "the network to the broker drops everything for a while; once it heals, the intent is one order",
        needs: &[Need::SimulatedNetwork],
        plan: r#"
[[rules]]
until_ms = 1500
fault = { kind = "network_partition" }
"#,
        run: Body::Check(|c| Box::pin(partition_heals_without_duplicates(c))),
    },
    Case {
        id: "held_link_never_duplicates",
        group: Group::Faults,
        about: "the link stalls past the adapter's timeout, then delivers everything: still one order",
        needs: &[Need::SimulatedNetwork],
        plan: r#"
[[rules]]
until_ms = 3000
fault = { kind = "network_hold" }
"#,
        run: Body::Check(|c| Box::pin(held_link_never_duplicates(c))),
    },
    Case {
        id: "unusual_client_ids_reconcile",
        group: Group::Faults,
        about: "client ids with `_ . : / space`, unicode, or 128 characters, which no vendor tag holds as they are: each lost answer still reconciles to one order under the caller's id",
        needs: &[Need::BrokerModel],
        plan: "",
        run: Body::Check(|c| Box::pin(unusual_client_ids_reconcile(c))),
    },
    Case {
        id: "rate_limit_backs_off_and_recovers",
        group: Group::Faults,
        about: "a 429 storm is waited out as the broker asks, then the order goes through",
        needs: &[Need::BrokerModel],
        plan: r#"
[[rules]]
until_ms = 3000
fault = { kind = "rate_limit", retry_after_ms = 1500 }
"#,
        run: Body::Check(|c| Box::pin(rate_limit_backs_off_and_recovers(c))),
    },
    Case {
        id: "token_expiry_refreshes",
        group: Group::Faults,
        about: "an expired access token is refreshed and the call succeeds",
        needs: &[Need::BrokerModel, Need::TokenRefresh],
        plan: r#"
[[rules]]
fault = { kind = "token_expiry" }
"#,
        run: Body::Check(|c| Box::pin(token_expiry_refreshes(c))),
    },
    Case {
        id: "refresh_expiry_requires_reauth",
        group: Group::Faults,
        about: "credentials that can no longer be renewed give a typed auth error at once, not a retry loop",
        needs: &[Need::BrokerModel],
        plan: r#"
[[rules]]
fault = { kind = "refresh_expiry" }
"#,
        run: Body::Check(|c| Box::pin(refresh_expiry_requires_reauth(c))),
    },
    Case {
        id: "stream_drop_loses_no_fill",
        group: Group::Faults,
        about: "the order-status stream drops after every event; the fill still arrives",
        needs: &[Need::BrokerModel, Need::Streaming],
        plan: r#"
[[rules]]
fault = { kind = "stream_disconnect", after_events = 1 }
"#,
        run: Body::Check(|c| Box::pin(stream_drop_loses_no_fill(c))),
    },
    Case {
        id: "duplicate_or_reordered_events_keep_state_monotonic",
        group: Group::Faults,
        about: "duplicated and reordered stream events never move an order backwards",
        needs: &[Need::BrokerModel, Need::Streaming],
        plan: r#"
[[rules]]
fault = { kind = "stream_duplicate" }

[[rules]]
fault = { kind = "stream_reorder" }
"#,
        run: Body::Check(|c| Box::pin(duplicate_or_reordered_events_keep_state_monotonic(c))),
    },
    Case {
        id: "aggregator_outage_is_transitive",
        group: Group::Faults,
        about: "when the aggregator is down, every broker behind it is down",
        needs: &[Need::BrokerModel, Need::Aggregator],
        plan: "",
        run: Body::Check(|c| Box::pin(aggregator::aggregator_outage_is_transitive(c))),
    },
    Case {
        id: "downstream_connection_broken_is_typed",
        group: Group::Faults,
        about: "a broken connection behind the aggregator is a typed error",
        needs: &[Need::BrokerModel, Need::Aggregator],
        plan: "",
        run: Body::Check(|c| Box::pin(aggregator::downstream_connection_broken_is_typed(c))),
    },
    Case {
        id: "stale_holdings_report_their_age",
        group: Group::Faults,
        about: "holdings served from a cache say how old they are, and are the institution's of then",
        needs: &[Need::CachedHoldings],
        plan: r#"
[[rules]]
fault = { kind = "stale_read", age_ms = 7200000 }
"#,
        run: Body::Either(
            |c| Box::pin(stale_holdings_through_an_aggregator(c)),
            |c| Box::pin(stale_holdings_report_their_age(c)),
        ),
    },
];

/// The cache of the case's plan: two hours old.
const CACHE_AGE_MS: i64 = 7_200_000;

/// Three hours on, the answer comes from a cache two hours old: the
/// holdings must say so (as_of at least that old) and be what the
/// institution held then, not now.
async fn stale_holdings_report_their_age(c: Arc<ReadCtx>) -> Outcome {
    let account = c.source.account_id().to_string();
    c.venue.advance(3 * HOUR).await?;
    let h = c
        .source
        .get_holdings()
        .await
        .map_err(|e| unexpected("get_holdings", &e))?;
    let ledger = c.venue.ledger().await?;
    let as_of = readonly::as_of(&h)?;
    let age = ledger.now.millis() - as_of.millis();
    ensure!(
        age >= CACHE_AGE_MS,
        "holdings from a cache {CACHE_AGE_MS}ms old say they are from {as_of}, {age}ms before now"
    );
    let then = readonly::held_at(&ledger, &account, as_of);
    let imported: std::collections::BTreeMap<String, rust_decimal::Decimal> = h
        .positions
        .iter()
        .filter(|p| !p.quantity.is_zero())
        .map(|p| (p.instrument.to_string(), p.quantity))
        .collect();
    ensure!(
        imported == then,
        "as of {as_of} the institution held {then:?}; the holdings say {imported:?}"
    );
    Ok(())
}

/// Through an aggregator: two hours of cache, and the account's holdings
/// change on either side of it (two shares bought, three hours on three
/// more). The holdings must say they are at least two hours old and be the
/// two shares of then, not the five of now.
async fn stale_holdings_through_an_aggregator(c: Arc<Ctx>) -> Outcome {
    let account = c.adapter.account_id().to_string();
    let instrument = adapters::Instrument::equity(SYMBOL);
    super::orders::fill_market(&c, "then", Side::Buy, dec(2)).await?;
    let then_from = c.venue.ledger().await?.now;
    c.venue.advance(3 * HOUR).await?;
    let then_until = c.venue.ledger().await?.now;
    super::orders::fill_market(&c, "now", Side::Buy, dec(3)).await?;
    let h = c
        .adapter
        .get_holdings()
        .await
        .map_err(|e| unexpected("get_holdings", &e))?;
    let now = c.venue.ledger().await?.now;
    let as_of = readonly::as_of(&h)?;
    let age = now.millis() - as_of.millis();
    ensure!(
        age >= CACHE_AGE_MS,
        "holdings from a cache {CACHE_AGE_MS}ms old say they are from {as_of}, {age}ms before now"
    );
    ensure!(
        then_from <= as_of && as_of <= then_until,
        "the holdings say they are from {as_of}, outside the hours the case held two shares ({then_from} to {then_until})"
    );
    let held: rust_decimal::Decimal = h
        .positions
        .iter()
        .filter(|p| p.account_id == account && p.instrument == instrument)
        .map(|p| p.quantity)
        .sum();
    ensure!(
        held == dec(2),
        "as of {as_of} the account held 2 {SYMBOL}; the holdings say {held}"
    );
    Ok(())
}

async fn outage_is_typed_unavailable(c: Arc<Ctx>) -> Outcome {
    let order = Order::market(&c.cid("down"), SYMBOL, Side::Buy, dec(1));
    let r = c.adapter.submit_order(&order).await;
    expect_kind("submit_order during an outage", &r, ErrorKind::Unavailable)?;
    let n = c.taken(&order.client_order_id).await?;
    ensure!(n == 0, "the broker holds {n} orders after answering 503");
    Ok(())
}

/// After an ambiguous submit: either the order, or a timeout; and once the
/// world has settled, exactly one order at the broker for the intent.
async fn settles_to_one_order(
    c: &Ctx,
    order: &Order,
    r: Result<OrderResult, adapters::AdapterError>,
) -> Outcome {
    match &r {
        Ok(found) => ensure!(
            found.client_order_id == order.client_order_id,
            "reconciled to order {} of intent {}",
            found.broker_order_id,
            found.client_order_id
        ),
        Err(e) if e.kind == ErrorKind::Timeout => {}
        Err(e) => return Err(unexpected("submit_order", e)),
    }
    // Anything still in flight lands before the ledger is read.
    c.pace.sleep(Duration::from_secs(8)).await;
    let n = c.taken(&order.client_order_id).await?;
    ensure!(
        n == 1,
        "intent {} is {n} orders at the broker",
        order.client_order_id
    );
    Ok(())
}

async fn ambiguous_submit_never_duplicates(c: Arc<Ctx>) -> Outcome {
    let order = Order::market(&c.cid("lost"), SYMBOL, Side::Buy, dec(2));
    let r = c.adapter.submit_order(&order).await;
    settles_to_one_order(&c, &order, r).await
}

async fn latency_beyond_timeout_reconciles(c: Arc<Ctx>) -> Outcome {
    let order = Order::market(&c.cid("slow"), SYMBOL, Side::Buy, dec(2));
    let r = c.adapter.submit_order(&order).await;
    settles_to_one_order(&c, &order, r).await
}

async fn partition_heals_without_duplicates(c: Arc<Ctx>) -> Outcome {
    let order = Order::market(&c.cid("cut-off"), SYMBOL, Side::Buy, dec(2));
    let r = c.adapter.submit_order(&order).await;
    match &r {
        // Nothing reached the broker yet, and the adapter said so.
        Err(e) if matches!(e.kind, ErrorKind::Unavailable | ErrorKind::Timeout) => {
            c.pace.sleep(Duration::from_secs(2)).await;
            let again = c.submit(&order).await?;
            c.wait_status(&again.broker_order_id, OrderStatus::Filled)
                .await?;
        }
        Ok(found) => {
            c.wait_status(&found.broker_order_id, OrderStatus::Filled)
                .await?;
        }
        Err(e) => return Err(unexpected("submit_order", e)),
    }
    let n = c.taken(&order.client_order_id).await?;
    ensure!(
        n == 1,
        "intent {} is {n} orders at the broker",
        order.client_order_id
    );
    Ok(())
}

/// A request held on the link may land after the adapter gave up on it, or
/// never (a connection still opening when the adapter gave up carries
/// nothing): after a timeout the caller tries the intent again once the
/// link is back, and either way the intent is one order.
async fn held_link_never_duplicates(c: Arc<Ctx>) -> Outcome {
    let order = Order::market(&c.cid("stalled"), SYMBOL, Side::Buy, dec(2));
    let r = c.adapter.submit_order(&order).await;
    match r {
        Err(e) if e.kind == ErrorKind::Timeout => {
            c.pace.sleep(Duration::from_secs(8)).await;
            let again = c.adapter.submit_order(&order).await;
            settles_to_one_order(&c, &order, again).await
        }
        r => settles_to_one_order(&c, &order, r).await,
    }
}

/// Client ids a caller may legally use (the contract: any 1 to 128
/// characters, unique per intent) that a restricted vendor label cannot
/// carry verbatim: Tradier's `tag` takes only `[A-Za-z0-9-]` up to 255,
/// so an adapter that sends the id as it is has every order refused, and
/// one that strips or truncates it cannot reconcile by it. Each submit's
/// answer is lost after the broker commits, so the adapter must find its
/// order by that id; then reading the order back names the caller's id.
async fn unusual_client_ids_reconcile(c: Arc<Ctx>) -> Outcome {
    let seed = c.seed;
    // 128 characters, half of them ones a tag cannot hold: escaped they
    // outgrow Tradier's 255.
    let long: String = format!("{seed}:")
        .chars()
        .chain("a_b.c:d/e ".chars().cycle())
        .take(128)
        .collect();
    let ids = [
        format!("{seed}_raxx.v1:user/42 buy"),
        format!("entrée-{seed}-日本-📈"),
        long,
    ];
    for id in ids {
        c.venue.steer_next(&Fault::LostResponse).await?;
        let order = Order::market(&id, SYMBOL, Side::Buy, dec(1));
        let r = c.adapter.submit_order(&order).await;
        settles_to_one_order(&c, &order, r).await?;
        let ledger = c.venue.ledger().await?;
        let Some(placed) = ledger.orders.iter().find(|o| o.intent == id && o.taken) else {
            return Err(Failure::new(format!("no order at the broker for {id:?}")));
        };
        let read = c.adapter.get_order(&placed.vendor_id).await;
        let read = read.map_err(|e| unexpected("get_order", &e).near(id.clone()))?;
        ensure!(
            read.client_order_id == id,
            "order {} was placed for {id:?}; reading it back names {:?}",
            placed.vendor_id,
            read.client_order_id
        );
    }
    Ok(())
}

/// Submits `order`, waiting out every throttle handed back as told, until
/// the broker takes it.
async fn submit_through_throttles(c: &Ctx, order: &Order) -> Result<OrderResult, Failure> {
    let deadline = c.pace.deadline(crate::case::PATIENCE);
    loop {
        match c.adapter.submit_order(order).await {
            Ok(r) => return Ok(r),
            // An adapter hands a throttle longer than its own patience back
            // to its caller, saying how long to wait; the caller waits.
            Err(e) if e.kind == ErrorKind::RateLimited => {
                let wait = e
                    .retry_after_ms
                    .ok_or_else(|| Failure::new("rate_limited without retry_after_ms"))?;
                ensure!(
                    tokio::time::Instant::now() < deadline,
                    "still throttled after {:?}",
                    crate::case::PATIENCE
                );
                c.pace.sleep(Duration::from_millis(wait)).await;
            }
            Err(e) => return Err(unexpected("submit_order", &e)),
        }
    }
}

async fn rate_limit_backs_off_and_recovers(c: Arc<Ctx>) -> Outcome {
    // A short storm (the plan's first 3 s, 1.5 s waits): waited out inside the adapter.
    let first = Order::market(&c.cid("short-storm"), SYMBOL, Side::Buy, dec(1));
    let r = submit_through_throttles(&c, &first).await?;
    c.wait_status(&r.broker_order_id, OrderStatus::Filled)
        .await?;
    // A long one (15 s waits, beyond any adapter's patience): handed back
    // with the wait, and the order still goes through exactly once after it.
    let long = FaultPlan::from_toml(
        "[[rules]]\nuntil_ms = 25000\nfault = { kind = \"rate_limit\", retry_after_ms = 15000 }",
        "long storm",
    )
    .map_err(|e| Failure::new(e.to_string()))?;
    c.venue.set_faults(&long).await?;
    let second = Order::market(&c.cid("long-storm"), SYMBOL, Side::Buy, dec(1));
    let r = submit_through_throttles(&c, &second).await?;
    c.wait_status(&r.broker_order_id, OrderStatus::Filled)
        .await?;
    Ok(())
}

/// The connection's access token is expired from the start: calls that
/// meet it at once share one refresh, and the order goes through once.
async fn token_expiry_refreshes(c: Arc<Ctx>) -> Outcome {
    let (account, positions, again) = futures_util::join!(
        c.adapter.get_account(),
        c.adapter.get_positions(),
        c.adapter.get_account()
    );
    account.map_err(|e| unexpected("get_account with an expired token", &e))?;
    positions.map_err(|e| unexpected("get_positions with an expired token", &e))?;
    again.map_err(|e| unexpected("get_account with an expired token", &e))?;
    let order = Order::market(&c.cid("after-refresh"), SYMBOL, Side::Buy, dec(1));
    let r = c.submit(&order).await?;
    c.wait_status(&r.broker_order_id, OrderStatus::Filled)
        .await?;
    let ledger = c.venue.ledger().await?;
    ensure!(
        ledger.token_refreshes == 1,
        "the broker granted {} refreshes for one expiry (calls that meet it together share one)",
        ledger.token_refreshes
    );
    let n = c.taken(&order.client_order_id).await?;
    ensure!(
        n == 1,
        "{n} broker orders for one intent across the refresh"
    );
    Ok(())
}

async fn refresh_expiry_requires_reauth(c: Arc<Ctx>) -> Outcome {
    let r = c.adapter.get_account().await;
    match &r {
        Err(e) if matches!(e.kind, ErrorKind::ReauthRequired | ErrorKind::AuthExpired) => {}
        other => {
            return Err(Failure::new(format!(
                "get_account with dead credentials: expected reauth_required or auth_expired, got {other:?}"
            )))
        }
    }
    let sent = c
        .trace
        .render()
        .lines()
        .filter(|l| l.contains(" <- GET"))
        .count();
    ensure!(
        sent <= 2,
        "{sent} requests for one call the broker refused for its credentials: retrying cannot help"
    );
    Ok(())
}

/// Reads updates until `done` holds for order `id`, keeping what it saw.
async fn watch(
    c: &Ctx,
    updates: &mut adapters::OrderUpdates,
    id: &str,
    done: impl Fn(&OrderResult) -> bool,
) -> Result<Vec<OrderResult>, Failure> {
    let mut seen = Vec::new();
    let deadline = c.pace.deadline(crate::case::PATIENCE);
    loop {
        let next = tokio::time::timeout_at(deadline, updates.next())
            .await
            .map_err(|_| {
                Failure::new(format!("no final update for order {id} on the stream")).near(id)
            })?;
        match next {
            Some(Ok(u)) if u.broker_order_id == id => {
                let finished = done(&u);
                seen.push(u);
                if finished {
                    return Ok(seen);
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(unexpected("order_updates", &e)),
            None => return Err(Failure::new("the order-status stream ended").near(id)),
        }
    }
}

async fn stream_drop_loses_no_fill(c: Arc<Ctx>) -> Outcome {
    let mut updates = c
        .adapter
        .order_updates()
        .await
        .map_err(|e| unexpected("order_updates", &e))?;
    let r = c
        .submit(&Order::market(
            &c.cid("streamed"),
            SYMBOL,
            Side::Buy,
            dec(3),
        ))
        .await?;
    let seen = watch(&c, &mut updates, &r.broker_order_id, |u| {
        u.status == OrderStatus::Filled
    })
    .await?;
    let last = seen.last().ok_or_else(|| Failure::new("no update"))?;
    ensure!(
        last.filled_quantity == dec(3),
        "the stream's fill says {}",
        last.filled_quantity
    );
    Ok(())
}

async fn duplicate_or_reordered_events_keep_state_monotonic(c: Arc<Ctx>) -> Outcome {
    let mut updates = c
        .adapter
        .order_updates()
        .await
        .map_err(|e| unexpected("order_updates", &e))?;
    let order = sliced_buy(&c, "chaos").await?;
    let r = c.submit(&order).await?;
    let seen = watch(&c, &mut updates, &r.broker_order_id, |u| {
        u.status == OrderStatus::Filled
    })
    .await?;
    for pair in seen.windows(2) {
        ensure!(
            pair[1].filled_quantity >= pair[0].filled_quantity,
            "the stream moved order {} back from {} to {} filled",
            r.broker_order_id,
            pair[0].filled_quantity,
            pair[1].filled_quantity
        );
        ensure!(
            !pair[0].status.is_terminal() || pair[1].status == pair[0].status,
            "the stream moved order {} from {:?} back to {:?}",
            r.broker_order_id,
            pair[0].status,
            pair[1].status
        );
    }
    Ok(())
}
