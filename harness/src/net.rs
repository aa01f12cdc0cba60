//! The simulated network: models served over turmoil's TCP, and the dialer
//! that gives adapters turmoil streams instead of real sockets.

use std::io;

use adapters::http::{BoxIo, Dialer};
use async_trait::async_trait;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;

/// Dials turmoil hosts by name: `http://alpaca:80` reaches the `alpaca` host.
#[derive(Debug, Clone, Copy, Default)]
pub struct TurmoilDialer;

#[async_trait]
impl Dialer for TurmoilDialer {
    async fn dial(&self, host: &str, port: u16, tls: bool) -> io::Result<BoxIo> {
        if tls {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the simulated network has no TLS: use http:// base URLs",
            ));
        }
        let stream = turmoil::net::TcpStream::connect((host, port)).await?;
        Ok(Box::new(stream))
    }
}

/// The port every simulated broker listens on.
pub const PORT: u16 = 80;

/// Serves `router` on the current turmoil host until the simulation ends.
/// hyper's automatic `Date` header is off: it would read the wall clock.
pub async fn serve(router: Router) -> io::Result<()> {
    let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PORT)).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(router.clone());
        tokio::task::spawn_local(async move {
            // A connection the client dropped, or one a fault dropped, ends
            // here with an error; the model is unaffected.
            let _ = hyper::server::conn::http1::Builder::new()
                .auto_date_header(false)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}
