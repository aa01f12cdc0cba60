//! Invariants checked after every case and seed, against the venue's
//! ground truth (the model's ledger, its fills, its wire), never against
//! what the adapter says about itself.

use std::collections::BTreeMap;

use adapters::{AdapterError, Description, ErrorKind, Position};
use broker_models::brokerage::Ledger;
use rust_decimal::Decimal;

use crate::record::Exchange;
use crate::venue::Fill;

/// What the harness gathered at the end of a case.
pub struct Evidence<'a> {
    pub account: &'a str,
    pub describe: &'a Description,
    pub ledger: &'a Ledger,
    pub fills: &'a [Fill],
    /// The adapter's own positions, read after the case (faults cleared).
    pub positions: &'a Result<Vec<Position>, AdapterError>,
    /// Client order ids the case asked the adapter to submit.
    pub intents: &'a [String],
    /// Adapter answers that carried a credential.
    pub leaks: &'a [String],
    pub wire: &'a [Exchange],
    /// The rendered trace (already scrubbed) and the secrets it must not hold.
    pub trace_text: &'a str,
    pub secrets: &'a [String],
}

/// Every invariant, in a stable order; each violation is one message.
pub fn check(e: &Evidence) -> Vec<String> {
    let mut v = Vec::new();
    one_order_per_intent(e, &mut v);
    fills_are_sane(e, &mut v);
    positions_match_ledger(e, &mut v);
    rate_limits_respected(e, &mut v);
    read_only_never_trades(e, &mut v);
    no_secret_leaks(e, &mut v);
    v
}

/// The invariant names, for reports.
pub const NAMES: [&str; 6] = [
    "one broker order per client intent",
    "filled <= ordered, fill price > 0, fill sign matches side",
    "adapter positions equal the ledger's",
    "documented rate limits respected",
    "no order reached a read-only connection",
    "no secret in a trace, log or error",
];

fn one_order_per_intent(e: &Evidence, v: &mut Vec<String>) {
    // Every submission that reached the broker, refused ones included, by
    // the intent it serves (the harness declared it beside the wire, so
    // however the adapter labels it); only accepted ones that were not
    // replaced count as orders. The exits of a group belong to their
    // entry's intent.
    let mut per_intent: BTreeMap<&str, (Vec<&str>, usize)> = BTreeMap::new();
    for o in e
        .ledger
        .orders
        .iter()
        .filter(|o| o.account == e.account && o.parent.is_none())
    {
        let entry = per_intent.entry(o.intent.as_str()).or_default();
        entry.0.push(o.vendor_id.as_str());
        // A replaced order lives on in its replacement: one intent, one live order.
        entry.1 += usize::from(o.taken && o.status != mbt::OrderStatus::Replaced);
    }
    for (cid, (ids, accepted)) in &per_intent {
        if *accepted > 1 {
            v.push(format!(
                "intent {cid} became {accepted} broker orders: {}",
                ids.join(", ")
            ));
        }
        if !e.intents.iter().any(|i| i == cid) {
            v.push(format!(
                "the broker received {} for intent {cid:?}, which the case never asked for",
                ids.join(", ")
            ));
        }
    }
}

fn fills_are_sane(e: &Evidence, v: &mut Vec<String>) {
    for o in &e.ledger.orders {
        if o.filled_quantity > o.quantity {
            v.push(format!(
                "order {} filled {} of {}",
                o.vendor_id, o.filled_quantity, o.quantity
            ));
        }
        if o.filled_quantity > Decimal::ZERO
            && o.average_fill_price.is_none_or(|p| p <= Decimal::ZERO)
        {
            v.push(format!(
                "order {} filled {} at average price {:?}",
                o.vendor_id, o.filled_quantity, o.average_fill_price
            ));
        }
    }
    // The side of the order a fill belongs to, when the fill is in the
    // order's own instrument (a multi-leg order's legs trade other sides).
    let side_of = |id: &str, instrument: &mbt::Instrument| {
        e.ledger
            .orders
            .iter()
            .find(|o| o.vendor_id == id && &o.instrument == instrument)
            .map(|o| o.side)
    };
    let mut position: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for f in e.fills {
        if f.price <= Decimal::ZERO || f.quantity <= Decimal::ZERO {
            v.push(format!(
                "fill of order {}: {} at {}",
                f.order, f.quantity, f.price
            ));
        }
        let key = (f.account.clone(), f.instrument.to_string());
        let before = position.get(&key).copied().unwrap_or_default();
        let side = f.side.or_else(|| side_of(&f.order, &f.instrument));
        match (f.position_after, side) {
            (Some(after), side) => {
                let moved = after - before;
                if let Some(side) = side.filter(|s| moved != s.sign() * f.quantity) {
                    v.push(format!(
                        "fill of order {} ({side:?} {}) moved the position by {moved}",
                        f.order, f.quantity
                    ));
                }
                position.insert(key, after);
            }
            (None, _) => {
                if let (Some(fs), Some(os)) = (f.side, side_of(&f.order, &f.instrument)) {
                    if fs != os {
                        v.push(format!(
                            "fill of order {} is a {fs:?}, the order a {os:?}",
                            f.order
                        ));
                    }
                }
            }
        }
    }
}

