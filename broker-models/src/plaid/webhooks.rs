//! Webhooks (reference §6): what Plaid would POST to an Item's webhook URL,
//! kept in the shared outbox (`crate::webhook`) that a test reads at
//! `GET /_sim/webhooks`.
//! Each delivery has the raw body and a `Plaid-Verification` header shaped
//! like Plaid's JWS (ES256 header with a `kid`; claims `iat` and
//! `request_body_sha256`, the body's real SHA-256). The signature is not an
//! ES256 signature: the model holds no P-256 key, so a receiver that
//! verifies signatures cannot accept these (the claims can be checked).
//!
//! Sent: `HOLDINGS` and `INVESTMENTS_TRANSACTIONS` `DEFAULT_UPDATE` for each
//! institution update after the Item was linked, `ITEM: ERROR` on
//! `reset_login`, `INVESTMENTS_TRANSACTIONS: HISTORICAL_UPDATE` when an
//! asynchronous first extraction is done, and whatever `fire_webhook` asks.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use mbt::Timestamp;
use sha2::{Digest, Sha256};

use super::errors::PlaidError;
use super::state::{Plaid, State as PlaidState};
use super::wire::{Counters, Webhook};
use crate::brokerage::SimBrokerage;
use crate::face::Shared;
use crate::webhook::Delivery;

/// The key id the JWS header names.
const KID: &str = "6c5516e1-92dc-479e-a8ff-5a51992e0001";

/// `GET /_sim/webhooks`: every delivery so far, oldest first; a control
/// route, behind the control token like the others.
pub fn routes(shared: &Shared) -> Router {
    crate::webhook::outbox_routes(shared, get(outbox))
}

async fn outbox(
    State(s): State<Shared>,
    Extension(plaid): Extension<Plaid>,
) -> Json<Vec<Delivery>> {
    let mut state = plaid.lock();
    let mut b = s.lock();
    b.sync();
    announce_updates(&mut state, &b);
    Json(state.outbox.clone())
}

/// Sends `body` to the Item's webhook URL, if it has one.
fn deliver(state: &mut PlaidState, access_token: &str, at: Timestamp, webhook: Webhook) {
    let Some(item) = state.items.get_mut(access_token) else {
        return;
    };
    let Some(url) = item.webhook.clone() else {
        return;
    };
    item.last_webhook = Some((at, webhook.webhook_code.clone()));
    let Ok(body) = serde_json::to_string(&webhook) else {
        return;
    };
    let headers = BTreeMap::from([
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Plaid-Verification".to_string(), verification(&body, at)),
    ]);
    state.outbox.push(Delivery { url, headers, body });
}

