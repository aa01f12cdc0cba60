//! What Plaid keeps beside the institution's data: public tokens waiting to
//! be exchanged, Items (each an access token to one login at one
//! institution), the per-Item rate-limit windows, the webhooks sent, and
//! the counters its ids and request ids are drawn from. One per served
//! model, held by the face (it survives `/_sim/reset`, as Tradier's stream
//! sessions do); every id is derived from the seed-drawn client id, never
//! from entropy.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use mbt::Timestamp;

use super::institution::{default_institution, Institution};
use crate::brokerage::SimBrokerage;
use crate::faults::Operation;
use crate::ids::{stable_alnum, stable_uuid};
use crate::ratelimit::RateLimiter;
use crate::webhook::Delivery;

/// How long a public token may wait for its exchange (§2.1).
const PUBLIC_TOKEN_LIFETIME_MS: i64 = 30 * 60 * 1000;
/// How long the first extraction of investments takes for an Item linked
/// without them and asked with `async_update` (§2.6: "1–2 minutes").
pub const EXTRACTION_MS: i64 = 60_000;

/// A public token from `/sandbox/public_token/create`, not exchanged yet.
#[derive(Debug, Clone)]
pub struct PendingLink {
    pub institution: &'static Institution,
    pub products: Vec<String>,
    pub webhook: Option<String>,
    pub expires_at: Timestamp,
}

/// One Item: a login at an institution, reached with its access token.
#[derive(Debug, Clone)]
pub struct Item {
    pub item_id: String,
    pub institution: &'static Institution,
    /// Products billed so far (investments is added on first use).
    pub products: Vec<String>,
    pub webhook: Option<String>,
    pub created_at: Timestamp,
    /// `/sandbox/item/reset_login`: data requests answer ITEM_LOGIN_REQUIRED.
    pub login_required: bool,
    /// `/item/remove`: the access token no longer reaches it.
    pub removed: bool,
    /// Investments asked for with `async_update` before they were extracted.
    pub investments_ready_at: Option<Timestamp>,
    /// (Plaid's account id, the institution's account number), in the institution's order.
    pub accounts: Vec<(String, String)>,
    /// Institution updates already announced by webhook.
    pub announced: usize,
    pub last_webhook: Option<(Timestamp, String)>,
}

impl Item {
    pub fn has(&self, product: &str) -> bool {
        self.products.iter().any(|p| p == product)
    }

    /// The institution account behind one of the Item's account ids.
    pub fn number_of(&self, account_id: &str) -> Option<&str> {
        self.accounts
            .iter()
            .find(|(id, _)| id == account_id)
            .map(|(_, n)| n.as_str())
    }
}

pub struct State {
    /// What every minted id is derived from (the seed-drawn client id).
    label: String,
    minted: u64,
    requests: u64,
    pub public_tokens: BTreeMap<String, PendingLink>,
    /// By access token.
    pub items: BTreeMap<String, Item>,
    /// Per endpoint: its window per Item.
    limits: BTreeMap<String, RateLimiter>,
    pub outbox: Vec<Delivery>,
}

/// The face's state, shared by its handlers. Lock it before the brokerage.
#[derive(Clone)]
pub struct Plaid(Arc<Mutex<State>>);

impl Plaid {
    /// The state of a fresh model: one Item already linked at the default
    /// institution with investments (the one `raxx-sim serve` prints).
    pub fn new(b: &SimBrokerage) -> Self {
        let creds = b.credentials();
        let label = creds.get("client_id").unwrap_or_default().to_string();
        let mut state = State {
            label,
            minted: 0,
            requests: 0,
            public_tokens: BTreeMap::new(),
            items: BTreeMap::new(),
            limits: BTreeMap::new(),
            outbox: Vec::new(),
        };
        let numbers = b.account_numbers();
        let linked = Item {
            item_id: creds.get("item_id").unwrap_or_default().to_string(),
            institution: default_institution(),
            products: vec!["investments".to_string()],
            webhook: None,
            created_at: b.now(),
            login_required: false,
            removed: false,
            investments_ready_at: None,
            // The connection's own Item names the accounts by the numbers
            // `serve` lists; Items linked later get ids of their own.
            accounts: numbers.iter().map(|n| (n.clone(), n.clone())).collect(),
            announced: 0,
            last_webhook: None,
        };
        let token = creds.get("access_token").unwrap_or_default().to_string();
        state.items.insert(token, linked);
        Self(Arc::new(Mutex::new(state)))
    }

    /// Handlers never panic while holding it, and every change is one
    /// assignment, so a poisoned lock is recovered.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    fn next(&mut self, what: &str) -> String {
        self.minted += 1;
        format!("{what}/{}", self.minted)
    }

    /// Plaid's 15-character request id for the next answer.
    pub fn next_request_id(&mut self) -> String {
        self.requests += 1;
        stable_alnum(&[&self.label, "request", &self.requests.to_string()], 15)
    }

    /// `public-sandbox-<uuid>`.
    pub fn mint_public_token(&mut self) -> String {
        let n = self.next("public");
        format!("public-sandbox-{}", stable_uuid(&[&self.label, &n]))
    }

    /// An access token (`access-sandbox-<uuid>`) and a 37-character Item id.
    pub fn mint_item(&mut self) -> (String, String) {
        let n = self.next("item");
        let token = format!(
            "access-sandbox-{}",
            stable_uuid(&[&self.label, &n, "token"])
        );
        (token, stable_alnum(&[&self.label, &n, "item"], 37))
    }

    /// Counts a request to `bucket` for `item_id` against the profile's
    /// limit of that endpoint; false when the window is used up.
    pub fn allow(&mut self, b: &SimBrokerage, bucket: &str, item_id: &str) -> bool {
        let Some(limit) = b.profile().rate_limits.iter().find(|l| l.bucket == bucket) else {
            return true;
        };
        let limiter = self
            .limits
            .entry(bucket.to_string())
            .or_insert_with(|| RateLimiter::new(vec![limit.clone()]));
        // The limit covers every operation: the bucket is the endpoint.
        limiter
            .count(Operation::Other, item_id, b.now())
            .is_none_or(|s| s.allowed)
    }

    /// Expires public tokens older than their lifetime.
    pub fn expire_public_tokens(&mut self, now: Timestamp) {
        self.public_tokens.retain(|_, l| l.expires_at > now);
    }

    pub fn pending_link(
        institution: &'static Institution,
        products: Vec<String>,
        webhook: Option<String>,
        now: Timestamp,
    ) -> PendingLink {
        PendingLink {
            institution,
            products,
            webhook,
            expires_at: now.plus_millis(PUBLIC_TOKEN_LIFETIME_MS),
        }
    }
}
