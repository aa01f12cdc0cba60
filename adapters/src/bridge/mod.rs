//! The process bridge (DESIGN.md, "The process bridge", normative): an
//! adapter written in any language runs as a child process and speaks
//! JSON-RPC 2.0 on its stdin/stdout, one object per line, one request at a
//! time; its stderr is its log.
//!
//! The child is untrusted. Whatever it does — exit, crash, print garbage,
//! answer the wrong id, hang — the bridge answers with a typed error and
//! never panics:
//! - exited or crashed → `unknown` "adapter process exited (status …)" with
//!   the tail of its stderr;
//! - a line that is not a response to the request in flight → `unknown`,
//!   quoting the start of the line;
//! - no answer before the deadline → `timeout`. Ids only increase, so a late
//!   answer to an abandoned request is recognised by its id when it finally
//!   arrives and discarded, never taken as the answer to a later request.
//!
//! ## Deadlines
//! `describe` is called once at start, with [`STARTUP_DEADLINE`] (interpreter
//! start-up and imports count against it). Its `request_timeout_ms` (default
//! 2000) is how long the adapter waits for one HTTP response, so:
//! - every call gets `request_timeout_ms` + [`CALL_MARGIN`];
//! - `submit_order` gets [`SUBMIT_ATTEMPTS`] × `request_timeout_ms` +
//!   [`CALL_MARGIN`], because after an ambiguous submit the adapter itself
//!   reconciles (a lookup) and may send again (and look up once more after a
//!   duplicate refusal): up to four broker round trips for one call.
//!
//! ## Protocol 2
//! `describe` is sent with `{"protocol": 2}`. An adapter that knows it may
//! say `replace` and `streaming` in its capabilities: replaces are then
//! forwarded (`replace_order`), and order updates come as notifications the
//! adapter writes at any time after `subscribe_order_updates`
//! (`order_update {order}`, `order_update_error {kind, message}`). An
//! adapter that does not stream is polled (`get_order` on the orders it
//! took). Either way updates go through the shared `updates::Feed`, so they
//! are monotonic per order as for every adapter.
//!
//! ## Pace
//! A child run faster than real time (its clock sped up `pace` times, e.g.
//! under libfaketime) answers `pace` times sooner: every deadline here is
//! divided by the pace, except start-up and shutdown, which are real work.
//!
//! Credentials go to the child in `RAXX_CREDENTIALS` only; they are never
//! kept, never printed by `Debug`, and scrubbed from anything the child says
//! before it reaches an error message or `stderr_lines()`.

mod pipe;
pub(crate) mod process;
pub(crate) mod rpc;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::process::Child;
use tokio::sync::Mutex;

use crate::adapter::{BrokerAdapter, OrderUpdates};
use crate::contract::{
    Account, CancelResult, Description, Holdings, Order, OrderResult, Position, Replace, Tier,
};
use crate::error::{AdapterError, ErrorKind, Result};
use crate::updates::{Feed, UpdateHub};

use pipe::{CallError, Pipe};
use process::{Redactor, StderrLog};
pub use process::{MAX_LINE_BYTES, STDERR_LINES};
pub use rpc::ADAPTER_ERROR_CODE;

/// The contract's default `request_timeout_ms`.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 2_000;
/// Slack on top of the adapter's own timeout: process scheduling, JSON, logging.
pub const CALL_MARGIN: Duration = Duration::from_millis(1_000);
/// Broker round trips one `submit_order` may take inside the adapter.
pub const SUBMIT_ATTEMPTS: u32 = 4;
/// How long the child has to start and answer `describe`.
pub const STARTUP_DEADLINE: Duration = Duration::from_secs(10);
/// How long the child has to exit after `shutdown` before it is killed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// How often `order_updates` polls `get_order` by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Stderr lines quoted in errors about the child itself.
const TAIL_LINES: usize = 5;

