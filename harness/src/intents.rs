//! Which intent each order at a broker serves, for brokers whose orders
//! carry no client order id (Schwab). The invariants judge "one broker
//! order per client intent" from the model's ledger, never from what the
//! adapter says; where the vendor's wire has no client order id, the
//! harness tells each model which intent the client is submitting: the
//! recorder beside the model's wire declares it with every request
//! (`SimBrokerage::declare_intent`), in process, so no network fault of
//! the case can delay or drop it. Every order the broker then receives —
//! however many times the adapter sends — is recorded under that intent,
//! so a duplicate is two orders of one intent, as for any other broker.
//! Orders that carry a client order id keep their own.

use std::sync::Arc;

use adapters::{
    Account, AdapterError, BrokerAdapter, CancelResult, Description, Holdings, Order, OrderResult,
    OrderUpdates, Position, Replace,
};
use async_trait::async_trait;

use crate::record::WireLog;

/// `inner`, announcing each submit's intent on the wire log first.
pub fn declaring(inner: Arc<dyn BrokerAdapter>, wire: WireLog) -> Arc<dyn BrokerAdapter> {
    Arc::new(Declaring { inner, wire })
}

struct Declaring {
    inner: Arc<dyn BrokerAdapter>,
    wire: WireLog,
}

#[async_trait]
impl BrokerAdapter for Declaring {
    fn describe(&self) -> Description {
        self.inner.describe()
    }

    fn account_id(&self) -> &str {
        self.inner.account_id()
    }

    async fn submit_order(&self, order: &Order) -> Result<OrderResult, AdapterError> {
        self.wire.submitting(&order.client_order_id);
        self.inner.submit_order(order).await
    }

    async fn cancel_order(&self, id: &str) -> Result<CancelResult, AdapterError> {
        self.inner.cancel_order(id).await
    }

    async fn replace_order(
        &self,
        id: &str,
        changes: &Replace,
    ) -> Result<OrderResult, AdapterError> {
        self.inner.replace_order(id, changes).await
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

    async fn revoke(&self) -> Result<bool, AdapterError> {
        self.inner.revoke().await
    }

    fn credential_leaks(&self) -> Vec<String> {
        self.inner.credential_leaks()
    }
}
