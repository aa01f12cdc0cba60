//! The traits of the adapter contract. A trading connection (Tier A, B, and
//! the MBT paper engine) implements [`BrokerAdapter`]; a read-only source
//! (Tier C) implements [`ReadOnlySource`], which has no way to place an
//! order, so trading through one does not compile:
//!
//! ```compile_fail
//! use adapters::{Order, ReadOnlySource, Side};
//! async fn place(source: &dyn ReadOnlySource) {
//!     let order = Order::market("intent-1", "AAPL", Side::Buy, 1.into());
//!     source.submit_order(&order).await; // no such method on a read-only source
//! }
//! ```

use async_trait::async_trait;
use futures_util::stream::BoxStream;

use crate::contract::{
    Account, CancelResult, Description, Holdings, Order, OrderResult, Position, Replace,
    Transaction,
};
use crate::error::{AdapterError, Result};

/// Order-status updates: each item is an order's full normalized state after
/// a change. Streamed where the broker has a stream, polled otherwise.
pub type OrderUpdates = BoxStream<'static, Result<OrderResult>>;

/// A connection that can trade: one account at one broker (or MBT paper).
#[async_trait]
pub trait BrokerAdapter: Send + Sync {
    /// Who the adapter is and what it can do.
    fn describe(&self) -> Description;

    /// The broker's own account number this adapter trades (the contract's `account_id`).
    fn account_id(&self) -> &str;

    /// Places an order. One `client_order_id` never becomes two broker
    /// orders: after an ambiguous outcome (timeout, lost response) the
    /// adapter reconciles with the broker before it tries again.
    async fn submit_order(&self, order: &Order) -> Result<OrderResult>;

    /// Cancels an order; `too_late_to_cancel` when it is already terminal.
    async fn cancel_order(&self, broker_order_id: &str) -> Result<CancelResult>;

    async fn get_order(&self, broker_order_id: &str) -> Result<OrderResult>;

    /// Changes a working order's quantity or prices; answers with the
    /// replacement. Only adapters whose `describe` says `replace` have it.
    async fn replace_order(&self, broker_order_id: &str, changes: &Replace) -> Result<OrderResult> {
        let _ = changes;
        Err(AdapterError::unsupported(format!(
            "{} cannot replace orders (order {broker_order_id} is unchanged)",
            self.describe().name
        )))
    }

    async fn get_positions(&self) -> Result<Vec<Position>>;

    /// The positions with when the broker's answer says they were taken. A
    /// broker read live says nothing (`as_of` None, the default); one read
    /// through an aggregator's cache (Tier B) says how old they are, and its
    /// adapter overrides this. A wrapper must pass it through, never fall
    /// back to the default.
    async fn get_holdings(&self) -> Result<Holdings> {
        Ok(Holdings {
            account_id: self.account_id().to_string(),
            positions: self.get_positions().await?,
            as_of: None,
        })
    }

    async fn get_account(&self) -> Result<Account>;

    /// Updates for every order of the account from now on. The stream owns
    /// what it needs and ends when the connection is lost for good.
    async fn order_updates(&self) -> Result<OrderUpdates>;

    /// Where this adapter let a credential out that its caller never saw:
    /// an adapter in another process whose output the bridge scrubbed.
    /// In-process adapters have nothing to say; every answer they give is
    /// seen (and checked) by whoever calls them.
    fn credential_leaks(&self) -> Vec<String> {
        Vec::new()
    }

    /// Revokes the user's grant at the vendor, where the vendor has a way to
    /// (SnapTrade's `DELETE /connection/{id}`): from then on the connection
    /// reaches nothing there. Answers whether it revoked anything at the
    /// vendor; one without a revoke answers false (the default), and only
    /// the caller's token store keeps the credential from being used. A
    /// wrapper must pass it through, never fall back to the default.
    async fn revoke(&self) -> Result<bool> {
        Ok(false)
    }
}

/// A read-only source (Tier C: Plaid, and brokers without order placement):
/// positions and history are imported; there is no way to place an order.
#[async_trait]
pub trait ReadOnlySource: Send + Sync {
    fn describe(&self) -> Description;
    fn account_id(&self) -> &str;
    /// The account's holdings, with when the institution last updated them.
    async fn get_holdings(&self) -> Result<Holdings>;
    async fn get_account(&self) -> Result<Account>;
    /// The account's transactions dated `start..=end` (`YYYY-MM-DD`), every
    /// page, each once.
    async fn get_transactions(&self, start: &str, end: &str) -> Result<Vec<Transaction>>;

    /// Revokes the user's grant at the vendor, where the vendor has a way to
    /// (Plaid's `/item/remove`): from then on the credential reaches nothing
    /// there. Answers whether it revoked anything at the vendor; one without
    /// a revoke answers false (the default), and only the caller's token
    /// store keeps the credential from being used. A wrapper must pass it
    /// through, never fall back to the default.
    async fn revoke(&self) -> Result<bool> {
        Ok(false)
    }
}
