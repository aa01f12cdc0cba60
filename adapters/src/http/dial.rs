//! How adapters reach a broker: a [`Dialer`] opens a byte stream to a host.
//! Production uses [`TcpDialer`] (TCP, with TLS for https); the harness
//! injects one over turmoil's simulated network. Everything above — HTTP,
//! WebSocket — runs over whichever stream the dialer returns.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream to a broker.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}
pub type BoxIo = Box<dyn Io>;

#[async_trait]
pub trait Dialer: Send + Sync + 'static {
    /// A stream to `host:port`, with TLS already negotiated when `tls` is set.
    async fn dial(&self, host: &str, port: u16, tls: bool) -> io::Result<BoxIo>;
}

/// Real TCP, and TLS (rustls with the Mozilla roots) for https and wss.
#[derive(Clone)]
pub struct TcpDialer {
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
}

impl TcpDialer {
    /// TLS with rustls (ring) and the Mozilla root certificates.
    pub fn new() -> io::Result<Self> {
        use tokio_rustls::rustls::{crypto::ring, ClientConfig, RootCertStore};
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            tls: Arc::new(config),
        })
    }
}

#[async_trait]
impl Dialer for TcpDialer {
    async fn dial(&self, host: &str, port: u16, tls: bool) -> io::Result<BoxIo> {
        let tcp = tokio::net::TcpStream::connect((host, port)).await?;
        tcp.set_nodelay(true)?;
        if !tls {
            return Ok(Box::new(tcp));
        }
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let stream = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await?;
        Ok(Box::new(stream))
    }
}

/// A dialed stream as hyper's client wants it.
pub struct Conn(TokioIo<BoxIo>);

impl Conn {
    pub fn new(io: BoxIo) -> Self {
        Self(TokioIo::new(io))
    }
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// hyper's connector over a [`Dialer`].
#[derive(Clone)]
pub struct DialConnector(pub Arc<dyn Dialer>);

impl tower_service::Service<http::Uri> for DialConnector {
    type Response = Conn;
    type Error = io::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = io::Result<Conn>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let dialer = self.0.clone();
        Box::pin(async move {
            let (host, port, tls) = endpoint(&uri)?;
            Ok(Conn::new(dialer.dial(&host, port, tls).await?))
        })
    }
}

/// Host, port and whether TLS is wanted, from an http(s)/ws(s) URI.
pub fn endpoint(uri: &http::Uri) -> io::Result<(String, u16, bool)> {
    let tls = matches!(uri.scheme_str(), Some("https" | "wss"));
    let host = uri
        .host()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "URL without a host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    Ok((host, port, tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_from_urls() {
        let e = |s: &str| endpoint(&s.parse().unwrap()).unwrap();
        assert_eq!(
            e("https://paper-api.alpaca.markets/v2/orders"),
            ("paper-api.alpaca.markets".into(), 443, true)
        );
        assert_eq!(
            e("http://127.0.0.1:8080/v1"),
            ("127.0.0.1".into(), 8080, false)
        );
        assert_eq!(
            e("wss://stream.example/x"),
            ("stream.example".into(), 443, true)
        );
        assert_eq!(e("http://[::1]:9/"), ("::1".into(), 9, false));
    }

    #[tokio::test]
    async fn tcp_dialer_builds_a_tls_config() {
        let d = TcpDialer::new().expect("ring supports the default TLS versions");
        let refused = d.dial("127.0.0.1", 1, false).await;
        assert!(refused.is_err());
    }
}
