//! A model served on a real TCP socket (`raxx-sim serve`, loopback runs,
//! the end-to-end tests), as `axum::serve` would serve it but with a limit
//! on how long a client may take to send a request's head: axum has no such
//! knob, and without it a client that sends half a request line and stalls
//! holds a connection (and its task) open forever.

use std::future::Future;
use std::io;
use std::time::Duration;

use std::convert::Infallible;
use std::future::Ready;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use axum::Router;
use futures_util::future::Either;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::Service;

/// How long a client may take to send a request line and its headers, in
/// real time, counted from when the server starts waiting for them (so an
/// idle keep-alive connection is closed after as long). Ten seconds is far
/// more than any client on the same machine needs, short enough that
/// stalled connections do not pile up, and longer than the adapters keep an
/// idle connection in their pool (5 s), so they never reuse one the model
/// is closing.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` completes, then waits for
/// the requests in flight to be answered. A connection whose request head
/// takes longer than `header_read_timeout` is closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    // Each connection holds a receiver: the sender learns of shutdown's
    // end when the last one is dropped.
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // A client that gave up before being accepted.
                Err(e) if is_connection_error(&e) => continue,
                // Out of file descriptors or the like: wait for some to be
                // freed rather than spin (what axum::serve does).
                Err(_) => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        let service = TowerToHyperService::new(router.clone());
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            // A connection the client dropped, or one a fault or the
            // timeout closed, ends with an error; the model is unaffected.
            tokio::select! {
                biased;
                _ = connection.as_mut() => {}
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(stopping);
    let _ = stop.send(true);
    stop.closed().await;
    Ok(())
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Which `Host` a served model answers to. A page in a browser can reach a
/// server on loopback through a name it controls (DNS rebinding: the name
/// first resolves to the page's server, then to 127.0.0.1), and the request
/// then carries that name as its `Host`. So, as development servers do, a
/// model answers only requests addressed to an IP literal (which no DNS
/// answer can rebind), to `localhost` or a `*.localhost` name, or to a name
/// the operator allowed (`raxx-sim serve --allow-host`). A request with no
/// `Host` (HTTP/1.0, or a client that builds its own) cannot come from a
/// browser and is let through.
#[derive(Clone, Debug, Default)]
pub struct AllowedHosts {
    names: Vec<String>,
    any: bool,
}

impl AllowedHosts {
    /// The names allowed beside IP literals and `localhost`; `*` allows any.
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        let mut allowed = Self::default();
        for name in names {
            if name == "*" {
                allowed.any = true;
            } else {
                allowed.names.push(name.to_ascii_lowercase());
            }
        }
        allowed
    }

    /// Whether a request whose `Host` header is `host` (`name[:port]`) is answered.
    pub fn allows(&self, host: &str) -> bool {
        if self.any {
            return true;
        }
        let name = host_name(host).to_ascii_lowercase();
        let bare = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(&name);
        bare.parse::<std::net::IpAddr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || self.names.contains(&name)
    }

    /// `router` answering only requests addressed to an allowed host; others
    /// get 403 with a JSON body saying how to allow the host.
    pub fn guard(self, router: Router) -> Router {
        let allowed = std::sync::Arc::new(self);
        router.layer(tower::layer::layer_fn(move |inner| Guarded {
            inner,
            allowed: allowed.clone(),
        }))
    }
}

/// A route behind the host check: a tower service rather than
/// `axum::middleware::from_fn`, which clones the service it wraps per
/// request and boxes its future (see `dated`).
#[derive(Clone)]
struct Guarded<S> {
    inner: S,
    allowed: std::sync::Arc<AllowedHosts>,
}

impl<S> Service<Request> for Guarded<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if let Some(host) = req.headers().get(axum::http::header::HOST) {
            let host = String::from_utf8_lossy(host.as_bytes());
            if !self.allowed.allows(&host) {
                return Either::Left(std::future::ready(Ok(refuse_host(&host))));
            }
        }
        Either::Right(self.inner.call(req))
    }
}

/// The name part of a `Host` header: without its port, an IPv6 literal kept
/// in its brackets.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(v6, _)| &host[..=v6.len()]);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

fn refuse_host(host: &str) -> axum::response::Response {
    let shown: String = host.chars().take(100).collect();
    crate::control::refusal(
        axum::http::StatusCode::FORBIDDEN,
        format!(
            "this model does not answer requests addressed to {shown:?} \
             (raxx-sim serve --allow-host NAME lets a name in)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::AllowedHosts;

    #[test]
    fn ip_literals_and_localhost_are_answered_other_names_only_when_allowed() {
        let hosts = AllowedHosts::new(["sim.internal".to_string()]);
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "10.1.2.3:80",
            "[::1]:9000",
            "[::1]",
            "localhost:3000",
            "LocalHost",
            "api.localhost:1",
            "sim.internal:443",
            "SIM.internal",
        ] {
            assert!(hosts.allows(ok), "{ok} should be answered");
        }
        for refused in [
            "evil.example:8080",
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "sim.internal.evil",
            "[::1",
            "",
        ] {
            assert!(!hosts.allows(refused), "{refused} should be refused");
        }
        assert!(AllowedHosts::new(["*".to_string()]).allows("evil.example"));
    }
}
