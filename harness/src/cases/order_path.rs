//! Tiers over the order path (the gateway): the broker under test is the
//! live broker of one connection in a household ([`crate::order_path`]),
//! and each case checks one rule of the BYOB decision at the broker's edge
//! and in the model's ledger, never by asking the path what it did.

use std::collections::BTreeMap;
use std::sync::Arc;

use adapters::{
    BrokerAdapter, ErrorKind, Instrument, Order, OrderResult, OrderStatus, ReadOnlySource, Side,
};
use broker_models::faults::FaultPlan;
use gateway::audit::AuditEvent;
use gateway::kill::{self, Mode};
use gateway::router::PathError;
use gateway::rules::{Condition, Entry, Exit, Fire, Rules, Strategy, Trade};
use gateway::trader::{replay, Trader};
use gateway::velvet::VelvetError;
use rust_decimal::Decimal;

use super::orders::{dec, resting_buy};
use super::SYMBOL;
use crate::case::{Body, Case, Ctx, Failure, Group, Need, Outcome, ReadCtx};
use crate::ensure;
use crate::order_path::{path_failure, Rig, Subject};

pub static CASES: &[Case] = &[
    Case {
        id: "tier_c_refused_in_the_store",
        group: Group::Tiers,
        about: "a Tier C connection's token is refused for an order by the token store itself, and no order reaches the broker",
        needs: &[Need::ReadOnly, Need::BrokerModel],
        plan: "",
        run: Body::ReadOnly(|c| Box::pin(tier_c_refused_in_the_store(c))),
    },
    Case {
        id: "kill_switch_refuses_exactly_its_scope",
        group: Group::Tiers,
        about: "each kill switch refuses the live orders in its scope with 503, and never paper, cancels or other brokers",
        needs: &[Need::BrokerModel],
        plan: "",
        run: Body::Check(|c| Box::pin(kill_switch_refuses_exactly_its_scope(c))),
    },
    Case {
        id: "audit_entry_before_broker",
        group: Group::Tiers,
        about: "every live order and cancel is in the audit chain before the broker sees it, with its answer and later state, and the chain verifies",
        needs: &[Need::BrokerModel],
        plan: "",
        run: Body::Check(|c| Box::pin(audit_entry_before_broker(c))),
    },
    Case {
        id: "revoked_token_never_reaches_a_broker",
        group: Group::Tiers,
        about: "once a connection is revoked, nothing is sent to its broker with its token again, and where the vendor has a revoke the grant is gone there too",
        needs: &[Need::BrokerModel],
        plan: "",
        run: Body::Either(
            |c| Box::pin(revoked_token_never_reaches_a_broker(c)),
            |c| Box::pin(a_revoked_source_is_revoked_at_its_vendor(c)),
        ),
    },
    Case {
        id: "household_never_netted",
        group: Group::Tiers,
        about: "an order on one account of a household never uses another account's position, and positions are listed per account",
        needs: &[Need::BrokerModel],
        plan: "",
        run: Body::Check(|c| Box::pin(household_never_netted(c))),
    },
    Case {
        id: "rules_fire_alike_everywhere",
        group: Group::Tiers,
        about: "a strategy's rules fire the same orders on MBT paper and on the live broker over the same market, and each reaches the broker exactly as fired",
        needs: &[Need::BrokerModel],
        plan: "",
        run: Body::Check(|c| Box::pin(rules_fire_alike_everywhere(c))),
    },
    Case {
        id: "aggregator_outage_spares_tier_a",
        group: Group::Tiers,
        about: "an outage of the aggregator (Tier B) leaves a Tier A connection trading, and the other way round",
        needs: &[Need::BrokerModel],
        plan: "",
        run: Body::Check(|c| Box::pin(aggregator_outage_spares_tier_a(c))),
    },
];

/// The rig around the adapter under test.
async fn rig(c: &Ctx) -> Result<Rig, Failure> {
    let adapter: Arc<dyn BrokerAdapter> = c.adapter.clone();
    let subject = Subject {
        describe: adapter.describe(),
        account_id: adapter.account_id().to_string(),
        adapter: Some(adapter),
        source: None,
    };
    let rig = Rig::new(&c.venue, subject, c.seed, c.flaw).await?;
    rig.graduate().await?;
    Ok(rig)
}

