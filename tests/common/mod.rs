//! Shared by the end-to-end tests: a broker model served on 127.0.0.1 in
//! this process, as `raxx-sim serve` would serve it.

#![allow(dead_code)]

use broker_models::faults::FaultPlan;
use broker_models::{Connection, MarketSpec, Shared};

pub struct Served {
    /// How to connect (what `raxx-sim serve` prints).
    pub connection: Connection,
    /// The model itself, to steer it and read its ledger.
    pub shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Served {
    pub fn credential(&self, name: &str) -> String {
        self.connection.credential(name)
    }

    pub fn base_url(&self) -> &str {
        &self.connection.base_url
    }

    /// The first account number.
    pub fn account(&self) -> String {
        self.connection.account()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves a fresh model of `broker` on an ephemeral loopback port.
pub async fn serve(broker: &str, seed: u64, plan: FaultPlan) -> Served {
    let model = broker_models::build(broker, seed, plan, &MarketSpec::default())
        .expect("a model of a known broker");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let connection = model.connection(addr);
    let router = model.router;
    let server = tokio::spawn(async move {
        let timeout = broker_models::socket::HEADER_READ_TIMEOUT;
        let _ =
            broker_models::socket::serve(listener, router, timeout, std::future::pending()).await;
    });
    Served {
        connection,
        shared: model.shared,
        server,
    }
}
