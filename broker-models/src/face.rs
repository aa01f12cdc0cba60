//! What every vendor's wire face shares: the trait a face implements to
//! render the broker-level answers in its vendor's words, and the middleware
//! that applies fault decisions and documented rate limits in front of any
//! face's routes.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;
use tokio::task::JoinHandle;
use tower::Service;

use crate::brokerage::SimBrokerage;
use crate::faults::{Decision, Operation, OutageMode, Outcome};
use crate::ratelimit::RateState;

/// The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1),
/// how every OAuth-style face is called.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// A brokerage shared by a face's handlers and the control surface. The lock
/// is never held across an await.
#[derive(Clone)]
pub struct Shared(Arc<Mutex<SimBrokerage>>);

impl Shared {
    pub fn new(b: SimBrokerage) -> Self {
        Self(Arc::new(Mutex::new(b)))
    }

    /// Locks the brokerage. A handler that panicked while holding the lock
    /// cannot have left it half-written in a way later calls care about
    /// (every mutation goes through the engine's checked transitions), so a
    /// poisoned lock is recovered rather than turned into a second panic.
    pub fn lock(&self) -> MutexGuard<'_, SimBrokerage> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits `simulated` time of the model's clock (shorter in real time
    /// when the model runs faster than real time).
    pub async fn sleep(&self, simulated: Duration) {
        let real = self.lock().real(simulated);
        tokio::time::sleep(real).await;
    }
}

/// How long a hang or a lost response holds the connection before dropping it:
/// longer than any client's timeout (the bridge's default is 2 s), no longer than needed.
pub const HOLD: Duration = Duration::from_millis(5_000);

/// A vendor's rendering of the answers every face must be able to give.
pub trait WireFace: Send + Sync + 'static {
    /// Whether the vendor's 429 tells the client how long to wait (a
    /// Retry-After or a reset time). A vendor that names no wait asks for
    /// none, so the model records no request as coming inside one.
    const NAMES_ITS_WAIT: bool = true;
    /// The vendor's routes (the fault layer and control surface are added around them).
    fn routes() -> axum::Router<Shared>;
    /// The vendor-neutral operation a request performs.
    fn classify(method: &Method, path: &str) -> Operation;
    /// Whether an order-shaped request to `path` reaches a connection that
    /// cannot trade: the whole broker when its profile is read-only; an
    /// aggregator also says so for an account behind a read-only brokerage.
    fn read_only_target(b: &SimBrokerage, path: &str) -> bool {
        let _ = path;
        b.profile().capabilities.read_only
    }
    /// The credential scope a request is rate-limited under (an API key or token), if authenticated.
    fn rate_scope(headers: &HeaderMap) -> Option<String>;
    /// 503 with the vendor's body.
    fn unavailable() -> Response;
    /// 429 with the vendor's body and headers.
    fn rate_limited(state: Option<&RateState>, retry_after_ms: u64) -> Response;
    /// 429 for a request to `path`, for vendors whose body names the
    /// endpoint's own limit (Plaid); the same for every path by default.
    fn rate_limited_at(path: &str, state: Option<&RateState>, retry_after_ms: u64) -> Response {
        let _ = path;
        Self::rate_limited(state, retry_after_ms)
    }
    /// The vendor's answer to an expired access token.
    fn token_expired() -> Response;
    /// The vendor's answer when re-authorization is needed (refresh token expired too).
    fn reauth_required() -> Response {
        Self::token_expired()
    }
    /// The vendor's answer when the data asked for is not ready yet (an
    /// aggregator still extracting it); its outage answer by default.
    fn not_ready() -> Response {
        Self::unavailable()
    }
    /// The vendor's answer when the institution behind it is down (an
    /// aggregator); its outage answer by default.
    fn downstream_unavailable() -> Response {
        Self::unavailable()
    }
    /// The vendor's rate-limit headers on a normal response.
    fn rate_headers(state: &RateState, headers: &mut HeaderMap);
}

/// A response whose body fails at once: hyper aborts the connection, so the
/// client sees the connection drop instead of an answer.
pub fn dropped_connection() -> Response {
    let failing = stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("simulated connection drop"))
    });
    Response::new(Body::from_stream(failing))
}

/// Applies the fault plan, the per-request triggers' transport side, and
/// the documented rate limits in front of a face's routes.
///
/// A request that reached the broker is carried out whether or not its
/// client is still there: hyper drops a handler's future when the client
/// hangs up, so the work runs in a task of its own. A slow submit whose
/// client timed out still lands, late, as it would at the vendor.
///
/// A tower service rather than `axum::middleware::from_fn`, which boxes the
/// wrapped route again and boxes its own future on every request (see `dated`).
pub struct Faulted<F, S> {
    inner: S,
    shared: Shared,
    face: PhantomData<fn() -> F>,
}

impl<F, S> Faulted<F, S> {
    /// `route` behind the fault layer (a router's layer by `tower::layer::layer_fn`).
    pub fn new(route: S, shared: Shared) -> Self {
        Self {
            inner: route,
            shared,
            face: PhantomData,
        }
    }
}

