//! A model served on a real TCP socket (`raxx-sim serve`, loopback runs,
//! the end-to-end tests), as `axum::serve` would serve it but with a limit
//! on how long a client may take to send a request's head: axum has no such
//! knob, and without it a client that sends half a request line and stalls
//! holds a connection (and its task) open forever.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;

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