/// How to start an out-of-process adapter.
#[derive(Clone)]
pub struct BridgeConfig {
    /// Program and arguments; see [`BridgeConfig::shell`] for a shell string.
    pub command: Vec<String>,
    /// `RAXX_BROKER`: the broker's slug.
    pub broker: String,
    /// `RAXX_BASE_URL`: as the vendor documents its own base URL.
    pub base_url: String,
    /// `RAXX_CREDENTIALS`: the broker's credential object.
    pub credentials: Value,
    /// The broker's account number this connection trades.
    pub account_id: String,
    /// How many times faster than real time the child runs (1: real time).
    pub pace: u32,
    /// More environment for the child (what runs it faster, for one).
    pub env: Vec<(String, String)>,
}

impl BridgeConfig {
    /// A command run by `sh -c`.
    pub fn shell(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }
}

impl std::fmt::Debug for BridgeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeConfig")
            .field("command", &self.command)
            .field("broker", &self.broker)
            .field("base_url", &self.base_url)
            .field("credentials", &"[redacted]")
            .field("account_id", &self.account_id)
            .field("pace", &self.pace)
            .finish_non_exhaustive()
    }
}

struct Inner {
    pipe: Pipe,
    child: Mutex<Child>,
    stderr: Arc<StderrLog>,
    stderr_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    redactor: Redactor,
    exited: AtomicBool,
    /// The open `order_updates` streams: notifications and every order
    /// state read through the bridge feed them.
    updates: Arc<UpdateHub>,
    /// Streams fed by the child's notifications, kept open here until their
    /// consumer drops them or the child's output ends.
    streams: std::sync::Mutex<Vec<Arc<Feed>>>,
    /// Orders taken through this adapter and their last known state: what a
    /// polled stream follows, and where a new stream starts from.
    tracked: std::sync::Mutex<BTreeMap<String, OrderResult>>,
    /// The adapter was asked to push order updates (once, at the first stream).
    subscribed: AtomicBool,
}

/// An adapter running in another process, seen through the contract.
pub struct ExternalAdapter {
    inner: Arc<Inner>,
    description: Description,
    account_id: String,
    request_timeout: Duration,
    poll_interval: Duration,
    pace: u32,
}

impl std::fmt::Debug for ExternalAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalAdapter")
            .field("name", &self.description.name)
            .field("broker", &self.description.broker)
            .field("account_id", &self.account_id)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn tail(&self) -> String {
        self.stderr.tail(TAIL_LINES)
    }

    /// An error about the child itself, with what it last said on stderr.
    fn child_error(&self, message: String) -> AdapterError {
        let tail = self.tail();
        let message = if tail.is_empty() {
            message
        } else {
            format!("{message}; stderr: {tail}")
        };
        AdapterError::unknown(self.redactor.apply("its stderr", &message))
    }

    /// The child closed its stdout or stdin: collect its exit status and last
    /// words, and break the pipe for every later call.
    async fn exited_error(&self) -> AdapterError {
        self.exited.store(true, Ordering::SeqCst);
        let status = {
            let mut child = self.child.lock().await;
            process::wait_exit(&mut child, Duration::from_secs(1)).await
        };
        // Stderr may still hold its last lines: let the reader reach EOF.
        if let Some(task) = self.stderr_task.lock().await.take() {
            let _ = tokio::time::timeout(Duration::from_millis(500), task).await;
        }
        let err = self.child_error(format!(
            "adapter process exited ({})",
            process::describe_exit(status)
        ));
        self.pipe.break_with(err.message.clone()).await;
        err
    }

    /// One request and its answer, within `deadline`.
    async fn call(&self, method: &str, params: Value, deadline: Duration) -> Result<Value> {
        match self.pipe.call(method, params, deadline).await {
            Ok(v) => Ok(v),
            Err(CallError::Answered(mut e)) => {
                e.message = self
                    .redactor
                    .apply(&format!("the error it answered {method} with"), &e.message);
                Err(e)
            }
            Err(CallError::Broken(reason)) => Err(AdapterError::unknown(reason)),
            Err(CallError::Closed) => Err(self.exited_error().await),
            Err(CallError::Late) => {
                // Not a child error: the child may still answer; that late
                // answer is discarded by its id.
                let tail = self.tail();
                let mut message = format!(
                    "adapter did not answer {method} within {} ms",
                    deadline.as_millis()
                );
                if !tail.is_empty() {
                    message = format!("{message}; stderr: {tail}");
                }
                Err(AdapterError::timeout(
                    self.redactor.apply("its stderr", &message),
                ))
            }
        }
    }

    /// A notification from the child.
    fn notice(&self, method: &str, params: Value) {
        match method {
            "order_update" => {
                match serde_json::from_value::<OrderResult>(params["order"].clone()) {
                    Ok(r) => self.learn(&r),
                    Err(e) => self.updates.fail(AdapterError::unknown(format!(
                        "adapter sent a malformed order_update: {e}"
                    ))),
                }
            }
            "order_update_error" => {
                let mut e = rpc::notice_error(&params);
                e.message = self.redactor.apply("an order_update_error", &e.message);
                self.updates.fail(e);
            }
            other => tracing::debug!(target: "adapters::bridge", "ignoring notification {other:?}"),
        }
    }

    /// An order state the bridge learnt: remembered, and news for the streams.
    fn learn(&self, r: &OrderResult) {
        if let Ok(mut t) = self.tracked.lock() {
            t.insert(r.broker_order_id.clone(), r.clone());
        }
        self.updates.observe(r);
    }

    /// Starts killing the child now (Drop and failed start-up).
    fn kill(&self) {
        self.exited.store(true, Ordering::SeqCst);
        if let Ok(mut child) = self.child.try_lock() {
            let _ = child.start_kill();
        }
    }
}

