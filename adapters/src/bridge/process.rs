//! The child process: spawning it, reading its lines without trusting their
//! length, keeping its stderr, and making sure it dies.
//!
//! Everything here treats the child as untrusted: lines are read with a cap,
//! decoded lossily, and scrubbed of the credentials we handed it before they
//! are kept or shown to anyone.

use std::collections::VecDeque;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

/// The longest line kept whole; longer lines are cut (and then fail to parse).
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// How many stderr lines are kept (the newest).
pub const STDERR_LINES: usize = 200;
/// The longest stderr line kept, in characters.
const STDERR_LINE_CHARS: usize = 2_000;

/// Reads `\n`-terminated lines with a length cap. Cancel-safe: a partial line
/// lives in `self`, not in the future, so a timeout around `next_line` loses
/// nothing and the next call carries on where this one stopped.
pub struct LineReader<R> {
    inner: BufReader<R>,
    partial: Vec<u8>,
    overlong: bool,
    max_line: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(reader: R) -> Self {
        Self::with_max_line(reader, MAX_LINE_BYTES)
    }

    /// A reader that keeps at most `max_line` bytes of a line (the fuzz
    /// target uses a small cap so that its short inputs reach the cut).
    pub(crate) fn with_max_line(reader: R, max_line: usize) -> Self {
        Self {
            inner: BufReader::new(reader),
            partial: Vec::new(),
            overlong: false,
            max_line,
        }
    }

    /// The next line (lossy UTF-8, without its line ending), or None at EOF.
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        loop {
            let buf = self.inner.fill_buf().await?;
            if buf.is_empty() {
                if self.partial.is_empty() && !self.overlong {
                    return Ok(None);
                }
                return Ok(Some(self.take_line()));
            }
            let (chunk, used, done) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (&buf[..i], i + 1, true),
                None => (buf, buf.len(), false),
            };
            let room = self.max_line.saturating_sub(self.partial.len());
            if chunk.len() > room {
                self.overlong = true;
            }
            self.partial
                .extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.inner.consume(used);
            if done {
                return Ok(Some(self.take_line()));
            }
        }
    }

    fn take_line(&mut self) -> String {
        let bytes = std::mem::take(&mut self.partial);
        self.overlong = false;
        let mut line = String::from_utf8_lossy(&bytes).into_owned();
        if line.ends_with('\r') {
            line.pop();
        }
        line
    }
}

