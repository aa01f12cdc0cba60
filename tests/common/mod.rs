//! Shared by the end-to-end tests: a broker model served on 127.0.0.1 in
//! this process, as `raxx-sim serve` would serve it.

#![allow(dead_code)]

use broker_models::faults::FaultPlan;
use broker_models::Shared;
use serde_json::Value;

pub struct Served {
    /// As the vendor documents its own (what `raxx-sim serve` prints).
    pub base_url: String,
    /// The credential object `raxx-sim serve` prints.
    pub credentials: Value,
    /// The first account number.
    pub account: String,
    /// The model itself, to steer it and read its ledger.
    pub shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Served {
    pub fn credential(&self, name: &str) -> String {
        self.credentials[name]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves a fresh model of `broker` on an ephemeral loopback port.
pub async fn serve(broker: &str, seed: u64, plan: FaultPlan) -> Served {
    let model = broker_models::build(broker, seed, plan).expect("a model of a known broker");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let (credentials, account) = {
        let b = model.shared.lock();
        (b.credentials().to_json(), b.account_numbers()[0].clone())
    };
    let router = model.router;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Served {
        base_url: broker_models::base_url(broker, addr),
        credentials,
        account,
        shared: model.shared,
        server,
    }
}