/// The rig around the read-only source under test (no adapter: it has no
/// way to place an order).
async fn read_only_rig(c: &ReadCtx, source: &Arc<dyn ReadOnlySource>) -> Result<Rig, Failure> {
    let subject = Subject {
        describe: source.describe(),
        account_id: source.account_id().to_string(),
        adapter: None,
        source: Some(source.clone()),
    };
    Rig::new(&c.venue, subject, c.seed, c.flaw).await
}

/// A live submit on `connection` that must be refused with `kind`, and
/// reach nothing.
async fn refused_live(
    c: &Ctx,
    rig: &Rig,
    connection: &gateway::ConnectionId,
    purpose: &str,
    kind: ErrorKind,
    why: &str,
) -> Outcome {
    let order = Order::market(&c.cid(purpose), SYMBOL, Side::Buy, dec(1));
    let neighbour_before = rig.neighbour_orders();
    match rig.path.submit(connection, Mode::Live, &order).await {
        Err(e) if e.kind() == kind => {}
        Err(e) => {
            return Err(path_failure(
                &format!("live submit {why}: expected {kind}"),
                &e,
            ))
        }
        Ok(r) => {
            return Err(Failure::new(format!(
                "live submit {why}: expected {kind}, the broker took order {} ({:?})",
                r.broker_order_id, r.status
            ))
            .near(order.client_order_id))
        }
    }
    let n = c.taken(&order.client_order_id).await?;
    ensure!(
        n == 0,
        "live submit {why} was refused, yet the broker took {n} orders for it"
    );
    ensure!(
        rig.neighbour_orders() == neighbour_before,
        "live submit {why} was refused, yet the neighbour's broker received an order"
    );
    Ok(())
}

/// A live submit on `connection` that the broker must take; its answer.
async fn accepted_live(
    c: &Ctx,
    rig: &Rig,
    connection: &gateway::ConnectionId,
    order: &Order,
    why: &str,
) -> Result<OrderResult, Failure> {
    let r = rig
        .path
        .submit(connection, Mode::Live, order)
        .await
        .map_err(|e| {
            path_failure(&format!("live submit {why}"), &e).near(order.client_order_id.clone())
        })?;
    if connection == &rig.subject.id {
        let n = c.taken(&order.client_order_id).await?;
        ensure!(
            n == 1,
            "live submit {why} answered {:?}, yet the broker took {n} orders",
            r.status
        );
    }
    Ok(r)
}

/// A live market order on `connection` that the broker must take and fill
/// (the case waits for the subject's fill, so that nothing is in flight
/// when the invariants read the ledger and the adapter).
async fn filled_live(
    c: &Ctx,
    rig: &Rig,
    connection: &gateway::ConnectionId,
    order: &Order,
    why: &str,
) -> Outcome {
    let r = accepted_live(c, rig, connection, order, why).await?;
    if connection == &rig.subject.id {
        c.wait_status(&r.broker_order_id, OrderStatus::Filled)
            .await?;
    }
    Ok(())
}