fn positions_match_ledger(e: &Evidence, v: &mut Vec<String>) {
    let Some(account) = e.ledger.accounts.iter().find(|a| a.account_id == e.account) else {
        v.push(format!("the venue has no account {}", e.account));
        return;
    };
    let positions = match e.positions {
        Ok(p) => p,
        // The vendor itself says the grant is gone (a dead refresh token,
        // a removed Item: authorize again; a deleted aggregator connection:
        // the account went with it): nothing can be read, rightly.
        Err(err)
            if matches!(err.kind, ErrorKind::ReauthRequired | ErrorKind::NotFound)
                && e.ledger.revoked_for(e.account) =>
        {
            return
        }
        Err(err) => {
            v.push(format!("get_positions failed after the case: {err}"));
            return;
        }
    };
    let truth: BTreeMap<String, (Decimal, Decimal)> = account
        .positions
        .iter()
        .filter(|p| !p.quantity.is_zero())
        .map(|p| (p.instrument.to_string(), (p.quantity, p.average_price)))
        .collect();
    let seen: BTreeMap<String, (Decimal, Decimal)> = positions
        .iter()
        .filter(|p| !p.quantity.is_zero())
        .map(|p| (p.instrument.to_string(), (p.quantity, p.average_price)))
        .collect();
    for p in positions.iter().filter(|p| p.account_id != e.account) {
        v.push(format!(
            "position in {} reported under account {} (expected {})",
            p.instrument, p.account_id, e.account
        ));
    }
    for (inst, (q, avg)) in &truth {
        match seen.get(inst) {
            None => v.push(format!(
                "the ledger holds {q} {inst}; the adapter reports none"
            )),
            Some((sq, savg)) => {
                if sq != q {
                    v.push(format!("{inst}: ledger {q}, adapter {sq}"));
                }
                // Vendors round average prices for display; a cent is the
                // most any of them rounds away.
                if (savg - avg).abs() > Decimal::new(1, 2) {
                    v.push(format!("{inst}: ledger average {avg}, adapter {savg}"));
                }
            }
        }
    }
    for (inst, (sq, _)) in &seen {
        if !truth.contains_key(inst) {
            v.push(format!(
                "the adapter reports {sq} {inst}; the ledger holds none"
            ));
        }
    }
}

/// Read from the broker's own record of requests that arrived inside a
/// wait it asked for (its clock, its 429s): the same in a simulated world,
/// over the bridge on the wall clock, and in scenarios.
fn rate_limits_respected(e: &Evidence, v: &mut Vec<String>) {
    let breaches = &e.ledger.throttle_breaches;
    if let Some(first) = breaches.first() {
        let ms = first.wait_until.millis() - first.at.millis();
        v.push(format!(
            "{}: {} request(s) sent inside a wait the broker asked for after a 429 (first: {} with {ms}ms of the wait left)",
            e.ledger.broker,
            breaches.len(),
            first.request
        ));
    }
}

fn read_only_never_trades(e: &Evidence, v: &mut Vec<String>) {
    if e.describe.capabilities.read_only && !e.ledger.orders.is_empty() {
        v.push(format!(
            "{} orders reached read-only connection {}",
            e.ledger.orders.len(),
            e.describe.name
        ));
    }
    // Recorded by a read-only model whatever it answered: whoever sent one
    // reached for an order where there is no way to place one.
    if let Some(first) = e.ledger.order_attempts.first() {
        v.push(format!(
            "{} order-shaped request(s) reached read-only broker {}, the first {} {}",
            e.ledger.order_attempts.len(),
            e.ledger.broker,
            first.method,
            first.path
        ));
    }
}

fn no_secret_leaks(e: &Evidence, v: &mut Vec<String>) {
    v.extend(e.leaks.iter().cloned());
    if e.secrets.iter().any(|s| e.trace_text.contains(s.as_str())) {
        v.push("a credential reached the trace".into());
    }
}
