//! Shared by the harness's tests: running one case with an adapter a test
//! builds itself (a deliberately bad one, or one that claims more than it does).

#![allow(dead_code)]

use std::sync::Arc;

use adapters::http::HttpSetup;
use adapters::{
    Account, AdapterError, BrokerAdapter, CancelResult, Description, Holdings, Order, OrderResult,
    OrderUpdates, Position, Replace,
};
use broker_models::faults::FaultPlan;
use broker_models::Connection;
use harness::cases;
use harness::suite::{exercise, verdict, Verdict};
use harness::venue::Venue;
use harness::world::{run_world, WorldSpec};

/// Runs `case_id` under seed 1 at `broker`'s model with the adapter `build` makes.
pub fn run_with(
    case_id: &str,
    broker: &str,
    build: impl FnOnce(&Connection, HttpSetup) -> Arc<dyn BrokerAdapter> + 'static,
) -> Verdict {
    let case = cases::find(case_id).expect("in the catalogue");
    let plan = FaultPlan::from_toml(case.plan, case.id).expect("the case's plan parses");
    let spec = WorldSpec::new(1).broker(broker, plan);
    let broker = broker.to_string();
    let run = run_world(&spec, move |env| async move {
        let b = env
            .broker(&broker)
            .cloned()
            .expect("the world has the model");
        let adapter = build(&b.connection, env.setup.clone());
        let setting = harness::suite::Setting {
            case,
            seed: 1,
            pace: harness::pace::Pace::REAL,
            flaw: None,
        };
        exercise(
            setting,
            harness::brokers::Built::Trading(adapter),
            Venue::Model(Box::new(b)),
            env.trace.clone(),
            env.wire.clone(),
        )
        .await
    });
    verdict(run.result, &run.trace)
}

/// An adapter whose description is edited: it claims what `edit` says,
/// whatever the adapter inside can do.
pub struct Claiming {
    pub inner: Arc<dyn BrokerAdapter>,
    pub edit: fn(&mut Description),
}

#[async_trait::async_trait]
impl BrokerAdapter for Claiming {
    fn describe(&self) -> Description {
        let mut d = self.inner.describe();
        (self.edit)(&mut d);
        d
    }
    fn account_id(&self) -> &str {
        self.inner.account_id()
    }
    async fn submit_order(&self, order: &Order) -> Result<OrderResult, AdapterError> {
        self.inner.submit_order(order).await
    }
    async fn cancel_order(&self, id: &str) -> Result<CancelResult, AdapterError> {
        self.inner.cancel_order(id).await
    }
    async fn replace_order(&self, id: &str, c: &Replace) -> Result<OrderResult, AdapterError> {
        self.inner.replace_order(id, c).await
    }
    async fn get_order(&self, id: &str) -> Result<OrderResult, AdapterError> {
        self.inner.get_order(id).await
    }
    async fn get_positions(&self) -> Result<Vec<Position>, AdapterError> {
        self.inner.get_positions().await
    }
    async fn get_holdings(&self) -> Result<Holdings, AdapterError> {
        self.inner.get_holdings().await
    }
    async fn get_account(&self) -> Result<Account, AdapterError> {
        self.inner.get_account().await
    }
    async fn order_updates(&self) -> Result<OrderUpdates, AdapterError> {
        self.inner.order_updates().await
    }
}

/// The broker table's own adapter for a connection.
pub fn table_adapter(broker: &str, c: &Connection, setup: HttpSetup) -> Arc<dyn BrokerAdapter> {
    let b = harness::brokers::find(broker).expect("in the broker table");
    match b.build(c, setup) {
        harness::brokers::Built::Trading(a) => a,
        harness::brokers::Built::ReadOnly(_) => panic!("{broker} is a read-only source"),
    }
}
