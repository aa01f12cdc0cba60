//! The adapter under test, wrapped so that every call and its result land in
//! the trace, and every client order id it is asked to submit is remembered
//! as an intent (the invariants check the broker's ledger against them).

use std::sync::{Arc, Mutex};

use adapters::{
    Account, AdapterError, BrokerAdapter, CancelResult, Description, Holdings, Order, OrderResult,
    OrderUpdates, Position, ReadOnlySource, Transaction,
};
use async_trait::async_trait;

use crate::trace::{Actor, Trace};

pub struct Traced {
    inner: Arc<dyn BrokerAdapter>,
    log: CallLog,
    intents: Mutex<Vec<String>>,
}

/// Every call's line in the trace, and the answers that carried a secret.
struct CallLog {
    trace: Trace,
    /// Adapter answers that carried a secret before the trace scrubbed it.
    leaks: Mutex<Vec<String>>,
}

impl Traced {
    pub fn new(inner: Arc<dyn BrokerAdapter>, trace: Trace) -> Self {
        Self {
            inner,
            log: CallLog::new(trace),
            intents: Mutex::new(Vec::new()),
        }
    }

    /// Every client order id submitted, in order (repeats kept).
    pub fn intents(&self) -> Vec<String> {
        self.intents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Answers that carried a credential, and the adapter's own account of
    /// credentials it put where no answer shows them (scrubbed stderr).
    pub fn leaks(&self) -> Vec<String> {
        let mut leaks = self.log.leaks();
        leaks.extend(self.inner.credential_leaks());
        leaks
    }

    fn log<T: serde::Serialize>(&self, call: &str, result: &Result<T, AdapterError>) {
        self.log.record(call, result);
    }
}

impl CallLog {
    fn new(trace: Trace) -> Self {
        Self {
            trace,
            leaks: Mutex::new(Vec::new()),
        }
    }

    fn leaks(&self) -> Vec<String> {
        self.leaks.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn record<T: serde::Serialize>(&self, call: &str, result: &Result<T, AdapterError>) {
        let text = match result {
            Ok(v) => format!("{call} -> {}", compact(v)),
            Err(e) => format!("{call} -> error {}: {}", e.kind, e.message),
        };
        let secrets = self.trace.secrets();
        if let Some(s) = secrets.iter().find(|s| text.contains(s.as_str())) {
            let what = format!("{call} answered with a credential ({} chars)", s.len());
            self.leaks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(what);
        }
        self.trace.record(Actor::Adapter, text);
    }
}

/// One line of JSON, the contract's own shape.
fn compact<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("(unprintable: {e})"))
}

#[async_trait]
impl BrokerAdapter for Traced {
    fn describe(&self) -> Description {
        self.inner.describe()
    }

    fn account_id(&self) -> &str {
        self.inner.account_id()
    }

    async fn submit_order(&self, order: &Order) -> Result<OrderResult, AdapterError> {
        self.intents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(order.client_order_id.clone());
        self.log
            .trace
            .record(Actor::Adapter, format!("submit_order {}", compact(order)));
        let r = self.inner.submit_order(order).await;
        self.log("submit_order", &r);
        r
    }

    async fn cancel_order(&self, id: &str) -> Result<CancelResult, AdapterError> {
        self.log
            .trace
            .record(Actor::Adapter, format!("cancel_order {id}"));
        let r = self.inner.cancel_order(id).await;
        self.log("cancel_order", &r);
        r
    }

    async fn replace_order(
        &self,
        id: &str,
        changes: &adapters::Replace,
    ) -> Result<OrderResult, AdapterError> {
        self.log.trace.record(
            Actor::Adapter,
            format!("replace_order {id} {}", compact(changes)),
        );
        let r = self.inner.replace_order(id, changes).await;
        self.log("replace_order", &r);
        r
    }

    async fn get_order(&self, id: &str) -> Result<OrderResult, AdapterError> {
        let r = self.inner.get_order(id).await;
        self.log(&format!("get_order {id}"), &r);
        r
    }

    async fn get_positions(&self) -> Result<Vec<Position>, AdapterError> {
        let r = self.inner.get_positions().await;
        self.log("get_positions", &r);
        r
    }

    async fn get_holdings(&self) -> Result<Holdings, AdapterError> {
        let r = self.inner.get_holdings().await;
        self.log("get_holdings", &r);
        r
    }

    async fn get_account(&self) -> Result<Account, AdapterError> {
        let r = self.inner.get_account().await;
        self.log("get_account", &r);
        r
    }

    fn credential_leaks(&self) -> Vec<String> {
        self.inner.credential_leaks()
    }

    async fn order_updates(&self) -> Result<OrderUpdates, AdapterError> {
        let r = self.inner.order_updates().await;
        let shown: Result<&str, AdapterError> = r.as_ref().map(|_| "stream").map_err(Clone::clone);
        self.log("order_updates", &shown);
        r
    }

    async fn revoke(&self) -> Result<bool, AdapterError> {
        let r = self.inner.revoke().await;
        self.log("revoke", &r);
        r
    }
}

/// A read-only source, wrapped like `Traced`: every call lands in the trace.
pub struct TracedSource {
    inner: Arc<dyn ReadOnlySource>,
    log: CallLog,
}

impl TracedSource {
    pub fn new(inner: Arc<dyn ReadOnlySource>, trace: Trace) -> Self {
        Self {
            inner,
            log: CallLog::new(trace),
        }
    }

    pub fn leaks(&self) -> Vec<String> {
        self.log.leaks()
    }
}

#[async_trait]
impl ReadOnlySource for TracedSource {
    fn describe(&self) -> Description {
        self.inner.describe()
    }

    fn account_id(&self) -> &str {
        self.inner.account_id()
    }

    async fn get_holdings(&self) -> Result<Holdings, AdapterError> {
        let r = self.inner.get_holdings().await;
        self.log.record("get_holdings", &r);
        r
    }

    async fn get_account(&self) -> Result<Account, AdapterError> {
        let r = self.inner.get_account().await;
        self.log.record("get_account", &r);
        r
    }

    async fn get_transactions(
        &self,
        start: &str,
        end: &str,
    ) -> Result<Vec<Transaction>, AdapterError> {
        let r = self.inner.get_transactions(start, end).await;
        self.log
            .record(&format!("get_transactions {start}..{end}"), &r);
        r
    }

    async fn revoke(&self) -> Result<bool, AdapterError> {
        let r = self.inner.revoke().await;
        self.log.record("revoke", &r);
        r
    }
}
