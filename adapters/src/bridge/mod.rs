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
//! Credentials go to the child in `RAXX_CREDENTIALS` only; they are never
//! kept, never printed by `Debug`, and scrubbed from anything the child says
//! before it reaches an error message or `stderr_lines()`.

mod process;
mod rpc;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::Mutex;

use crate::adapter::{BrokerAdapter, OrderUpdates};
use crate::contract::{Account, CancelResult, Description, Order, OrderResult, Position};
use crate::error::{AdapterError, ErrorKind, Result};

use process::{LineReader, Redactor, StderrLog};
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
            .finish()
    }
}

/// The request/response pipe; the tokio mutex around it is what makes the
/// bridge one-request-at-a-time.
struct Pipe {
    stdin: ChildStdin,
    stdout: LineReader<ChildStdout>,
    next_id: u64,
    /// Set once the pipe cannot be trusted any more (the child exited, or a
    /// write was cut off mid-line); every later call fails with this message.
    broken: Option<String>,
    /// True while a request line is being written: if a deadline interrupts
    /// it, half a line went out and framing is lost for good.
    writing: bool,
}

struct Inner {
    pipe: Mutex<Pipe>,
    child: Mutex<Child>,
    stderr: Arc<StderrLog>,
    stderr_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    redactor: Redactor,
    exited: AtomicBool,
    /// Orders submitted through this adapter, with their last known state:
    /// what `order_updates` polls (the bridge has no stream method).
    tracked: std::sync::Mutex<BTreeMap<String, OrderResult>>,
}

/// An adapter running in another process, seen through the contract.
pub struct ExternalAdapter {
    inner: Arc<Inner>,
    description: Description,
    account_id: String,
    request_timeout: Duration,
    poll_interval: Duration,
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
        AdapterError::unknown(self.redactor.apply(&message))
    }

    /// The child closed its stdout or stdin: collect its exit status and last
    /// words, and break the pipe for every later call.
    async fn exited_error(&self, pipe: &mut Pipe) -> AdapterError {
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
        pipe.broken = Some(err.message.clone());
        err
    }

    /// One request and its answer, within `deadline`.
    async fn call(&self, method: &str, params: Value, deadline: Duration) -> Result<Value> {
        let mut pipe = self.pipe.lock().await;
        if let Some(reason) = &pipe.broken {
            return Err(AdapterError::unknown(reason.clone()));
        }
        let id = pipe.next_id;
        pipe.next_id += 1;
        let line = rpc::request_line(id, method, params);
        match tokio::time::timeout(deadline, self.exchange(&mut pipe, id, line)).await {
            Ok(answer) => answer,
            Err(_) => {
                if pipe.writing {
                    pipe.broken = Some(
                        "adapter stopped reading its stdin mid-request; the pipe is unusable"
                            .to_string(),
                    );
                }
                // Not a child error: the child may still answer; that late
                // answer is discarded by id in a later exchange.
                let tail = self.tail();
                let mut message = format!(
                    "adapter did not answer {method} (request {id}) within {} ms",
                    deadline.as_millis()
                );
                if !tail.is_empty() {
                    message = format!("{message}; stderr: {tail}");
                }
                Err(AdapterError::timeout(self.redactor.apply(&message)))
            }
        }
    }

    async fn exchange(&self, pipe: &mut Pipe, id: u64, mut line: String) -> Result<Value> {
        line.push('\n');
        pipe.writing = true;
        let written = async {
            pipe.stdin.write_all(line.as_bytes()).await?;
            pipe.stdin.flush().await
        }
        .await;
        pipe.writing = false;
        if written.is_err() {
            return Err(self.exited_error(pipe).await);
        }
        loop {
            let line = match pipe.stdout.next_line().await {
                Ok(Some(line)) => line,
                Ok(None) | Err(_) => return Err(self.exited_error(pipe).await),
            };
            if line.trim().is_empty() {
                continue;
            }
            match rpc::parse_reply(&line, id) {
                rpc::Reply::Answer(got, answer) if got == id => {
                    return answer.map_err(|mut e| {
                        e.message = self.redactor.apply(&e.message);
                        e
                    });
                }
                rpc::Reply::Answer(got, _) if got < id => {
                    tracing::debug!(
                        target: "adapters::bridge",
                        "discarding the late answer to request {got}"
                    );
                }
                rpc::Reply::Answer(got, _) => {
                    return Err(self.child_error(format!(
                        "adapter answered request {got} while request {id} was in flight: {:?}",
                        rpc::quote(&line)
                    )));
                }
                rpc::Reply::Garbage(e) => return Err(self.child_error(e.message)),
            }
        }
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
        let env = [
            ("RAXX_BROKER", config.broker.clone()),
            ("RAXX_BASE_URL", config.base_url.clone()),
            ("RAXX_CREDENTIALS", config.credentials.to_string()),
        ];
        let spawned = process::spawn(&config.command, &env, redactor.clone()).map_err(|e| {
            AdapterError::unknown(format!(
                "adapter command {:?} could not start: {e}",
                config.command.first().map(String::as_str).unwrap_or("")
            ))
        })?;
        let inner = Arc::new(Inner {
            pipe: Mutex::new(Pipe {
                stdin: spawned.stdin,
                stdout: spawned.stdout,
                next_id: 1,
                broken: None,
                writing: false,
            }),
            child: Mutex::new(spawned.child),
            stderr: spawned.stderr,
            stderr_task: Mutex::new(Some(spawned.stderr_task)),
            redactor,
            exited: AtomicBool::new(false),
            tracked: std::sync::Mutex::new(BTreeMap::new()),
        });
        let description = match inner.call("describe", json!({}), STARTUP_DEADLINE).await {
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
        Ok(Self {
            inner,
            description,
            account_id: config.account_id,
            request_timeout,
            poll_interval: DEFAULT_POLL_INTERVAL,
        })
    }

    /// How often `order_updates` polls (tokio time).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// The deadline one call to `method` gets (see the module docs).
    pub fn deadline(&self, method: &str) -> Duration {
        match method {
            "submit_order" => self.request_timeout * SUBMIT_ATTEMPTS + CALL_MARGIN,
            _ => self.request_timeout + CALL_MARGIN,
        }
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
        {
            let mut pipe = self.inner.pipe.lock().await;
            let _ = pipe.stdin.shutdown().await;
            pipe.broken = Some("adapter was shut down".to_string());
        }
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

    fn track(&self, result: &OrderResult) {
        if let Ok(mut tracked) = self.inner.tracked.lock() {
            tracked.insert(result.broker_order_id.clone(), result.clone());
        }
    }
}

impl Drop for ExternalAdapter {
    fn drop(&mut self) {
        self.inner.kill();
    }
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
        let v = self.call("submit_order", json!({ "order": order })).await?;
        let result: OrderResult = decode("submit_order", v)?;
        self.track(&result);
        Ok(result)
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
        let v = self
            .call("get_order", json!({ "broker_order_id": broker_order_id }))
            .await?;
        decode("get_order", v)
    }

    async fn get_positions(&self) -> Result<Vec<Position>> {
        let v = self.call("get_positions", json!({})).await?;
        Ok(decode::<Positions>("get_positions", v)?.positions)
    }

    async fn get_account(&self) -> Result<Account> {
        let v = self.call("get_account", json!({})).await?;
        decode("get_account", v)
    }

    async fn order_updates(&self) -> Result<OrderUpdates> {
        let known = self
            .inner
            .tracked
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default();
        let state = Poller {
            inner: self.inner.clone(),
            deadline: self.deadline("get_order"),
            interval: self.poll_interval,
            known,
            pending: VecDeque::new(),
            done: false,
        };
        let updates = stream::unfold(state, |mut s| async move {
            loop {
                if let Some(next) = s.pending.pop_front() {
                    return Some((next, s));
                }
                if s.done {
                    return None;
                }
                tokio::time::sleep(s.interval).await;
                s.poll().await;
            }
        });
        Ok(Box::pin(updates))
    }
}

