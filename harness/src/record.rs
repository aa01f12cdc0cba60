//! Records every exchange on a simulated broker's wire: into the trace as
//! text, and as structured [`Exchange`]s that invariants check (how many
//! orders reached the broker, whether a rate limit was respected). The
//! `/_sim/` control surface is the harness's own and is not recorded.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use broker_models::{Model, Shared};

use crate::trace::{Actor, Trace};

/// The largest body the recorder reads; broker requests and answers are small.
const MAX_RECORDED_BODY: usize = 4 * 1024 * 1024;

/// One request to a broker model and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub broker: String,
    pub at: Duration,
    pub method: String,
    pub path: String,
    /// None when the connection was dropped instead of answered.
    pub status: Option<u16>,
}

/// Every exchange of a world, shared by its broker hosts; and the intent
/// the client is submitting now, which the recorder hands each model with
/// every request (see `intents`).
#[derive(Debug, Clone, Default)]
pub struct WireLog {
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    intent: Arc<Mutex<String>>,
}

impl WireLog {
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn push(&self, e: Exchange) {
        self.exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e);
    }

    /// The client starts submitting intent `client_order_id`.
    pub fn submitting(&self, client_order_id: &str) {
        *self.intent.lock().unwrap_or_else(|p| p.into_inner()) = client_order_id.to_string();
    }

    fn intent(&self) -> String {
        self.intent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[derive(Clone)]
struct Recorder {
    broker: String,
    trace: Trace,
    wire: WireLog,
    /// The model, which knows every secret it issued (tokens granted
    /// mid-run included), so that none reaches the trace.
    shared: Shared,
}

/// A model's router with every exchange recorded.
pub fn recorded(model: Model, trace: Trace, wire: WireLog) -> Router {
    model.router.layer(axum::middleware::from_fn_with_state(
        Recorder {
            broker: model.vendor.slug.to_string(),
            shared: model.shared,
            trace,
            wire,
        },
        record,
    ))
}

fn printable(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    format!(" {}", String::from_utf8_lossy(body))
}

async fn record(State(r): State<Recorder>, req: Request, next: Next) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.to_string());
    if path.starts_with("/_sim/") {
        return next.run(req).await;
    }
    // In process, beside the wire: no network fault delays or drops it.
    r.shared.lock().declare_intent(&r.wire.intent());
    let method = req.method().to_string();
    let at = r.trace.now();
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, MAX_RECORDED_BODY).await.unwrap_or_default();
    r.trace.record_at(
        at,
        Actor::Wire,
        format!("{} <- {method} {path}{}", r.broker, printable(&body)),
    );
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    r.trace
        .add_secrets(r.shared.lock().secrets().iter().map(String::as_str));
    let status = response.status().as_u16();
    let mut exchange = Exchange {
        broker: r.broker.clone(),
        at,
        method,
        path,
        status: Some(status),
    };
    if status == 101 {
        r.trace
            .record(Actor::Wire, format!("{} -> 101 (stream opened)", r.broker));
        r.wire.push(exchange);
        return response;
    }
    let (parts, body) = response.into_parts();
    let answered = to_bytes(body, MAX_RECORDED_BODY).await;
    match answered {
        Ok(bytes) => {
            r.trace.record(
                Actor::Wire,
                format!("{} -> {status}{}", r.broker, printable(&bytes)),
            );
            r.wire.push(exchange);
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(_) => {
            r.trace
                .record(Actor::Wire, format!("{} -> (connection dropped)", r.broker));
            exchange.status = None;
            r.wire.push(exchange);
            broker_models::face::dropped_connection()
        }
    }
}
