//! The token cases can fail: an OAuth adapter that claims to refresh but
//! holds no refresh grant is caught by `token_expiry_refreshes`, and one
//! that renews per call (no shared renewal) is too.

mod common;

use std::sync::Arc;

use adapters::tradier::{TradierAdapter, TradierConfig, TradierOAuth};
use adapters::{
    Account, AdapterError, BrokerAdapter, CancelResult, Description, Holdings, Order, OrderResult,
    OrderUpdates, Position,
};
use broker_models::Connection;
use common::{run_with, Claiming};
use harness::suite::Verdict;

fn config(c: &Connection) -> TradierConfig {
    TradierConfig {
        base_url: c.base_url.clone(),
        access_token: c.credential("access_token"),
        account_id: c.account(),
        oauth: Some(TradierOAuth {
            refresh_token: c.credential("refresh_token"),
            client_id: c.credential("client_id"),
            client_secret: c.credential("client_secret"),
        }),
    }
}

#[test]
fn the_good_adapter_passes_and_one_without_a_refresh_grant_fails() {
    let good = run_with("token_expiry_refreshes", "tradier", |c, setup| {
        Arc::new(TradierAdapter::new(config(c), setup))
    });
    assert_eq!(good, Verdict::Passed);
    let no_grant = run_with("token_expiry_refreshes", "tradier", |c, setup| {
        let config = TradierConfig {
            oauth: None,
            ..config(c)
        };
        Arc::new(Claiming {
            inner: Arc::new(TradierAdapter::new(config, setup)),
            edit: |d| d.capabilities.token_refresh = true,
        })
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
    let per_call = run_with("token_expiry_refreshes", "tradier", |c, setup| {
        let one =
            || Arc::new(TradierAdapter::new(config(c), setup.clone())) as Arc<dyn BrokerAdapter>;
        Arc::new(PerCall([one(), one(), one()]))
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
    async fn get_holdings(&self) -> Result<Holdings, AdapterError> {
        self.0[1].get_holdings().await
    }
    async fn get_account(&self) -> Result<Account, AdapterError> {
        self.0[2].get_account().await
    }
    async fn order_updates(&self) -> Result<OrderUpdates, AdapterError> {
        self.0[0].order_updates().await
    }
}
