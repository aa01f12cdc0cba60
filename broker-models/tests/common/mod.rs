//! Drives a model's router in-process, the way a client would over HTTP.

#![allow(dead_code)]

pub mod shape;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use broker_models::faults::FaultPlan;
use broker_models::{build, Shared};

pub struct Client {
    pub router: Router,
    pub shared: Shared,
    pub headers: Vec<(String, String)>,
    /// Sent on `/_sim/` requests, as every driver of a served model does.
    pub control_token: Option<String>,
}

pub struct Reply {
    /// The body failed mid-stream: the connection was dropped.
    pub dropped: bool,
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

impl Client {
    /// An authenticated client of a fresh model of `broker`.
    pub fn authed(broker: &str, seed: u64, plan: FaultPlan) -> Self {
        let mut c = Self::new(broker, seed, plan);
        c.headers = match broker {
            "alpaca" => vec![
                ("APCA-API-KEY-ID".into(), c.credential("key_id")),
                ("APCA-API-SECRET-KEY".into(), c.credential("secret_key")),
            ],
            _ => vec![
                (
                    "Authorization".into(),
                    format!("Bearer {}", c.credential("access_token")),
                ),
                ("Accept".into(), "application/json".into()),
            ],
        };
        c
    }

    pub fn new(broker: &str, seed: u64, plan: FaultPlan) -> Self {
        let model =
            build(broker, seed, plan, &broker_models::MarketSpec::default()).expect("model");
        let control_token = Some(model.shared.lock().control_token().to_string());
        Self {
            router: model.router,
            shared: model.shared,
            headers: Vec::new(),
            control_token,
        }
    }

    pub fn credential(&self, name: &str) -> String {
        self.shared
            .lock()
            .credentials()
            .get(name)
            .unwrap()
            .to_string()
    }

    pub async fn send(&self, method: Method, path: &str, content_type: &str, body: &str) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        if let Some(token) = self
            .control_token
            .as_ref()
            .filter(|_| path.starts_with("/_sim/"))
        {
            req = req.header(broker_models::control::TOKEN_HEADER, token);
        }
        if !body.is_empty() {
            req = req.header("content-type", content_type);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let (dropped, bytes) = match resp.into_body().collect().await {
            Ok(b) => (false, b.to_bytes()),
            Err(_) => (true, Default::default()),
        };
        Reply {
            dropped,
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).to_string(),
        }
    }

    /// Serves this client's model on an ephemeral loopback port, as
    /// `raxx-sim serve` does, until the test's runtime ends.
    pub async fn serve(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(broker_models::socket::serve(
            listener,
            self.router.clone(),
            broker_models::socket::HEADER_READ_TIMEOUT,
            std::future::pending(),
        ));
        addr
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, "", "").await
    }

    pub async fn post_json(&self, path: &str, body: &str) -> Reply {
        self.send(Method::POST, path, "application/json", body)
            .await
    }
}
