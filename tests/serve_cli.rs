//! `raxx-sim serve` as an operator runs it: the control token they chose,
//! and the host names the model answers to.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use adapters::http::{request, HttpClient, HttpResponse, TcpDialer};
use axum::http::Method;
use serde_json::Value;

/// A `raxx-sim serve` process, killed when dropped.
struct Server {
    child: Child,
    first_line: Value,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_raxx-sim"))
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("running raxx-sim serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("its stdout"))
        .read_line(&mut line)
        .expect("serve's first line");
    let first_line = serde_json::from_str(&line).expect("serve's first line is JSON");
    Server { child, first_line }
}

impl Server {
    fn port(&self) -> String {
        let url = self.first_line["base_url"].as_str().expect("a base URL");
        url.rsplit(':').next().expect("a port").to_string()
    }

    fn token(&self) -> String {
        self.first_line["control"]["token"]
            .as_str()
            .expect("the control token")
            .to_string()
    }

    /// `GET path` on the served port, addressed to `host`, with `headers`.
    async fn get(&self, host: &str, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        let http = HttpClient::new(
            Arc::new(TcpDialer::new().expect("a dialer")),
            Duration::from_secs(10),
        );
        let mut headers = headers.to_vec();
        headers.push(("Host", host));
        let url = format!("http://127.0.0.1:{}{path}", self.port());
        let req = request(Method::GET, &url, &headers, None, Vec::new().into()).expect("a request");
        http.send(req).await.expect("an answer")
    }
}

const CHOSEN: &str = "an-operator-chosen-token-0123456789";

#[tokio::test]
async fn the_control_surface_takes_the_operators_token_not_the_seeded_one() {
    let seeded = serve(&["alpaca", "--seed", "3"]).token();
    let server = serve(&["alpaca", "--seed", "3", "--control-token", CHOSEN]);
    assert_eq!(server.token(), CHOSEN, "serve prints the token it asks for");
    assert_ne!(seeded, CHOSEN);
    let host = format!("127.0.0.1:{}", server.port());
    for (token, status) in [(seeded.as_str(), 401), (CHOSEN, 200)] {
        let r = server
            .get(&host, "/_sim/ledger", &[("X-Sim-Control-Token", token)])
            .await;
        assert_eq!(r.status, status);
    }
    // A reset starts over from the seed but keeps the operator's token.
    let http = HttpClient::new(
        Arc::new(TcpDialer::new().expect("a dialer")),
        Duration::from_secs(10),
    );
    let url = format!("http://{host}/_sim/reset");
    let headers = [("X-Sim-Control-Token", CHOSEN)];
    let req = request(
        Method::POST,
        &url,
        &headers,
        Some("application/json"),
        b"{}".to_vec().into(),
    )
    .expect("a request");
    assert!(http.send(req).await.expect("an answer").status.is_success());
    let r = server
        .get(&host, "/_sim/ledger", &[("X-Sim-Control-Token", CHOSEN)])
        .await;
    assert_eq!(r.status, 200);
}

#[test]
fn a_short_or_unprintable_control_token_is_refused_before_serving() {
    for bad in [
        "short",
        "a token with spaces in it",
        "tab\tseparated-token-0123",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_raxx-sim"))
            .args(["serve", "alpaca", "--control-token", bad])
            .output()
            .expect("running raxx-sim serve");
        assert!(!out.status.success(), "{bad:?} was taken");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("at least 16 visible ASCII"), "{err}");
    }
}

#[test]
fn a_retention_of_no_orders_is_refused_before_serving() {
    for bad in ["0", "some", "1e3"] {
        let out = Command::new(env!("CARGO_BIN_EXE_raxx-sim"))
            .args(["serve", "alpaca", "--keep-orders", bad])
            .output()
            .expect("running raxx-sim serve");
        assert!(!out.status.success(), "{bad:?} was taken");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("above 0, or `all`"), "{err}");
    }
}

#[tokio::test]
async fn requests_addressed_to_a_foreign_name_are_refused_as_dns_rebinding_would_send_them() {
    let server = serve(&["alpaca", "--allow-host", "sim.internal"]);
    let token = server.token();
    let control = [("X-Sim-Control-Token", token.as_str())];
    let port = server.port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("sim.internal:{port}"),
    ] {
        let r = server.get(&host, "/_sim/ledger", &control).await;
        assert_eq!(r.status, 200, "{host}");
    }
    for host in [
        format!("rebind.example:{port}"),
        "127.0.0.1.nip.io".to_string(),
    ] {
        // The broker face and the control surface alike, the right token or not.
        for path in ["/_sim/ledger", "/v2/account"] {
            let r = server.get(&host, path, &control).await;
            assert_eq!(r.status, 403, "{host} {path}");
            let body: Value = serde_json::from_slice(&r.body).expect("a JSON body");
            assert!(
                body["error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("--allow-host"),
                "{body}"
            );
            assert!(!String::from_utf8_lossy(&r.body).contains(&token));
        }
    }
}
