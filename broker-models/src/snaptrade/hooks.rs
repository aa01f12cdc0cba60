//! Webhooks (reference §9): what SnapTrade would POST to the partner's one
//! webhook URL, in the shared outbox (`crate::webhook`). The URL is set in
//! SnapTrade's dashboard; here a test sets it with `PUT /_sim/webhooks`
//! (`{"url": "…"}`) and reads the deliveries with `GET /_sim/webhooks`.
//! Nothing is sent while no URL is set, as with no listener configured.
//!
//! Each body is the payload as canonical JSON (keys sorted, no whitespace),
//! and its `Signature` header is base64(HMAC-SHA256(consumer key, that
//! text)), §9.2: what SnapTrade's own receiver recipe recomputes with
//! `json.dumps(payload, separators=(",", ":"), sort_keys=True)`.
//!
//! Sent: `USER_REGISTERED` and `USER_DELETED` (`users`),
//! `CONNECTION_ATTEMPTED` for every attempt finished at the portal
//! (`portal`),
//! `CONNECTION_BROKEN` and `CONNECTION_FIXED` for every break and
//! repair of a connection (`POST /authorizations/{id}/disable`, or
//! `/_sim/connection`), `CONNECTION_DELETED` when the user deletes one,
//! and one `ACCOUNT_HOLDINGS_UPDATED` per account of a connection
//! refreshed with `POST /authorizations/{id}/refresh` and of every
//! connection at SnapTrade's daily sync (§9.3: "sent daily … even if
//! nothing changed or a part failed"; a broken connection's says its sync
//! failed), and `TRADE_UPDATE` (beta) for every change of an order placed
//! through SnapTrade, the order as it stood then in `details.orders` (the
//! V2 record), with the sample's misspelled `webookId` beside `webhookId`.
//! The deprecated `webhookSecret` field is left out: the signature
//! replaces it.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use mbt::Timestamp;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::auth::sign;
use super::view::connection_id;
use crate::brokerage::SimBrokerage;
use crate::brokerage::{BrokerEvent, Change, ConnectionChange};
use crate::control::{bad_request, AsJson, Typed};
use crate::face::Shared;
use crate::ids::stable_uuid;
use crate::profile::Downstream;
use crate::webhook::Delivery;

/// The face's webhook state: one per served model, kept across
/// `/_sim/reset` like Plaid's (the partner's dashboard setting outlives
/// the user's data).
#[derive(Clone, Default)]
pub struct Hooks(Arc<Mutex<Outbox>>);

#[derive(Default)]
pub struct Outbox {
    url: Option<String>,
    sent: Vec<Delivery>,
    /// How many of the brokerage's connection changes were announced.
    announced: usize,
    /// The brokerage's reset count those changes belong to.
    resets: u64,
    /// Daily syncs announced since the model started.
    daily: i64,
    /// The next broker event (an order's change) to announce.
    trades: u64,
}

/// When SnapTrade's daily sync runs, in ms after midnight UTC: the
/// reference says only "a brokerage-dependent time" (§8.1); the model
/// syncs every brokerage at 08:00 UTC, before the US market opens.
const DAILY_SYNC_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// What happened to a connection that is announced, at its moment.
enum Due {
    Change(ConnectionChange),
    DailySync,
    Trade(BrokerEvent),
}