impl<F, S: Clone> Clone for Faulted<F, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
            face: PhantomData,
        }
    }
}

impl<F, S> Service<Request> for Faulted<F, S>
where
    F: WireFace,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Carried;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Carried {
        // The route polled ready goes with the work; a copy stays for the next request.
        let copy = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, copy);
        Carried(tokio::spawn(carry_out::<F, S>(
            self.shared.clone(),
            req,
            ready,
        )))
    }
}

/// The answer of a request carried out in its own task.
pub struct Carried(JoinHandle<Response>);

impl Future for Carried {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|done| {
            Ok(done.unwrap_or_else(|e| {
                tracing::error!(target: "broker_models::face", "request handler failed: {e}");
                (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error in the simulated broker",
                )
                    .into_response()
            }))
        })
    }
}

async fn carry_out<F, S>(shared: Shared, mut req: Request, mut route: S) -> Response
where
    F: WireFace,
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let op = F::classify(req.method(), req.uri().path());
    let scope = F::rate_scope(req.headers());
    let path = req.uri().path().to_string();
    let (decision, rate) = {
        let mut b = shared.lock();
        b.note_arrival(req.method().as_str(), &path);
        if op.is_mutation() && F::read_only_target(&b, &path) {
            // Whatever the face answers, an order-shaped request reached a
            // broker with no way to trade: the read-only tier's ground truth.
            b.record_order_attempt(op, req.method().as_str(), &path);
        }
        let decision = b.decide(op);
        let rate = scope.as_deref().and_then(|s| b.count_request(op, s));
        (decision, rate)
    };
    if decision.latency_ms > 0 {
        shared
            .sleep(Duration::from_millis(decision.latency_ms))
            .await;
    }
    match &decision.outcome {
        Some(Outcome::Outage(OutageMode::Status)) => return F::unavailable(),
        Some(Outcome::Outage(OutageMode::Refuse)) => return dropped_connection(),
        Some(Outcome::Outage(OutageMode::Hang)) => {
            shared.sleep(HOLD).await;
            return dropped_connection();
        }
        Some(Outcome::RateLimited { retry_after_ms }) => {
            // A simulated storm looks like an exhausted window to the client.
            let mut b = shared.lock();
            let counted_at = b.now();
            let resets_at =
                counted_at.plus_millis(i64::try_from(*retry_after_ms).unwrap_or(i64::MAX));
            if F::NAMES_ITS_WAIT {
                b.asked_to_wait(resets_at);
            }
            let exhausted = RateState {
                allowed: false,
                limit: rate.map_or(0, |r| r.limit),
                used: rate.map_or(0, |r| r.limit),
                remaining: 0,
                resets_at,
                counted_at,
            };
            return F::rate_limited_at(&path, Some(&exhausted), *retry_after_ms);
        }
        Some(Outcome::NotReady) => return F::not_ready(),
        // One brokerage behind an aggregator: only the face knows which
        // brokerage a request reaches (the account may be in its body), so
        // the handler answers it (see `Decision::downstream_down`).
        Some(Outcome::DownstreamOutage { brokerage: None }) => return F::downstream_unavailable(),
        // Static credentials refused for the window (OAuth brokers expire
        // their tokens in `decide` and never get here).
        Some(Outcome::TokenExpired { .. }) => return F::token_expired(),
        Some(Outcome::RefreshExpired { .. }) => return F::reauth_required(),
        _ => {}
    }
    if let Some(state) = rate.filter(|r| !r.allowed) {
        let mut b = shared.lock();
        if F::NAMES_ITS_WAIT {
            b.asked_to_wait(state.resets_at);
        }
        let retry = u64::try_from(state.resets_at.millis() - b.now().millis()).unwrap_or(0);
        return F::rate_limited_at(&path, Some(&state), retry);
    }
    let lost = decision.outcome == Some(Outcome::LostResponse);
    req.extensions_mut().insert(decision);
    let Ok(mut response) = route.call(req).await;
    if let Some(state) = rate {
        F::rate_headers(&state, response.headers_mut());
    }
    if lost || response.extensions().get::<LoseThisResponse>().is_some() {
        // The handler committed; the client never hears of it.
        shared.sleep(HOLD).await;
        return dropped_connection();
    }
    response
}

/// Set by a handler on its response when a per-request trigger asks for the
/// response to be lost after the broker committed.
#[derive(Debug, Clone, Copy)]
pub struct LoseThisResponse;

/// The decision the fault layer made for this request, for handlers that
/// act on it (forced rejections, partial fills, stale reads).
pub fn decision_of(req_ext: &axum::http::Extensions) -> Decision {
    req_ext.get::<Decision>().cloned().unwrap_or_default()
}

impl IntoResponse for LoseThisResponse {
    fn into_response(self) -> Response {
        let mut r = Response::new(Body::empty());
        r.extensions_mut().insert(self);
        r
    }
}
