//! State: positions, account and order lookups agree with the ground truth.

use std::sync::Arc;

use adapters::{BrokerAdapter, Instrument, OrderStatus, Side};

use super::orders::{dec, fill_market, position, resting_buy};
use super::SYMBOL;
use crate::case::{unexpected, Body, Case, Ctx, Group, Outcome};
use crate::ensure;

pub static CASES: &[Case] = &[
    Case {
        id: "positions_reflect_fills",
        group: Group::State,
        about: "positions after buys and sells equal the sum of the fills",
        needs: &[],
        plan: "",
        run: Body::Check(|c| Box::pin(positions_reflect_fills(c))),
    },
    Case {
        id: "account_reflects_fills_and_fees",
        group: Group::State,
        about: "cash and equity after a fill equal the venue's own books",
        needs: &[],
        plan: "",
        run: Body::Check(|c| Box::pin(account_reflects_fills_and_fees(c))),
    },
    Case {
        id: "order_lookup_matches_ledger",
        group: Group::State,
        about: "every order read back agrees with the broker's ledger",
        needs: &[],
        plan: "",
        run: Body::Check(|c| Box::pin(order_lookup_matches_ledger(c))),
    },
];

async fn positions_reflect_fills(c: Arc<Ctx>) -> Outcome {
    fill_market(&c, "buy-1", Side::Buy, dec(4)).await?;
    fill_market(&c, "buy-2", Side::Buy, dec(6)).await?;
    fill_market(&c, "sell-1", Side::Sell, dec(3)).await?;
    let held = position(&c, &Instrument::equity(SYMBOL)).await?;
    ensure!(held == dec(7), "4 + 6 - 3 = 7, the adapter reports {held}");
    Ok(())
}

async fn account_reflects_fills_and_fees(c: Arc<Ctx>) -> Outcome {
    let before = c
        .adapter
        .get_account()
        .await
        .map_err(|e| unexpected("get_account", &e))?;
    ensure!(
        before.account_id == c.adapter.account_id(),
        "get_account answered for {}",
        before.account_id
    );
    let done = fill_market(&c, "buy", Side::Buy, dec(10)).await?;
    let after = c
        .adapter
        .get_account()
        .await
        .map_err(|e| unexpected("get_account", &e))?;
    let ledger = c.venue.ledger().await?;
    let truth = ledger
        .accounts
        .iter()
        .find(|a| a.account_id == after.account_id)
        .ok_or_else(|| format!("the venue has no account {}", after.account_id))?;
    ensure!(
        after.cash == truth.cash,
        "cash: adapter {}, venue {}",
        after.cash,
        truth.cash
    );
    let spent = before.cash - after.cash;
    let notional = done.filled_quantity * done.average_fill_price.unwrap_or_default();
    ensure!(
        spent >= notional && spent - notional <= truth.fees_paid + dec(1),
        "cash fell by {spent} for a fill of {notional} (fees paid {})",
        truth.fees_paid
    );
    Ok(())
}

async fn order_lookup_matches_ledger(c: Arc<Ctx>) -> Outcome {
    fill_market(&c, "filled", Side::Buy, dec(2)).await?;
    let rest = c.submit(&resting_buy(&c, "canceled")).await?;
    c.adapter
        .cancel_order(&rest.broker_order_id)
        .await
        .map_err(|e| unexpected("cancel_order", &e))?;
    c.wait_status(&rest.broker_order_id, OrderStatus::Canceled)
        .await?;
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
            .map_err(|e| unexpected("get_order", &e))?;
        ensure!(
            r.status == o.status,
            "order {}: adapter {:?}, ledger {:?}",
            o.vendor_id,
            r.status,
            o.status
        );
        ensure!(
            r.filled_quantity == o.filled_quantity,
            "order {}: adapter filled {}, ledger {}",
            o.vendor_id,
            r.filled_quantity,
            o.filled_quantity
        );
        // The caller's id, whatever label the vendor's wire carried.
        ensure!(
            r.client_order_id == o.intent,
            "order {}: adapter client id {}, ledger intent {}",
            o.vendor_id,
            r.client_order_id,
            o.intent
        );
    }
    Ok(())
}