impl Hooks {
    pub fn lock(&self) -> MutexGuard<'_, Outbox> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Outbox {
    /// Announces every break and repair since the last call, each at its
    /// own moment: called before anything else is sent and before the
    /// outbox is read, so the deliveries stay in the order things happened.
    pub fn catch_up(&mut self, b: &SimBrokerage) {
        let changes = b.connection_changes();
        // A reset brokerage starts its history again.
        if self.resets != b.resets() {
            self.resets = b.resets();
            self.announced = 0;
            self.daily = 0;
            self.trades = 0;
        }
        let mut due: Vec<(Timestamp, Due)> = changes[self.announced..]
            .iter()
            .map(|c| (c.at, Due::Change(c.clone())))
            .collect();
        self.announced = changes.len();
        while let Some(at) = self.daily_sync(b) {
            due.push((at, Due::DailySync));
            self.daily = self.daily.saturating_add(1);
        }
        due.extend(
            b.events_since(self.trades)
                .map(|e| (e.time, Due::Trade(e.clone()))),
        );
        self.trades = b.next_event_seq();
        // In the order things happened; a change before a sync at the same moment.
        due.sort_by_key(|(at, _)| *at);
        for (at, what) in due {
            match what {
                Due::Change(change) => self.announce_change(b, change),
                Due::Trade(event) => self.announce_trade(b, &event),
                Due::DailySync => {
                    for d in &b.profile().downstream {
                        match connection_at(changes, &d.slug, at) {
                            Some(Change::Deleted) => {}
                            Some(Change::Broken) => self.announce_holdings(
                                b,
                                d,
                                at,
                                Some("The connection is disabled."),
                            ),
                            Some(Change::Fixed) | None => self.announce_holdings(b, d, at, None),
                        }
                    }
                }
            }
        }
    }

    /// The next daily sync to announce, if it is not after now.
    fn daily_sync(&self, b: &SimBrokerage) -> Option<Timestamp> {
        let start = b.started().millis();
        let first = (start - DAILY_SYNC_MS).div_euclid(DAY_MS).saturating_add(1);
        let at = first
            .saturating_add(self.daily)
            .saturating_mul(DAY_MS)
            .saturating_add(DAILY_SYNC_MS);
        (at <= b.now().millis()).then(|| Timestamp::from_millis(at))
    }

    /// One change of an order placed through SnapTrade, the order as it
    /// stood just after it.
    fn announce_trade(&mut self, b: &SimBrokerage, event: &BrokerEvent) {
        let (Some(o), Some(d)) = (
            b.order(&event.vendor_id),
            b.profile().downstream_of(&event.account),
        ) else {
            return;
        };
        let record = super::view::order_v2_as_of(b, o, &event.state, event.time);
        let extra = json!({
            "accountId": event.account,
            "brokerageId": super::view::brokerage(d).id,
            "brokerageAuthorizationId": connection_id(d),
            "details": { "orders": [record] },
        });
        self.send(b, holder(b), event.time, "TRADE_UPDATE", extra);
    }

    /// One connection broken, repaired or deleted.
    fn announce_change(&mut self, b: &SimBrokerage, change: ConnectionChange) {
        let Some(d) = b
            .profile()
            .downstream
            .iter()
            .find(|d| d.slug == change.brokerage)
        else {
            return;
        };
        let kind = match change.what {
            Change::Broken => "CONNECTION_BROKEN",
            Change::Fixed => "CONNECTION_FIXED",
            Change::Deleted => "CONNECTION_DELETED",
        };
        let extra = match change.what {
            Change::Deleted => json!({
                "brokerageId": super::view::brokerage(d).id,
                "brokerageAuthorizationId": connection_id(d),
            }),
            Change::Broken | Change::Fixed => {
                json!({ "brokerageAuthorizationId": connection_id(d) })
            }
        };
        self.send(b, holder(b), change.at, kind, extra);
    }

    /// A refreshed connection: one holdings update per account, sent even
    /// when the sync failed (§9.3), each part then saying why.
    pub fn holdings_updated(
        &mut self,
        b: &SimBrokerage,
        d: &Downstream,
        at: Timestamp,
        failure: Option<&str>,
    ) {
        self.catch_up(b);
        self.announce_holdings(b, d, at, failure);
    }

    fn announce_holdings(
        &mut self,
        b: &SimBrokerage,
        d: &Downstream,
        at: Timestamp,
        failure: Option<&str>,
    ) {
        let done = json!({ "success": failure.is_none(), "error": failure });
        for account in &d.accounts {
            let extra = json!({
                "accountId": account,
                "brokerageId": super::view::brokerage(d).id,
                "brokerageAuthorizationId": connection_id(d),
                "details": {
                    "total_value": done,
                    "positions": done,
                    "balances": done,
                    "orders": done,
                },
            });
            self.send(b, holder(b), at, "ACCOUNT_HOLDINGS_UPDATED", extra);
        }
    }