/// The store refuses a Tier C order credential whoever asks; the path's
/// live order is refused there (read_only), paper still goes to MBT, and
/// the model saw no order and no order-shaped request.
async fn tier_c_refused_in_the_store(c: Arc<ReadCtx>) -> Outcome {
    let source: Arc<dyn ReadOnlySource> = c.source.clone();
    let rig = read_only_rig(&c, &source).await?;
    let id = rig.subject.id.clone();
    {
        let velvet = rig.path.velvet();
        let row = velvet
            .rows()
            .row(&id)
            .map_err(|e| Failure::new(e.to_string()))?
            .ok_or_else(|| Failure::new("the Tier C connection has no token row"))?;
        ensure!(
            row.no_order_write,
            "the Tier C token row is not no_order_write"
        );
        match velvet.credential_for_order(&id) {
            Err(VelvetError::NoOrderWrite { .. }) => {}
            Err(e) => {
                return Err(Failure::new(format!(
                    "the store refused a Tier C order credential with {e}, not as read-only"
                )))
            }
            Ok(_) => {
                return Err(Failure::new(
                    "the token store handed out a Tier C credential for an order",
                ))
            }
        }
        ensure!(
            velvet.credential_for_read(&id).is_ok(),
            "the store refused to read a Tier C connection"
        );
    }
    rig.graduate().await?;
    let order = Order::market("tier-c-live", SYMBOL, Side::Buy, dec(1));
    match rig.path.submit(&id, Mode::Live, &order).await {
        Err(PathError::Velvet(VelvetError::NoOrderWrite { .. })) => {}
        Err(e) => {
            return Err(path_failure(
                "a live order on Tier C: expected the store's read_only refusal",
                &e,
            ))
        }
        Ok(r) => {
            return Err(Failure::new(format!(
                "a live order on Tier C was placed: {r:?}"
            )))
        }
    }
    let ledger = c.venue.ledger().await?;
    ensure!(
        ledger.orders.is_empty(),
        "{} orders reached the Tier C broker",
        ledger.orders.len()
    );
    ensure!(
        ledger.order_attempts.is_empty(),
        "{} order-shaped requests reached the Tier C broker",
        ledger.order_attempts.len()
    );
    Ok(())
}

async fn kill_switch_refuses_exactly_its_scope(c: Arc<Ctx>) -> Outcome {
    let rig = rig(&c).await?;
    let (me, them) = (rig.subject.id.clone(), rig.neighbour.id.clone());
    let resting = resting_buy(&c, "resting");
    let resting = accepted_live(&c, &rig, &me, &resting, "before any switch").await?;

    let mut switches = vec![kill::broker_variable(&rig.subject.slug)];
    if let Some(aggregator) = &rig.subject.aggregator {
        switches.push(kill::broker_variable(aggregator));
    }
    for (i, variable) in switches.iter().enumerate() {
        c.note(format!("kill switch {variable}=1"));
        rig.env.set(variable, "1");
        refused_live(
            &c,
            &rig,
            &me,
            &format!("switched-{i}"),
            ErrorKind::KillSwitch,
            &format!("under {variable}"),
        )
        .await?;
        let neighbour = Order::market(&c.cid(&format!("neighbour-{i}")), SYMBOL, Side::Buy, dec(1));
        accepted_live(
            &c,
            &rig,
            &them,
            &neighbour,
            &format!("on another broker under {variable}"),
        )
        .await?;
        rig.env.remove(variable);
    }

    c.note(format!("kill switch {}=1", kill::LIVE_DISABLED));
    rig.env.set(kill::LIVE_DISABLED, "1");
    refused_live(
        &c,
        &rig,
        &me,
        "global",
        ErrorKind::KillSwitch,
        "under the global switch",
    )
    .await?;
    refused_live(
        &c,
        &rig,
        &them,
        "global-neighbour",
        ErrorKind::KillSwitch,
        "on another broker under the global switch",
    )
    .await?;
    let paper = Order::market(&c.cid("paper"), SYMBOL, Side::Buy, dec(1));
    let r = rig
        .path
        .submit(&me, Mode::Paper, &paper)
        .await
        .map_err(|e| path_failure("paper submit under the global switch", &e))?;
    ensure!(
        r.status == OrderStatus::Filled,
        "paper under the global switch ended {:?}",
        r.status
    );
    // Taking risk off stays possible: the resting order is canceled at the broker.
    rig.path
        .cancel(&me, Mode::Live, &resting.broker_order_id)
        .await
        .map_err(|e| path_failure("live cancel under the global switch", &e))?;
    c.wait_status(&resting.broker_order_id, OrderStatus::Canceled)
        .await?;
    rig.env.remove(kill::LIVE_DISABLED);

    let after = Order::market(&c.cid("after"), SYMBOL, Side::Buy, dec(1));
    filled_live(&c, &rig, &me, &after, "once the switches are off").await
}

