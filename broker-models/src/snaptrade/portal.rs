//! The connection portal (reference §4.2, §12.2): `POST /snapTrade/login`
//! answers the portal's URL and a session id, valid five minutes. The
//! portal itself is a web page the user fills in; here a test plays the
//! user with `POST /_sim/portal` (`{"sessionId", "outcome"}`, outcome
//! `SUCCESS`, `ERROR` or `ABANDONED`), which answers what the partner's app
//! would see: the redirect with its `status` query, and the connection.
//!
//! What a success does follows SnapTrade's rules: `reconnect=<id>` repairs
//! that connection and keeps its id and accounts (`CONNECTION_FIXED`);
//! connecting a brokerage the user already holds returns the existing
//! connection (de-duplication), repaired if it was broken. Every finished
//! attempt is announced by `CONNECTION_ATTEMPTED` with its result. A
//! session is used once; one finished after five minutes fails as the
//! portal's expired session (`1006`, `AUTH_EXPIRED`). Connecting a
//! brokerage the user deleted would make a new connection with new ids,
//! which the model's fixed connections cannot be: refused loudly.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::accounts::downstream_by_connection;
use super::auth::UserCall;
use super::errors::SnapTradeError;
use super::handed_out::{Found, HandedOut};
use super::hooks::Hooks;
use super::view::{brokerage, connection_id};
use crate::brokerage::SimBrokerage;
use crate::control::{bad_request, AsJson, Typed};
use crate::face::Shared;
use crate::ids::stable_uuid;
use crate::profile::Downstream;
use crate::webhook::is_web_url;

/// Where the portal lives; the model serves no page there.
const PORTAL: &str = "https://app.snaptrade.com/snapTrade/redeemToken";
/// Where the user lands after the portal when the partner set no
/// `customRedirect` (the partner's dashboard setting; none in the model).
const DEFAULT_REDIRECT: &str = "https://partner.example/snaptrade/callback";

/// The portal sessions open ("the returned URL expires in 5 minutes").
pub type Portal = HandedOut<Session>;

pub struct Session {
    /// The brokerage the login named (skipping the portal's picker).
    broker: Option<String>,
    /// The connection to repair.
    reconnect: Option<String>,
    redirect: String,
}

/// `POST /snapTrade/login`'s body: every field optional (§4.2). The
/// page's looks are typed (a wrong type is refused) but change nothing
/// the API answers.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Login {
    broker: Option<String>,
    custom_redirect: Option<String>,
    reconnect: Option<String>,
    connection_type: Option<String>,
    locale: Option<String>,
    connection_portal_version: Option<String>,
    #[serde(rename = "immediateRedirect")]
    _immediate_redirect: Option<bool>,
    #[serde(rename = "showCloseButton")]
    _show_close_button: Option<bool>,
    #[serde(rename = "darkMode")]
    _dark_mode: Option<bool>,
}

/// `POST /snapTrade/login`: the portal's URL and its session.
pub async fn login(
    State(s): State<Shared>,
    Extension(portal): Extension<Portal>,
    UserCall(call): UserCall,
) -> Result<Json<Value>, SnapTradeError> {
    let form: Login = if call.body.is_empty() {
        Login::default()
    } else {
        call.form::<Option<Login>>()?.unwrap_or_default()
    };
    if let Some(l) = &form.locale {
        let l = l.to_ascii_lowercase().replace('_', "-");
        if l != "en" && l != "pt-br" {
            return Err(SnapTradeError::invalid(format!(
                "Unable to verify data sent: locale {l:.10} is not one of en, pt-BR"
            )));
        }
    }
    if let Some(v) = &form.connection_portal_version {
        if !matches!(v.as_str(), "v2" | "v3" | "v4") {
            return Err(SnapTradeError::invalid(format!(
                "Unable to verify data sent: connectionPortalVersion {v:.10} is not one of v2, v3, v4"
            )));
        }
    }
    let trade = match form.connection_type.as_deref() {
        None | Some("read") | Some("trade-if-available") => false,
        Some("trade") => true,
        Some(other) => {
            return Err(SnapTradeError::invalid(format!(
                "Unable to verify data sent: connectionType {other:.20} is not one of read, trade, trade-if-available"
            )))
        }
    };
    let redirect = match form.custom_redirect {
        Some(url) if is_web_url(&url) => url,
        Some(url) => {
            return Err(SnapTradeError::invalid(format!(
                "Unable to verify data sent: customRedirect {url:.60} is not a URL"
            )))
        }
        None => DEFAULT_REDIRECT.to_string(),
    };
    let b = s.lock();
    let broker = match form.broker {
        None => None,
        Some(slug) => {
            let d = b
                .profile()
                .downstream
                .iter()
                .find(|d| d.slug.eq_ignore_ascii_case(&slug))
                .ok_or_else(|| {
                    SnapTradeError::invalid(format!(
                        "Unable to verify data sent: no brokerage {slug:.40}"
                    ))
                })?;
            // "With connectionType=trade the portal lists only trading-capable brokerages."
            if trade && !d.trading {
                return Err(SnapTradeError::invalid(format!(
                    "Unable to verify data sent: {} does not offer trading connections",
                    d.name
                )));
            }
            Some(d.slug.clone())
        }
    };
    let reconnect = match form.reconnect {
        None => None,
        Some(id) => Some(connection_id(&downstream_by_connection(&b, &id)?)),
    };
    let session_id = portal.lock().hand_out(
        &b,
        "snaptrade-portal-session",
        Session {
            broker,
            reconnect,
            redirect,
        },
    );
    let client = b.credentials().get("client_id").unwrap_or_default();
    let token = stable_uuid(&["snaptrade-portal-token", &session_id]);
    Ok(Json(json!({
        "redirectURI": format!("{PORTAL}?clientId={client}&token={token}&connectionPortalVersion=v4"),
        "sessionId": session_id,
    })))
}