/// Removes the credentials we gave the child from anything it says, and
/// remembers where it said one: scrubbed here, the leak would be invisible
/// to whoever checks the adapter, yet its own logs in production keep it.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
    caught: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// Every string value in the credential object (at any depth) is a secret.
    /// Very short values are skipped: redacting "1" would shred every message.
    pub fn from_credentials(credentials: &Value) -> Self {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::String(s) if s.chars().count() >= 4 => out.push(s.clone()),
                Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
                Value::Object(map) => map.values().for_each(|i| walk(i, out)),
                _ => {}
            }
        }
        let mut secrets = Vec::new();
        walk(credentials, &mut secrets);
        // Longest first, so a secret containing another is removed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self {
            secrets,
            caught: Arc::default(),
        }
    }

    /// `text` without credentials; `source` says where the child put it,
    /// for [`Redactor::caught`].
    pub fn apply(&self, source: &str, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "[redacted]");
                self.caught
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(format!(
                        "the adapter put a credential ({} chars) in {source}",
                        s.len()
                    ));
            }
        }
        out
    }

    /// Every place a credential was scrubbed from, in order.
    pub fn caught(&self) -> Vec<String> {
        self.caught
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The newest stderr lines, shared between the reader task and the adapter.
#[derive(Debug, Default)]
pub struct StderrLog {
    lines: Mutex<VecDeque<String>>,
}

impl StderrLog {
    pub fn push(&self, line: String) {
        let mut lines = self
            .lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if lines.len() == STDERR_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// The last `n` lines on one line, for error messages ("" when silent).
    pub fn tail(&self, n: usize) -> String {
        let lines = self.lines();
        let start = lines.len().saturating_sub(n);
        lines[start..].join(" | ")
    }
}

/// What `spawn` hands back: the child, its stdin and stdout for the RPC
/// pipe, and its stderr already being collected.
pub struct Spawned {
    pub child: Child,
    pub stdin: ChildStdin,
    pub stdout: LineReader<ChildStdout>,
    pub stderr: Arc<StderrLog>,
    pub stderr_task: JoinHandle<()>,
}

/// Starts `command` with the bridge's environment and piped stdio.
pub fn spawn(
    command: &[String],
    env: &[(&str, String)],
    redactor: Redactor,
) -> io::Result<Spawned> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty adapter command"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A bridge that is dropped without shutdown must not leave orphans.
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn()?;
    let missing = || io::Error::other("child stdio was not piped");
    let stdin = child.stdin.take().ok_or_else(missing)?;
    let stdout = child.stdout.take().ok_or_else(missing)?;
    let stderr_pipe = child.stderr.take().ok_or_else(missing)?;
    let stderr = Arc::new(StderrLog::default());
    let log = stderr.clone();
    let stderr_task = tokio::spawn(async move {
        let mut reader = LineReader::new(stderr_pipe);
        while let Ok(Some(line)) = reader.next_line().await {
            let line: String = redactor
                .apply("its stderr", &line)
                .chars()
                .take(STDERR_LINE_CHARS)
                .collect();
            tracing::debug!(target: "adapters::bridge::stderr", "{line}");
            log.push(line);
        }
    });
    Ok(Spawned {
        child,
        stdin,
        stdout: LineReader::new(stdout),
        stderr,
        stderr_task,
    })
}

/// Waits up to `within` for the child to exit.
pub async fn wait_exit(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    tokio::time::timeout(within, child.wait())
        .await
        .ok()
        .and_then(Result::ok)
}

/// How an exit reads in a message: "exit status: 3", "signal: 9 (SIGKILL)".
pub fn describe_exit(status: Option<ExitStatus>) -> String {
    match status {
        Some(s) => s.to_string(),
        None => "still running, but its stdout is closed".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_capped_and_split() {
        let mut data = b"one\r\ntwo\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
        data.extend(b"\nlast");
        let mut r = LineReader::new(&data[..]);
        assert_eq!(r.next_line().await.unwrap().as_deref(), Some("one"));
        assert_eq!(r.next_line().await.unwrap().as_deref(), Some("two"));
        assert_eq!(r.next_line().await.unwrap().unwrap().len(), MAX_LINE_BYTES);
        assert_eq!(r.next_line().await.unwrap().as_deref(), Some("last"));
        assert_eq!(r.next_line().await.unwrap(), None);
    }

    #[test]
    fn secrets_are_redacted_and_not_debugged() {
        let r = Redactor::from_credentials(&serde_json::json!({
            "key_id": "PKTEST1234", "secret_key": "s3cr3t-value", "n": 1, "x": "ab"
        }));
        assert!(r.caught().is_empty());
        let said = r.apply("a test", "auth with PKTEST1234 / s3cr3t-value failed (ab)");
        assert_eq!(said, "auth with [redacted] / [redacted] failed (ab)");
        assert_eq!(r.caught().len(), 2);
        assert!(r
            .caught()
            .iter()
            .all(|c| c.ends_with("in a test") && !c.contains("s3cr3t")));
        assert!(!format!("{r:?}").contains("s3cr3t"));
    }

    #[test]
    fn stderr_keeps_the_newest_lines() {
        let log = StderrLog::default();
        for i in 0..(STDERR_LINES + 5) {
            log.push(format!("line {i}"));
        }
        let lines = log.lines();
        assert_eq!(lines.len(), STDERR_LINES);
        assert_eq!(lines[0], "line 5");
        assert_eq!(
            log.tail(2),
            format!("line {} | line {}", STDERR_LINES + 3, STDERR_LINES + 4)
        );
    }
}