async fn audit_entry_before_broker(c: Arc<Ctx>) -> Outcome {
    let rig = rig(&c).await?;
    let me = rig.subject.id.clone();
    let buy = Order::market(&c.cid("buy"), SYMBOL, Side::Buy, dec(1));
    let id = accepted_live(&c, &rig, &me, &buy, "a market buy")
        .await?
        .broker_order_id;
    c.wait_status(&id, OrderStatus::Filled).await?;
    rig.path
        .refresh(&me, &id)
        .await
        .map_err(|e| path_failure("refresh", &e))?;
    let resting = resting_buy(&c, "resting");
    let resting_id = accepted_live(&c, &rig, &me, &resting, "a resting buy")
        .await?
        .broker_order_id;
    rig.path
        .cancel(&me, Mode::Live, &resting_id)
        .await
        .map_err(|e| path_failure("live cancel", &e))?;

    let breaches = rig.breaches();
    ensure!(breaches.is_empty(), "{}", breaches.join("; "));
    let log = rig.audit_log()?;
    let kinds: Vec<String> = log.iter().map(|e| describe(&e.event)).collect();
    for (cid, what) in [
        (&buy.client_order_id, "buy"),
        (&resting.client_order_id, "resting buy"),
    ] {
        let attempt = kinds.iter().position(|k| k == &format!("attempt {cid}"));
        let answer = kinds
            .iter()
            .position(|k| k.starts_with(&format!("answer {cid} ")));
        ensure!(
            matches!((attempt, answer), (Some(a), Some(b)) if a < b),
            "the {what}'s attempt and answer are not both in the audit chain in that order: {kinds:?}"
        );
    }
    // The fill is audited as the broker's answer, when it came filled, or
    // as the state change the path read after it.
    ensure!(
        kinds.contains(&format!("state {id} filled"))
            || kinds.contains(&format!("answer {} filled", buy.client_order_id)),
        "the fill of {id} is not in the audit chain: {kinds:?}"
    );
    ensure!(
        kinds.contains(&format!("cancel {resting_id}")),
        "the cancel of {resting_id} is not in the audit chain: {kinds:?}"
    );
    Ok(())
}

/// One audit event in a word and its order id, for the case's checks and messages.
fn describe(e: &AuditEvent) -> String {
    match e {
        AuditEvent::OrderAttempt {
            client_order_id, ..
        } => format!("attempt {client_order_id}"),
        AuditEvent::OrderAnswer {
            client_order_id,
            outcome,
            ..
        } => format!(
            "answer {client_order_id} {}",
            outcome["status"].as_str().unwrap_or("error")
        ),
        AuditEvent::StateChange {
            broker_order_id,
            detail,
            ..
        } => format!(
            "state {broker_order_id} {}",
            detail["status"].as_str().unwrap_or_default()
        ),
        AuditEvent::CancelAttempt {
            broker_order_id, ..
        } => format!("cancel {broker_order_id}"),
    }
}

async fn revoked_token_never_reaches_a_broker(c: Arc<Ctx>) -> Outcome {
    let rig = rig(&c).await?;
    let (me, them) = (rig.subject.id.clone(), rig.neighbour.id.clone());
    let before = resting_buy(&c, "before");
    let before_id = accepted_live(&c, &rig, &me, &before, "before the revocation")
        .await?
        .broker_order_id;
    rig.path
        .revoke(&me)
        .await
        .map_err(|e| path_failure("revoke", &e))?;
    c.note("the subject connection is revoked");
    refused_live(
        &c,
        &rig,
        &me,
        "after",
        ErrorKind::ReauthRequired,
        "after the revocation",
    )
    .await?;
    let cancel = rig.path.cancel(&me, Mode::Live, &before_id).await;
    ensure!(
        matches!(&cancel, Err(e) if e.kind() == ErrorKind::ReauthRequired),
        "a live cancel after the revocation answered {cancel:?}"
    );
    let positions = rig.path.positions(&me, Mode::Live).await;
    ensure!(
        positions.is_err(),
        "positions were read with a revoked token"
    );
    // Where the vendor has a revoke, the grant is gone there too: the
    // adapter itself, past the path, reaches nothing.
    if revocable(&c.adapter.describe().broker) {
        let r = c.adapter.get_positions().await;
        ensure!(
            matches!(&r, Err(e) if grant_gone(e.kind)),
            "after the revocation the vendor still answers the grant: {:?}",
            r.map(|p| p.len())
        );
        revoked_in_ledger(&c.venue, c.adapter.account_id()).await?;
    }
    let ledger = c.venue.ledger().await?;
    let order = ledger
        .orders
        .iter()
        .find(|o| o.intent == before.client_order_id);
    ensure!(
        order.is_some_and(|o| o.status != mbt::OrderStatus::Canceled),
        "the order placed before the revocation was canceled with the revoked token"
    );
    let other = Order::market(&c.cid("neighbour"), SYMBOL, Side::Buy, dec(1));
    accepted_live(
        &c,
        &rig,
        &them,
        &other,
        "on the household's other connection",
    )
    .await?;
    Ok(())
}