/// `POST /_sim/portal`, behind the control token.
pub fn routes(shared: &Shared) -> Router {
    Router::new()
        .route("/_sim/portal", post(finish))
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            crate::control::guard,
        ))
        .with_state(shared.clone())
}

/// How the user left the portal (`/_sim/portal`'s body).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Finish {
    #[serde(rename = "sessionId")]
    session_id: String,
    outcome: Outcome,
    /// The brokerage the user picked, when the login named none.
    #[serde(default)]
    broker: Option<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
enum Outcome {
    Success,
    /// The brokerage refused the user's credentials (`1066`/403).
    Error,
    Abandoned,
}

/// The user finished (or left) the portal: what the partner's redirect
/// says, and the connection it names on success.
async fn finish(
    State(s): State<Shared>,
    Extension(portal): Extension<Portal>,
    Extension(hooks): Extension<Hooks>,
    Typed(body, _): Typed<AsJson>,
) -> Response {
    let Ok(f) = serde_json::from_slice::<Finish>(&body) else {
        return bad_request(
            "expected {\"sessionId\": \"…\", \"outcome\": \"SUCCESS\"|\"ERROR\"|\"ABANDONED\", \"broker\"?: \"SLUG\"}",
        );
    };
    let mut b = s.lock();
    b.sync();
    let mut sessions = portal.lock();
    let (session, expired) = match sessions.find(&b, &f.session_id) {
        Some(Found::Good(s)) => (s, false),
        Some(Found::Expired(s)) => (s, true),
        None => {
            return bad_request(
                "no portal session open with that sessionId (used, or never opened)",
            )
        }
    };
    let Some(d) = picked(&b, session, f.broker.as_deref()) else {
        return bad_request(
            "the login named no brokerage and none was picked (\"broker\"), or it is not behind SnapTrade",
        );
    };
    if f.outcome == Outcome::Success && b.connection_deleted_at(&d.slug).is_some() {
        return bad_request(
            "connecting a brokerage again after its connection was deleted makes a new connection, which is not simulated by raxx-sim",
        );
    }
    let Some(session) = sessions.take(&f.session_id) else {
        return bad_request("no portal session open with that sessionId");
    };
    let now = b.now();
    let mut hooks = hooks.lock();
    hooks.catch_up(&b);
    let query = match (f.outcome, expired) {
        (Outcome::Abandoned, _) => "status=ABANDONED".to_string(),
        (_, true) => {
            hooks.connection_attempted(&b, &d, now, "AUTH_EXPIRED");
            "status=ERROR&status_code=400&error_code=1006".to_string()
        }
        (Outcome::Error, false) => {
            hooks.connection_attempted(&b, &d, now, "INVALID_CREDENTIALS");
            "status=ERROR&status_code=403&error_code=1066".to_string()
        }
        (Outcome::Success, false) => {
            hooks.connection_attempted(&b, &d, now, "SUCCESS");
            // The same login again (or a reconnect): the connection there
            // is, repaired.
            if let Some(account) = d.accounts.first() {
                let _ = b.set_connection_broken(account, false);
            }
            hooks.catch_up(&b);
            format!("status=SUCCESS&connection_id={}", connection_id(&d))
        }
    };
    let sep = if session.redirect.contains('?') {
        '&'
    } else {
        '?'
    };
    let connection = (f.outcome == Outcome::Success && !expired).then(|| connection_id(&d));
    Json(json!({
        "redirect": format!("{}{sep}{query}", session.redirect),
        "connection_id": connection,
        "brokerage": brokerage(&d).slug,
    }))
    .into_response()
}

/// The brokerage the session ends with: the reconnected connection's, the
/// login's, or the one the user picked.
fn picked(b: &SimBrokerage, session: &Session, picked: Option<&str>) -> Option<Downstream> {
    let downstream = &b.profile().downstream;
    if let Some(id) = &session.reconnect {
        return downstream.iter().find(|d| &connection_id(d) == id).cloned();
    }
    let slug = session.broker.as_deref().or(picked)?;
    downstream
        .iter()
        .find(|d| d.slug.eq_ignore_ascii_case(slug))
        .cloned()
}