/// One `order_updates` stream: polls `get_order` for the orders submitted
/// through the adapter and hands out each change once.
struct Poller {
    inner: Arc<Inner>,
    deadline: Duration,
    interval: Duration,
    /// This stream's last view of each order. Orders known when the stream
    /// began start from their known state; later ones from nothing, so their
    /// first polled state is emitted.
    known: BTreeMap<String, OrderResult>,
    pending: VecDeque<Result<OrderResult>>,
    done: bool,
}

impl Poller {
    async fn poll(&mut self) {
        if self.inner.exited.load(Ordering::SeqCst) {
            self.pending.push_back(Err(AdapterError::unknown(
                "adapter process is gone; no more order updates",
            )));
            self.done = true;
            return;
        }
        let ids: Vec<String> = self
            .inner
            .tracked
            .lock()
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            if self.known.get(&id).is_some_and(|r| r.status.is_terminal()) {
                continue;
            }
            let answer = self
                .inner
                .call("get_order", json!({ "broker_order_id": id }), self.deadline)
                .await
                .and_then(|v| decode::<OrderResult>("get_order", v));
            match answer {
                Ok(r) => {
                    if self.known.get(&id) != Some(&r) {
                        if let Ok(mut t) = self.inner.tracked.lock() {
                            t.insert(id.clone(), r.clone());
                        }
                        self.known.insert(id, r.clone());
                        self.pending.push_back(Ok(r));
                    }
                }
                // A slow or throttled poll is simply tried again next tick.
                Err(e) if e.kind.is_transient() => {}
                Err(e) => {
                    if self.inner.exited.load(Ordering::SeqCst) {
                        self.done = true;
                    }
                    if e.kind == ErrorKind::NotFound {
                        if let Ok(mut t) = self.inner.tracked.lock() {
                            t.remove(&id);
                        }
                    }
                    self.pending.push_back(Err(e));
                    if self.done {
                        return;
                    }
                }
            }
        }
    }
}