/// A read-only connection revoked through the path: the store never hands
/// its credential out again, and where the vendor has a revoke (Plaid's
/// `/item/remove`) the grant no longer works there either: the source's
/// own read is refused by the vendor as needing a new link.
async fn a_revoked_source_is_revoked_at_its_vendor(c: Arc<ReadCtx>) -> Outcome {
    let source: Arc<dyn ReadOnlySource> = c.source.clone();
    let rig = read_only_rig(&c, &source).await?;
    let id = rig.subject.id.clone();
    source
        .get_holdings()
        .await
        .map_err(|e| crate::case::unexpected("get_holdings before the revocation", &e))?;
    rig.path
        .revoke(&id)
        .await
        .map_err(|e| path_failure("revoke", &e))?;
    c.trace
        .record(crate::trace::Actor::Check, "the connection is revoked");
    let read = rig.path.velvet().credential_for_read(&id);
    ensure!(
        matches!(read, Err(VelvetError::Revoked { .. })),
        "the store still hands out the revoked credential for reading: {read:?}"
    );
    if revocable(&source.describe().broker) {
        let r = source.get_holdings().await;
        ensure!(
            matches!(&r, Err(e) if grant_gone(e.kind)),
            "after the revocation the vendor still answers the grant: {:?}",
            r.map(|h| h.positions.len())
        );
        revoked_in_ledger(&c.venue, source.account_id()).await?;
    }
    Ok(())
}

/// The vendor has a revoke (Plaid's `/item/remove`, SnapTrade's
/// connection deletion).
fn revocable(broker: &str) -> bool {
    broker_models::vendor::vendor(broker).is_ok_and(|v| v.revocable)
}

/// What a vendor answers a revoked grant: a new link is needed (Plaid), or
/// the account is gone with its connection (SnapTrade).
fn grant_gone(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::ReauthRequired | ErrorKind::NotFound)
}

async fn revoked_in_ledger(venue: &crate::venue::Venue, account: &str) -> Outcome {
    let ledger = venue.ledger().await?;
    ensure!(
        ledger.revoked_for(account),
        "the vendor's own record does not show the grant to {account} revoked"
    );
    Ok(())
}

async fn household_never_netted(c: Arc<Ctx>) -> Outcome {
    let rig = rig(&c).await?;
    let (me, them) = (rig.subject.id.clone(), rig.neighbour.id.clone());
    let buy = Order::market(&c.cid("neighbour-buy"), SYMBOL, Side::Buy, dec(10));
    accepted_live(&c, &rig, &them, &buy, "on the neighbour").await?;
    let held = rig.neighbour_position(SYMBOL);
    ensure!(
        held == dec(10),
        "the neighbour holds {held} {SYMBOL} after buying 10"
    );

    // A sell on the subject: its own broker answers it (a fill of its own
    // shares, a short, or a refusal): never the neighbour's shares.
    let orders_before = rig.neighbour_orders();
    let sell = Order::market(&c.cid("sell"), SYMBOL, Side::Sell, dec(10));
    if let Ok(r) = rig.path.submit(&me, Mode::Live, &sell).await {
        // Whatever the subject's broker makes of it, let it finish there.
        if c.taken(&sell.client_order_id).await? > 0 {
            c.wait_for(&r.broker_order_id, "final", |r| r.status.is_terminal())
                .await?;
        }
    }
    ensure!(
        rig.neighbour_orders() == orders_before && rig.neighbour_position(SYMBOL) == held,
        "a sell on {me} reached the neighbour's account (it now holds {} {SYMBOL})",
        rig.neighbour_position(SYMBOL)
    );

    let listed = rig
        .path
        .household_positions(&rig.subject.household, Mode::Live)
        .await
        .map_err(|e| path_failure("household positions", &e))?;
    let ids: Vec<&str> = listed.keys().map(|k| k.0.as_str()).collect();
    ensure!(
        ids == [them.0.as_str(), me.0.as_str()],
        "the household lists {ids:?}"
    );
    let own = c
        .adapter
        .get_positions()
        .await
        .map_err(|e| Failure::new(e.to_string()))?;
    let mine = &listed[&me];
    ensure!(
        quantity(mine) == quantity(&own),
        "the household lists {} {SYMBOL} for {me}, its broker says {}",
        quantity(mine),
        quantity(&own)
    );
    ensure!(
        quantity(&listed[&them]) == held,
        "the household lists {} {SYMBOL} for {them}",
        quantity(&listed[&them])
    );
    Ok(())
}

