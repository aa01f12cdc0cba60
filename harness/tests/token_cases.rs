//! The token cases can fail: an OAuth adapter that claims to refresh but
//! holds no refresh grant is caught by `token_expiry_refreshes`, and one
//! that refreshes for every call (no shared renewal) is too.

use std::sync::Arc;

use adapters::tradier::{TradierAdapter, TradierConfig, TradierOAuth};
use adapters::{
    Account, AdapterError, BrokerAdapter, CancelResult, Description, Order, OrderResult,
    OrderUpdates, Position,
};
use broker_models::faults::FaultPlan;
use harness::cases;
use harness::suite::{exercise, verdict, Verdict};
use harness::venue::Venue;
use harness::world::{run_world, WorldSpec};

/// Claims token refresh whatever the adapter inside can do.
struct ClaimsRefresh(Arc<dyn BrokerAdapter>);

#[async_trait::async_trait]
impl BrokerAdapter for ClaimsRefresh {
    fn describe(&self) -> Description {
        let mut d = self.0.describe();
        d.capabilities.token_refresh = true;
        d
    }
    fn account_id(&self) -> &str {
        self.0.account_id()
    }
    async fn submit_order(&self, order: &Order) -> Result<OrderResult, AdapterError> {
        self.0.submit_order(order).await
    }
    async fn cancel_order(&self, id: &str) -> Result<CancelResult, AdapterError> {
        self.0.cancel_order(id).await
    }
    async fn get_order(&self, id: &str) -> Result<OrderResult, AdapterError> {
        self.0.get_order(id).await
    }
    async fn get_positions(&self) -> Result<Vec<Position>, AdapterError> {
        self.0.get_positions().await
    }
    async fn get_account(&self) -> Result<Account, AdapterError> {
        self.0.get_account().await
    }
    async fn order_updates(&self) -> Result<OrderUpdates, AdapterError> {
        self.0.order_updates().await
    }
}

/// Runs `case_id` at the Tradier model with the adapter `build` makes.
fn run(
    case_id: &str,
    build: fn(TradierConfig, adapters::http::HttpSetup) -> Arc<dyn BrokerAdapter>,
) -> Verdict {
    let case = cases::find(case_id).expect("in the catalogue");
    let plan = FaultPlan::from_toml(case.plan, case.id).expect("the case's plan parses");
    let spec = WorldSpec::new(1).broker("tradier", plan);
    let run = run_world(&spec, move |env| async move {
        let b = env
            .broker("tradier")
            .cloned()
            .expect("the world has the model");
        let c = &b.connection;
        let config = TradierConfig {
            base_url: c.base_url.clone(),
            access_token: c.credential("access_token"),
            account_id: c.account(),
            oauth: Some(TradierOAuth {
                refresh_token: c.credential("refresh_token"),
                client_id: c.credential("client_id"),
                client_secret: c.credential("client_secret"),
            }),
        };
        let adapter = build(config, env.setup.clone());
        exercise(
            case,
            1,
            adapter,
            Venue::Model(Box::new(b)),
            env.trace.clone(),
            env.wire.clone(),
        )
        .await
    });
    verdict(run.result, &run.trace)
}

#[test]
fn the_good_adapter_passes_and_one_without_a_refresh_grant_fails() {
    let good = run("token_expiry_refreshes", |config, setup| {
        Arc::new(TradierAdapter::new(config, setup))
    });
    assert_eq!(good, Verdict::Passed);
    let no_grant = run("token_expiry_refreshes", |mut config, setup| {
        config.oauth = None;
        Arc::new(ClaimsRefresh(Arc::new(TradierAdapter::new(config, setup))))
    });
    assert!(
        matches!(&no_grant, Verdict::Failed { message, .. } if message.contains("auth_expired")),
        "{no_grant:?}"
    );
}

#[test]
fn an_adapter_that_renews_per_call_is_caught() {
    // Three adapters over one grant: each renews on its own, as an adapter
    // without a shared token source would for three calls at once.
    let per_call = run("token_expiry_refreshes", |config, setup| {
        Arc::new(PerCall([
            Arc::new(TradierAdapter::new(config.clone(), setup.clone())),
            Arc::new(TradierAdapter::new(config.clone(), setup.clone())),
            Arc::new(TradierAdapter::new(config, setup)),
        ]))
    });
    assert!(
        matches!(&per_call, Verdict::Failed { message, .. } if message.contains("refreshes for one expiry")),
        "{per_call:?}"
    );
}

/// Sends each kind of read through its own adapter.
struct PerCall([Arc<dyn BrokerAdapter>; 3]);

#[async_trait::async_trait]
impl BrokerAdapter for PerCall {
    fn describe(&self) -> Description {
        self.0[0].describe()
    }
    fn account_id(&self) -> &str {
        self.0[0].account_id()
    }
    async fn submit_order(&self, order: &Order) -> Result<OrderResult, AdapterError> {
        self.0[0].submit_order(order).await
    }
    async fn cancel_order(&self, id: &str) -> Result<CancelResult, AdapterError> {
        self.0[0].cancel_order(id).await
    }
    async fn get_order(&self, id: &str) -> Result<OrderResult, AdapterError> {
        self.0[0].get_order(id).await
    }
    async fn get_positions(&self) -> Result<Vec<Position>, AdapterError> {
        self.0[1].get_positions().await
    }
    async fn get_account(&self) -> Result<Account, AdapterError> {
        self.0[2].get_account().await
    }
    async fn order_updates(&self) -> Result<OrderUpdates, AdapterError> {
        self.0[0].order_updates().await
    }
}