/// The JWS-shaped `Plaid-Verification` header of a body sent at `at`.
fn verification(body: &str, at: Timestamp) -> String {
    let digest = hex(&Sha256::digest(body.as_bytes()));
    let header = serde_json::json!({"alg": "ES256", "kid": KID, "typ": "JWT"}).to_string();
    let claims =
        serde_json::json!({"iat": at.millis() / 1000, "request_body_sha256": digest}).to_string();
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    // 64 bytes, as long as an ES256 signature, and not one (see above).
    let mut signature = Sha256::digest(signing_input.as_bytes()).to_vec();
    signature.extend(Sha256::digest(&signature));
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn webhook(item_id: &str, kind: &'static str, code: &str, counters: Counters) -> Webhook {
    Webhook {
        webhook_type: kind,
        webhook_code: code.to_string(),
        item_id: item_id.to_string(),
        error: None,
        counters,
        environment: "sandbox",
    }
}

/// Announces every institution update since each Item last heard (the
/// institution's postings after the Item was linked).
pub fn announce_updates(state: &mut PlaidState, b: &SimBrokerage) {
    let Some(holder) = b.holder() else {
        return;
    };
    let snapshots = holder.snapshots();
    let tokens: Vec<String> = state
        .items
        .iter()
        .filter(|(_, i)| !i.removed && i.webhook.is_some() && i.has("investments"))
        .map(|(t, _)| t.clone())
        .collect();
    for token in tokens {
        let Some(item) = state.items.get_mut(&token) else {
            continue;
        };
        let from = item.announced;
        item.announced = snapshots.len();
        let item_id = item.item_id.clone();
        let numbers: Vec<String> = item.accounts.iter().map(|(_, n)| n.clone()).collect();
        for snap in snapshots.iter().skip(from) {
            let held = snap
                .accounts
                .iter()
                .filter(|v| numbers.contains(&v.account_id))
                .map(|v| v.positions.len())
                .sum();
            let posted = holder
                .activity()
                .iter()
                .filter(|a| a.time == snap.time && numbers.contains(&a.account))
                .count();
            let holdings = Counters::Holdings {
                new_holdings: 0,
                updated_holdings: held,
            };
            let transactions = Counters::Transactions {
                new_investments_transactions: posted,
                cancelled_investments_transactions: 0,
            };
            let at = snap.time;
            deliver(
                state,
                &token,
                at,
                webhook(&item_id, "HOLDINGS", "DEFAULT_UPDATE", holdings),
            );
            let w = webhook(
                &item_id,
                "INVESTMENTS_TRANSACTIONS",
                "DEFAULT_UPDATE",
                transactions,
            );
            deliver(state, &token, at, w);
        }
    }
}

/// The asynchronous first extraction of an Item's investments is done.
pub fn historical_update(state: &mut PlaidState, b: &SimBrokerage, access_token: &str) {
    let Some(item) = state.items.get(access_token) else {
        return;
    };
    let item_id = item.item_id.clone();
    let numbers: Vec<String> = item.accounts.iter().map(|(_, n)| n.clone()).collect();
    let count = b.holder().map_or(0, |h| {
        h.activity()
            .iter()
            .filter(|a| numbers.contains(&a.account))
            .count()
    });
    let counters = Counters::Transactions {
        new_investments_transactions: count,
        cancelled_investments_transactions: 0,
    };
    let w = webhook(
        &item_id,
        "INVESTMENTS_TRANSACTIONS",
        "HISTORICAL_UPDATE",
        counters,
    );
    deliver(state, access_token, b.now(), w);
}

/// `ITEM: ERROR` with the Item's ITEM_LOGIN_REQUIRED (its HTTP status inside).
pub fn item_error(state: &mut PlaidState, access_token: &str, at: Timestamp) {
    let Some(item) = state.items.get(access_token) else {
        return;
    };
    let mut w = webhook(&item.item_id, "ITEM", "ERROR", Counters::None {});
    w.error = Some(PlaidError::item_login_required().body(None, true));
    deliver(state, access_token, at, w);
}

/// `/sandbox/item/fire_webhook`: the codes Plaid's Sandbox fires for the
/// investments flow; others are refused as an invalid field.
pub fn fire(
    state: &mut PlaidState,
    b: &SimBrokerage,
    access_token: &str,
    kind: Option<&str>,
    code: &str,
) -> Result<(), PlaidError> {
    let Some(item) = state.items.get(access_token) else {
        return Err(PlaidError::invalid_access_token());
    };
    let item_id = item.item_id.clone();
    let w = match (kind.unwrap_or("TRANSACTIONS"), code) {
        ("HOLDINGS", "DEFAULT_UPDATE") => {
            let held = b
                .holder()
                .and_then(|h| h.snapshot_at(b.now()))
                .map_or(0, |s| s.accounts.iter().map(|v| v.positions.len()).sum());
            let counters = Counters::Holdings {
                new_holdings: 0,
                updated_holdings: held,
            };
            webhook(&item_id, "HOLDINGS", code, counters)
        }
        ("INVESTMENTS_TRANSACTIONS", "DEFAULT_UPDATE" | "HISTORICAL_UPDATE") => {
            let counters = Counters::Transactions {
                new_investments_transactions: 0,
                cancelled_investments_transactions: 0,
            };
            webhook(&item_id, "INVESTMENTS_TRANSACTIONS", code, counters)
        }
        ("ITEM", "NEW_ACCOUNTS_AVAILABLE" | "LOGIN_REPAIRED" | "PENDING_DISCONNECT") => {
            webhook(&item_id, "ITEM", code, Counters::None {})
        }
        _ => {
            return Err(PlaidError::invalid_field(
                "webhook_code is not one the Sandbox fires for this webhook_type",
            ))
        }
    };
    deliver(state, access_token, b.now(), w);
    Ok(())
}