    /// A finished attempt at the connection portal, with its result (§9.3's
    /// `connectionAttemptedResult`).
    pub fn connection_attempted(
        &mut self,
        b: &SimBrokerage,
        d: &Downstream,
        at: Timestamp,
        result: &str,
    ) {
        self.catch_up(b);
        let extra = json!({
            "brokerageId": super::view::brokerage(d).id,
            "connectionAttemptedResult": result,
        });
        self.send(b, holder(b), at, "CONNECTION_ATTEMPTED", extra);
    }

    /// A user registered or deleted (no fields of its own).
    pub fn user_event(&mut self, b: &SimBrokerage, user: &str, kind: &str, at: Timestamp) {
        self.catch_up(b);
        self.send(b, user, at, kind, json!({}));
    }

    /// Signs and queues one event about `user` to the partner's URL, if one is set.
    fn send(&mut self, b: &SimBrokerage, user: &str, at: Timestamp, kind: &str, extra: Value) {
        let Some(url) = self.url.clone() else {
            return;
        };
        let creds = b.credentials();
        let client = creds.get("client_id").unwrap_or_default();
        let mut payload = Map::new();
        let id = stable_uuid(&["snaptrade-webhook", client, &self.sent.len().to_string()]);
        // SnapTrade's own TRADE_* sample carries the id twice, once misspelled.
        if kind.starts_with("TRADE_") {
            payload.insert("webookId".into(), id.clone().into());
        }
        payload.insert("webhookId".into(), id.into());
        payload.insert("clientId".into(), client.into());
        payload.insert("eventTimestamp".into(), timestamp(at).into());
        payload.insert("userId".into(), user.into());
        payload.insert("eventType".into(), kind.into());
        if let Value::Object(more) = extra {
            payload.extend(more);
        }
        // serde_json's map is sorted and `to_string` is compact: the canonical form.
        let body = Value::Object(payload).to_string();
        let signature = sign(creds.get("consumer_key").unwrap_or_default(), &body);
        let headers = [
            ("Content-Type", "application/json"),
            ("Signature", signature.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        self.sent.push(Delivery { url, headers, body });
    }
}

/// How `brokerage`'s connection stood at `at`: its last change by then
/// (None: as it was connected).
fn connection_at(changes: &[ConnectionChange], brokerage: &str, at: Timestamp) -> Option<Change> {
    changes
        .iter()
        .rev()
        .find(|c| c.brokerage == brokerage && c.at <= at)
        .map(|c| c.what)
}

/// The account holder: the user every connection belongs to.
fn holder(b: &SimBrokerage) -> &str {
    b.credentials().get("user_id").unwrap_or_default()
}

/// `2022-05-31T11:16:54.658533+00:00`: the webhooks' own format (§9.1).
fn timestamp(t: Timestamp) -> String {
    t.to_datetime()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// `GET` and `PUT /_sim/webhooks`, behind the control token.
pub fn routes(shared: &Shared) -> Router {
    crate::webhook::outbox_routes(shared, get(outbox).put(set_url))
}

async fn outbox(
    State(s): State<Shared>,
    Extension(hooks): Extension<Hooks>,
) -> Json<Vec<Delivery>> {
    let mut b = s.lock();
    b.sync();
    let mut o = hooks.lock();
    o.catch_up(&b);
    Json(o.sent.clone())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Listener {
    url: String,
}

/// Where webhooks go from now on; what happened before is not resent.
async fn set_url(
    State(s): State<Shared>,
    Extension(hooks): Extension<Hooks>,
    Typed(body, _): Typed<AsJson>,
) -> Response {
    let url = serde_json::from_slice::<Listener>(&body)
        .ok()
        .map(|l| l.url)
        .filter(|u| crate::webhook::is_web_url(u));
    let Some(url) = url else {
        return bad_request("expected {\"url\": \"http(s)://…\"}");
    };
    let b = s.lock();
    let mut o = hooks.lock();
    o.catch_up(&b);
    o.url = Some(url);
    Json(json!({ "ok": true })).into_response()
}