fn quantity(positions: &[adapters::Position]) -> Decimal {
    positions
        .iter()
        .filter(|p| p.instrument == adapters::Instrument::equity(SYMBOL))
        .map(|p| p.quantity)
        .sum()
}

/// The Tier B side down, the Tier A side trades: the aggregator itself
/// when the subject is Tier B, the neighbour's when it is Tier A.
async fn aggregator_outage_spares_tier_a(c: Arc<Ctx>) -> Outcome {
    let rig = rig(&c).await?;
    let (me, them) = (rig.subject.id.clone(), rig.neighbour.id.clone());
    if rig.subject.tier == adapters::Tier::B {
        let plan = FaultPlan::from_toml(
            "[[rules]]\nfault = { kind = \"outage\", mode = \"status\" }\n",
            c.case,
        )
        .map_err(|e| Failure::new(e.to_string()))?;
        c.venue.set_faults(&plan).await?;
        let order = Order::market(&c.cid("aggregator-down"), SYMBOL, Side::Buy, dec(1));
        let r = rig.path.submit(&me, Mode::Live, &order).await;
        ensure!(
            matches!(&r, Err(e) if matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::Timeout)),
            "a live order through the aggregator while it is down answered {r:?}"
        );
        let tier_a = Order::market(&c.cid("tier-a"), SYMBOL, Side::Buy, dec(1));
        accepted_live(
            &c,
            &rig,
            &them,
            &tier_a,
            "on Tier A while the aggregator is down",
        )
        .await?;
        c.venue.set_faults(&FaultPlan::default()).await?;
    } else {
        rig.set_neighbour_down(true);
        refused_live(
            &c,
            &rig,
            &them,
            "tier-b-down",
            ErrorKind::Unavailable,
            "on the Tier B neighbour while it is down",
        )
        .await?;
        let tier_a = Order::market(&c.cid("tier-a"), SYMBOL, Side::Buy, dec(1));
        filled_live(
            &c,
            &rig,
            &me,
            &tier_a,
            "on Tier A while the Tier B neighbour is down",
        )
        .await?;
        rig.set_neighbour_down(false);
    }
    Ok(())
}

/// Marks the rules see, ten minutes apart: a dip bought, its profit taken,
/// a second dip stopped out; or a dip held until its time is up. Every
/// decision is at least a point away from its threshold, so the fills'
/// own slippage cannot move one.
const MARKS: [&[u32]; 2] = [
    &[10000, 9700, 9750, 10150, 10000, 9600, 9450, 9200, 9200],
    &[10000, 9700, 9850, 9900, 9880, 9920, 10100, 9750, 9800],
];

/// Buys a dip at or below 98 and gets out at +3 %, -3 % or after 30 minutes.
fn dip_buyer(name: String, quantity: Decimal) -> Strategy {
    Strategy {
        name,
        trade: Trade::Equity {
            symbol: SYMBOL.into(),
            side: Side::Buy,
        },
        quantity,
        entry: Entry {
            when: Condition::AtOrBelow { price: dec(98) },
            limit: None,
            expire_after_minutes: None,
        },
        exit: Exit {
            take_profit_percent: Some(dec(3)),
            stop_loss_percent: Some(dec(3)),
            max_hold_minutes: Some(30),
            limit_offset: None,
        },
        round_trips: Some(2),
    }
}

