//! The request/response pipe to the child. Requests go out one at a time
//! (the writer's lock is held for a whole call); one reader task reads
//! every line the child prints and routes it: the answer to the request in
//! flight goes to its caller, a late answer to an abandoned request is
//! discarded by its id, and a notification (no id) goes to `on_notice`
//! whenever it comes — between requests too.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::oneshot;

use super::process::LineReader;
use super::rpc::{self, Reply};
use crate::error::AdapterError;

/// Why a call could not complete.
pub enum CallError {
    /// The child answered with an error, or broke the protocol.
    Answered(AdapterError),
    /// The child's stdout closed (it exited) or its stdin did: the pipe is gone.
    Closed,
    /// No answer within the deadline; the child may still answer later.
    Late,
    /// The pipe was broken earlier, for this reason.
    Broken(String),
}

/// The request in flight, shared with the reader task.
#[derive(Default)]
struct InFlight {
    id: u64,
    reply: Option<oneshot::Sender<std::result::Result<Value, AdapterError>>>,
    /// The reader saw the end of the child's stdout.
    closed: bool,
}

struct Writer {
    stdin: ChildStdin,
    next_id: u64,
    /// Set once the pipe cannot be trusted any more; every later call fails.
    broken: Option<String>,
    /// True while a request line is being written: if a deadline interrupts
    /// it, half a line went out and framing is lost for good.
    writing: bool,
}

pub struct Pipe {
    writer: tokio::sync::Mutex<Writer>,
    in_flight: Arc<Mutex<InFlight>>,
}

fn lock(m: &Mutex<InFlight>) -> MutexGuard<'_, InFlight> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pipe {
    /// Starts reading `stdout`: `events` hears each notification, each
    /// line that belongs to no request, and the end of the output.
    pub fn start(
        stdin: ChildStdin,
        stdout: LineReader<ChildStdout>,
        events: impl Events + Send + 'static,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let in_flight = Arc::new(Mutex::new(InFlight::default()));
        let reader = tokio::spawn(read(stdout, in_flight.clone(), events));
        let pipe = Self {
            writer: tokio::sync::Mutex::new(Writer {
                stdin,
                next_id: 1,
                broken: None,
                writing: false,
            }),
            in_flight,
        };
        (pipe, reader)
    }

    /// One request and its answer within `deadline`.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        deadline: Duration,
    ) -> std::result::Result<Value, CallError> {
        let mut w = self.writer.lock().await;
        if let Some(reason) = &w.broken {
            return Err(CallError::Broken(reason.clone()));
        }
        let id = w.next_id;
        w.next_id += 1;
        let (tx, rx) = oneshot::channel();
        {
            let mut f = lock(&self.in_flight);
            if f.closed {
                return Err(CallError::Closed);
            }
            *f = InFlight {
                id,
                reply: Some(tx),
                closed: false,
            };
        }
        let mut line = rpc::request_line(id, method, params);
        line.push('\n');
        let exchange = async {
            w.writing = true;
            let written = async {
                w.stdin.write_all(line.as_bytes()).await?;
                w.stdin.flush().await
            }
            .await;
            w.writing = false;
            if written.is_err() {
                return Err(CallError::Closed);
            }
            match rx.await {
                Ok(answer) => answer.map_err(CallError::Answered),
                Err(_) => Err(CallError::Closed),
            }
        };
        let outcome = tokio::time::timeout(deadline, exchange).await;
        // Whatever happened, this request is no longer waited for: a late
        // answer is discarded by its id.
        lock(&self.in_flight).reply = None;
        match outcome {
            Ok(result) => result,
            Err(_) => {
                if w.writing {
                    w.broken = Some(
                        "adapter stopped reading its stdin mid-request; the pipe is unusable"
                            .to_string(),
                    );
                }
                Err(CallError::Late)
            }
        }
    }

    /// Marks the pipe broken for every later call.
    pub async fn break_with(&self, reason: String) {
        self.writer.lock().await.broken = Some(reason);
    }

    /// Closes the child's stdin: "no more requests".
    pub async fn close(&self, reason: &str) {
        let mut w = self.writer.lock().await;
        let _ = w.stdin.shutdown().await;
        w.broken = Some(reason.to_string());
    }
}

/// What the reader hears besides answers.
pub trait Events {
    /// A notification (a line with a method and no id).
    fn notice(&self, method: &str, params: Value);
    /// A line that belongs to no request.
    fn garbage(&self, e: AdapterError);
    /// The child's stdout closed.
    fn closed(&self);
}

/// Reads every line of the child's stdout until it closes.
async fn read(
    mut stdout: LineReader<ChildStdout>,
    in_flight: Arc<Mutex<InFlight>>,
    events: impl Events,
) {
    loop {
        let line = match stdout.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) | Err(_) => break,
        };
        if line.trim().is_empty() {
            continue;
        }
        let current = lock(&in_flight).id;
        match rpc::parse_reply(&line, current) {
            Reply::Notice(method, params) => events.notice(&method, params),
            Reply::Answer(got, answer) => {
                let mut f = lock(&in_flight);
                match f.reply.take() {
                    Some(tx) if got == f.id => {
                        let _ = tx.send(answer);
                    }
                    Some(tx) if got > f.id => {
                        let _ = tx.send(Err(AdapterError::unknown(format!(
                            "adapter answered request {got} while request {} was in flight: {:?}",
                            f.id,
                            rpc::quote(&line)
                        ))));
                    }
                    // A late answer to a request given up on: not ours.
                    waiting => {
                        f.reply = waiting;
                        tracing::debug!(target: "adapters::bridge", "discarding the late answer to request {got}");
                    }
                }
            }
            Reply::Garbage(e) => match lock(&in_flight).reply.take() {
                Some(tx) => {
                    let _ = tx.send(Err(e));
                }
                None => events.garbage(e),
            },
        }
    }
    {
        let mut f = lock(&in_flight);
        f.closed = true;
        // Dropping the sender tells a waiting caller the pipe is closed.
        f.reply = None;
    }
    events.closed();
}