/// Decodes a result into the contract type the method promises.
fn decode<T: DeserializeOwned>(method: &str, value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| {
        AdapterError::unknown(format!(
            "adapter answered {method} with a malformed result: {e}"
        ))
    })
}

impl ExternalAdapter {
    /// Starts the child and asks it to `describe` itself.
    pub async fn spawn(config: BridgeConfig) -> Result<Self> {
        let redactor = Redactor::from_credentials(&config.credentials);
        let mut env = vec![
            ("RAXX_BROKER", config.broker.clone()),
            ("RAXX_BASE_URL", config.base_url.clone()),
            ("RAXX_CREDENTIALS", config.credentials.to_string()),
        ];
        env.extend(config.env.iter().map(|(k, v)| (k.as_str(), v.clone())));
        let spawned = process::spawn(&config.command, &env, redactor.clone()).map_err(|e| {
            AdapterError::unknown(format!(
                "adapter command {:?} could not start: {e}",
                config.command.first().map(String::as_str).unwrap_or("")
            ))
        })?;
        let inner = Arc::new_cyclic(|me: &std::sync::Weak<Inner>| {
            // The reader ends by itself when the child's stdout closes.
            let (pipe, _reader) = Pipe::start(spawned.stdin, spawned.stdout, Heard(me.clone()));
            Inner {
                pipe,
                child: Mutex::new(spawned.child),
                stderr: spawned.stderr,
                stderr_task: Mutex::new(Some(spawned.stderr_task)),
                redactor,
                exited: AtomicBool::new(false),
                updates: Arc::new(UpdateHub::default()),
                streams: std::sync::Mutex::new(Vec::new()),
                tracked: std::sync::Mutex::new(BTreeMap::new()),
                subscribed: AtomicBool::new(false),
            }
        });
        let description = match inner
            .call("describe", json!({ "protocol": 2 }), STARTUP_DEADLINE)
            .await
        {
            Ok(v) => decode::<Description>("describe", v),
            Err(e) => Err(e),
        };
        let description = match description {
            Ok(d) => d,
            Err(e) => {
                inner.kill();
                return Err(e);
            }
        };
        if description.broker != config.broker {
            tracing::warn!(
                target: "adapters::bridge",
                "adapter describes itself as {:?}, started for {:?}",
                description.broker,
                config.broker
            );
        }
        let request_timeout = Duration::from_millis(
            description
                .request_timeout_ms
                .unwrap_or(DEFAULT_REQUEST_TIMEOUT_MS),
        );
        let pace = config.pace.max(1);
        Ok(Self {
            inner,
            description,
            account_id: config.account_id,
            request_timeout,
            poll_interval: DEFAULT_POLL_INTERVAL / pace,
            pace,
        })
    }