/// The same rules trade paper and live over the same marks; the live
/// side's orders are waited for until they end before the next mark, so
/// both sides' rules are told the same things. The orders they fire must
/// be the same, each must reach the broker once and as fired, and the live
/// run's journal must fire them again.
async fn rules_fire_alike_everywhere(c: Arc<Ctx>) -> Outcome {
    let rig = rig(&c).await?;
    let marks = MARKS[usize::from(c.seed % 2 == 1)];
    let strategy = dip_buyer(c.cid("rules"), Decimal::from(1 + c.seed % 4));
    let rules = || Rules::new(strategy.clone()).map_err(|e| Failure::new(e.to_string()));
    let me = rig.subject.id.clone();
    let mut paper = Trader::new(me.clone(), Mode::Paper, rules()?);
    let mut live = Trader::new(me, Mode::Live, rules()?);
    let start = rig.path.now();
    for (i, cents) in marks.iter().enumerate() {
        let price = Decimal::new(i64::from(*cents), 2);
        let at = start + chrono::Duration::minutes(10 * i as i64);
        let quoted = BTreeMap::from([(Instrument::equity(SYMBOL), price)]);
        rig.set_paper_price(SYMBOL, price);
        c.venue.set_price(SYMBOL, price).await?;
        paper.step(&rig.path, at, quoted.clone()).await;
        live.step(&rig.path, at, quoted).await;
        let working: Vec<String> = live.working().map(|(_, b)| b.to_string()).collect();
        for id in working {
            c.wait_for(&id, "final", |r| r.status.is_terminal()).await?;
        }
    }
    paper.settle(&rig.path).await;
    live.settle(&rig.path).await;

    let (fired, on_paper) = (live.fired(), paper.fired());
    if let Some(i) = (0..fired.len().max(on_paper.len())).find(|&i| fired.get(i) != on_paper.get(i))
    {
        return Err(Failure::new(format!(
            "the same rules over the same marks fired differently: order {i} is {} live, {} on paper",
            shown(fired.get(i)),
            shown(on_paper.get(i))
        )));
    }
    ensure!(
        live.rules().round_trips() >= 1,
        "the rules never completed a round trip over marks built for one (fired [{}])",
        listed(fired)
    );
    let again = replay(rules()?, live.journal());
    ensure!(
        again == fired,
        "the live run's journal, told to fresh rules, fires [{}], not the run's [{}]",
        listed(&again),
        listed(fired)
    );

    let ledger = c.venue.ledger().await?;
    for fire in fired {
        let Fire::Submit(order) = fire else { continue };
        let cid = &order.client_order_id;
        let taken: Vec<_> = ledger
            .orders
            .iter()
            .filter(|o| o.intent == *cid && o.taken)
            .collect();
        let [o] = taken.as_slice() else {
            return Err(Failure::new(format!(
                "the rules fired {cid} once; the broker took {} orders for it",
                taken.len()
            ))
            .near(cid.clone()));
        };
        ensure!(
            (&o.instrument, o.side, o.quantity, o.limit_price)
                == (
                    &order.instrument,
                    order.side,
                    order.quantity,
                    order.limit_price
                ),
            "the rules fired {cid} as {:?} {} {:?} at {:?}; the broker took {:?} {} {:?} at {:?}",
            order.side,
            order.quantity,
            order.instrument,
            order.limit_price,
            o.side,
            o.quantity,
            o.instrument,
            o.limit_price
        );
    }
    Ok(())
}

fn listed(fires: &[Fire]) -> String {
    fires
        .iter()
        .map(|f| shown(Some(f)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A fired order in a line: `<cid>: Sell 3 AAPL Market`.
fn shown(fire: Option<&Fire>) -> String {
    match fire {
        None => "nothing".into(),
        Some(Fire::Cancel { client_order_id }) => format!("{client_order_id}: cancel"),
        Some(Fire::Submit(o)) => format!(
            "{}: {:?} {} {} {:?}{}",
            o.client_order_id,
            o.side,
            o.quantity,
            o.instrument.underlying(),
            o.order_type,
            o.limit_price
                .map(|p| format!(" at {p}"))
                .unwrap_or_default()
        ),
    }
}
