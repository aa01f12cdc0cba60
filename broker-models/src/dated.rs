//! Every answer carries a `Date` in the model's own simulated time (hyper
//! keeps a Date it finds and adds the wall clock only when there is none).
//! Clients that turn a rate-limit reset timestamp into a wait measure it
//! against this date, so the wait comes out right whatever the wall clock says.
//!
//! A tower service rather than `axum::middleware::from_fn`: `from_fn` clones
//! the service it wraps on every request (for a router's route, a boxed
//! copy of the whole stack below) and boxes its future; this one calls the
//! service it was polled ready on and dates the answer in place (in a
//! profile under wrk, `from_fn`'s clones, boxes and drops were about 8% of
//! a served POST's CPU).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, UNIX_EPOCH};

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use tower::Service;

use crate::face::Shared;

/// The service it wraps, its every answer dated in `shared`'s simulated
/// time (a router's layer by `tower::layer::layer_fn`).
#[derive(Clone)]
pub struct Dating<S> {
    inner: S,
    shared: Shared,
}

impl<S> Dating<S> {
    pub fn new(inner: S, shared: Shared) -> Self {
        Self { inner, shared }
    }
}

impl<S> Service<Request> for Dating<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Dated<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        Dated {
            answer: self.inner.call(req),
            shared: self.shared.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The wrapped service's answer, dated when it is ready.
    pub struct Dated<F> {
        #[pin]
        answer: F,
        shared: Shared,
    }
}

impl<F> Future for Dated<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut response) = std::task::ready!(this.answer.poll(cx));
        date(this.shared, &mut response);
        Poll::Ready(Ok(response))
    }
}

fn date(shared: &Shared, response: &mut Response) {
    let now = shared.lock().now();
    // Simulated time starts in 2026: never before 1970.
    let Some(at) = u64::try_from(now.millis())
        .ok()
        .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
    else {
        return;
    };
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(at)) {
        response.headers_mut().insert(header::DATE, v);
    }
}