    /// How often `order_updates` polls (tokio time).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// The deadline one call to `method` gets (see the module docs), in
    /// real time: the child's own time divided by its pace.
    pub fn deadline(&self, method: &str) -> Duration {
        let own = match method {
            "submit_order" => self.request_timeout * SUBMIT_ATTEMPTS + CALL_MARGIN,
            _ => self.request_timeout + CALL_MARGIN,
        };
        own / self.pace
    }

    /// The newest lines the child wrote on stderr (credentials scrubbed).
    pub fn stderr_lines(&self) -> Vec<String> {
        self.inner.stderr.lines()
    }

    /// Asks the child to shut down, waits for it to exit, and kills it if it
    /// does not within [`SHUTDOWN_GRACE`]. Returns how it ended.
    pub async fn shutdown(&self) -> Result<()> {
        let asked = if self.inner.exited.load(Ordering::SeqCst) {
            Ok(Value::Null)
        } else {
            self.call("shutdown", json!({})).await
        };
        self.inner.exited.store(true, Ordering::SeqCst);
        // Closing stdin is the other way of saying "no more requests".
        self.inner.pipe.close("adapter was shut down").await;
        let mut child = self.inner.child.lock().await;
        if process::wait_exit(&mut child, SHUTDOWN_GRACE)
            .await
            .is_none()
        {
            let _ = child.kill().await;
        }
        asked.map(|_| ())
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.inner.call(method, params, self.deadline(method)).await
    }

    /// Calls `method` and decodes its order result, which every stream learns.
    async fn order_call(&self, method: &str, params: Value) -> Result<OrderResult> {
        let r: OrderResult = decode(method, self.call(method, params).await?)?;
        self.inner.learn(&r);
        Ok(r)
    }
}

impl Drop for ExternalAdapter {
    fn drop(&mut self) {
        self.inner.kill();
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Revoked {
    revoked: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Positions {
    positions: Vec<Position>,
}

#[async_trait]
impl BrokerAdapter for ExternalAdapter {
    fn describe(&self) -> Description {
        self.description.clone()
    }

    fn account_id(&self) -> &str {
        &self.account_id
    }

    async fn submit_order(&self, order: &Order) -> Result<OrderResult> {
        self.order_call("submit_order", json!({ "order": order }))
            .await
    }

    async fn cancel_order(&self, broker_order_id: &str) -> Result<CancelResult> {
        let v = self
            .call(
                "cancel_order",
                json!({ "broker_order_id": broker_order_id }),
            )
            .await?;
        decode("cancel_order", v)
    }

    async fn get_order(&self, broker_order_id: &str) -> Result<OrderResult> {
        self.order_call("get_order", json!({ "broker_order_id": broker_order_id }))
            .await
    }

    async fn replace_order(&self, broker_order_id: &str, changes: &Replace) -> Result<OrderResult> {
        if !self.description.capabilities.replace {
            return Err(AdapterError::unsupported(format!(
                "{} cannot replace orders (order {broker_order_id} is unchanged)",
                self.description.name
            )));
        }
        let params = json!({ "broker_order_id": broker_order_id, "changes": changes });
        self.order_call("replace_order", params).await
    }

    async fn get_positions(&self) -> Result<Vec<Position>> {
        let v = self.call("get_positions", json!({})).await?;
        Ok(decode::<Positions>("get_positions", v)?.positions)
    }

    /// A Tier B adapter reads through an aggregator's cache: it is asked
    /// `get_holdings` and must say how old they are (a child without the
    /// method fails the call). Any other reads its broker live, and its
    /// positions are its holdings, of no stated age.
    async fn get_holdings(&self) -> Result<Holdings> {
        if self.description.tier != Tier::B {
            return Ok(Holdings {
                account_id: self.account_id.clone(),
                positions: self.get_positions().await?,
                as_of: None,
            });
        }
        let v = self.call("get_holdings", json!({})).await?;
        let holdings: Holdings = decode("get_holdings", v)?;
        if holdings.account_id != self.account_id {
            return Err(AdapterError::unknown(format!(
                "adapter answered get_holdings for account {:.40}, not {}",
                holdings.account_id, self.account_id
            )));
        }
        Ok(holdings)
    }

    async fn get_account(&self) -> Result<Account> {
        let v = self.call("get_account", json!({})).await?;
        decode("get_account", v)
    }

    fn credential_leaks(&self) -> Vec<String> {
        self.inner.redactor.caught()
    }

    /// The child's own revoke (`revoke` → `{revoked}`): passed through, as
    /// the trait asks of a wrapper. raxx_bridge answers false for an
    /// adapter with no way to revoke at its vendor.
    async fn revoke(&self) -> Result<bool> {
        let v = self.call("revoke", json!({})).await?;
        Ok(decode::<Revoked>("revoke", v)?.revoked)
    }

    async fn order_updates(&self) -> Result<OrderUpdates> {
        let (feed, updates) = self.inner.updates.open();
        // Orders taken before this stream: their states so far are not news.
        let known: Vec<OrderResult> = self
            .inner
            .tracked
            .lock()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default();
        for r in &known {
            feed.know(r);
        }
        if self.description.capabilities.streaming {
            if !self.inner.subscribed.swap(true, Ordering::SeqCst) {
                if let Err(e) = self.call("subscribe_order_updates", json!({})).await {
                    self.inner.subscribed.store(false, Ordering::SeqCst);
                    return Err(e);
                }
            }
            if let Ok(mut streams) = self.inner.streams.lock() {
                streams.retain(|f| !f.is_closed());
                streams.push(feed);
            }
            return Ok(updates);
        }
        tokio::spawn(poll(
            self.inner.clone(),
            feed,
            self.deadline("get_order"),
            self.poll_interval,
        ));
        Ok(updates)
    }
}

/// What the pipe's reader hears besides answers, for the adapter.
struct Heard(std::sync::Weak<Inner>);

impl pipe::Events for Heard {
    fn notice(&self, method: &str, params: Value) {
        if let Some(inner) = self.0.upgrade() {
            inner.notice(method, params);
        }
    }

    fn garbage(&self, e: AdapterError) {
        if let Some(inner) = self.0.upgrade() {
            let line = format!(
                "(bridge) {}",
                inner.redactor.apply("its stdout", &e.message)
            );
            inner.stderr.push(line);
        }
    }

    /// The child's output ended: its streams end too, saying so.
    fn closed(&self) {
        if let Some(inner) = self.0.upgrade() {
            inner.updates.end(gone());
            if let Ok(mut streams) = inner.streams.lock() {
                streams.clear();
            }
        }
    }
}

fn gone() -> AdapterError {
    AdapterError::unknown("adapter process is gone; no more order updates")
}

/// Follows an adapter that does not stream: every `interval`, each order
/// taken through the bridge that this stream has not seen finish is read
/// with `get_order` (which feeds every stream).
async fn poll(inner: Arc<Inner>, feed: Arc<Feed>, deadline: Duration, interval: Duration) {
    loop {
        tokio::select! {
            biased;
            _ = feed.closed() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        if inner.exited.load(Ordering::SeqCst) {
            feed.end(gone());
            return;
        }
        let ids: Vec<String> = inner
            .tracked
            .lock()
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        for id in ids.into_iter().filter(|id| !feed.finished(id)) {
            let params = json!({ "broker_order_id": id });
            let answer = inner
                .call("get_order", params, deadline)
                .await
                .and_then(|v| decode::<OrderResult>("get_order", v));
            match answer {
                Ok(r) => inner.learn(&r),
                // A slow or throttled poll is simply tried again next tick.
                Err(e) if e.kind.is_transient() => {}
                Err(e) => {
                    if e.kind == ErrorKind::NotFound {
                        if let Ok(mut t) = inner.tracked.lock() {
                            t.remove(&id);
                        }
                    }
                    if !feed.offer(Err(e)) {
                        return;
                    }
                }
            }
        }
    }
}
