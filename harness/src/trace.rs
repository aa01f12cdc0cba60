//! The canonical trace of a run: every request and response on the
//! simulated wire, every adapter call and its result, every fault and fill,
//! in simulated-time order, as stable text that reads well in a diff.
//! Secrets are scrubbed when an entry is recorded, so no later step can leak them.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// Who an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Actor {
    /// A request arriving at a broker model, or its response leaving it.
    Wire,
    /// A call on the adapter under test, or its result.
    Adapter,
    /// Something the case did to the world (advance time, set a price, set faults).
    Control,
    /// What the broker did on its own: fills, cancels, expiries.
    Broker,
    /// A check the harness made.
    Check,
    /// What Raxx's order path (the gateway) did with a request.
    Path,
}

impl Actor {
    fn word(self) -> &'static str {
        match self {
            Actor::Wire => "wire",
            Actor::Adapter => "adapter",
            Actor::Control => "control",
            Actor::Broker => "broker",
            Actor::Check => "check",
            Actor::Path => "path",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Simulated time since the world started.
    pub at: Duration,
    pub actor: Actor,
    pub text: String,
}

/// A run's trace, shared by every part of a world. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    inner: Arc<Mutex<TraceInner>>,
}

#[derive(Debug, Default)]
struct TraceInner {
    entries: Vec<Entry>,
    secrets: Vec<String>,
    clock: Option<Clock>,
}

/// Where a trace reads "now", when not from the simulation (see `follow`).
#[derive(Clone)]
struct Clock(Arc<dyn Fn() -> Duration + Send + Sync>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// Replaces every occurrence of each secret with `[redacted]`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "[redacted]");
        }
    }
    out
}

impl Trace {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TraceInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Values that must never appear in the trace (credentials).
    pub fn add_secrets<'a>(&self, secrets: impl IntoIterator<Item = &'a str>) {
        let mut t = self.lock();
        for s in secrets {
            if !s.is_empty() && !t.secrets.iter().any(|k| k == s) {
                t.secrets.push(s.to_string());
            }
        }
        // Longest first, so a secret containing another is scrubbed whole.
        t.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    pub fn secrets(&self) -> Vec<String> {
        self.lock().secrets.clone()
    }

    /// Records `text` at simulated time `at`.
    pub fn record_at(&self, at: Duration, actor: Actor, text: impl AsRef<str>) {
        let mut t = self.lock();
        let text = redact(text.as_ref(), &t.secrets);
        t.entries.push(Entry { at, actor, text });
    }

    /// Records `text` now (see [`Trace::now`]).
    pub fn record(&self, actor: Actor, text: impl AsRef<str>) {
        self.record_at(self.now(), actor, text);
    }

    /// Reads "now" from `clock` from here on, instead of the simulation's
    /// elapsed time: a world with no simulation (a model served on real
    /// sockets for an adapter in another process) follows its model's
    /// clock, so its entries keep the order they happened in.
    pub fn follow(&self, clock: impl Fn() -> Duration + Send + Sync + 'static) {
        self.lock().clock = Some(Clock(Arc::new(clock)));
    }

    /// The time an entry recorded now gets: the clock it follows, else the
    /// simulation's elapsed time (zero outside a simulation).
    pub fn now(&self) -> Duration {
        // Read outside the trace's lock: the clock may take a model's lock,
        // which is also held while the trace is written.
        let clock = self.lock().clock.clone();
        clock.map_or_else(now, |c| (c.0)())
    }

    /// The entries in simulated-time order (stable: same-time entries keep
    /// the order they were recorded in).
    pub fn entries(&self) -> Vec<Entry> {
        let mut e = self.lock().entries.clone();
        e.sort_by_key(|e| e.at);
        e
    }

    /// The canonical text: one line per entry, `+seconds.millis actor text`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in self.entries() {
            let ms = e.at.as_millis();
            let _ = writeln!(
                out,
                "+{:>4}.{:03}s {:<7} {}",
                ms / 1000,
                ms % 1000,
                e.actor.word(),
                e.text
            );
        }
        out
    }

    /// SHA-256 of the canonical text, in hex: one seed, one hash.
    pub fn hash(&self) -> String {
        hex(&Sha256::digest(self.render().as_bytes()))
    }

    /// Lines around the first one containing `needle` (or the last `n` lines).
    pub fn excerpt(&self, needle: Option<&str>, n: usize) -> String {
        let text = self.render();
        let lines: Vec<&str> = text.lines().collect();
        let at = needle
            .and_then(|k| lines.iter().position(|l| l.contains(k)))
            .unwrap_or(lines.len().saturating_sub(n / 2));
        let from = at.saturating_sub(n / 2);
        let to = (from + n).min(lines.len());
        lines[from..to].join("\n")
    }
}

/// Simulated time since the world started (zero outside a simulation).
pub fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_the_trace_and_order_is_by_time() {
        let t = Trace::new();
        t.add_secrets(["PKSECRET123", "abc"]);
        t.record_at(
            Duration::from_millis(20),
            Actor::Wire,
            "GET /v2/account key=PKSECRET123",
        );
        t.record_at(
            Duration::from_millis(5),
            Actor::Adapter,
            "get_account() abc",
        );
        let text = t.render();
        assert!(
            !text.contains("PKSECRET123") && !text.contains("abc"),
            "{text}"
        );
        assert_eq!(
            text,
            "+   0.005s adapter get_account() [redacted]\n+   0.020s wire    GET /v2/account key=[redacted]\n"
        );
        let same = Trace::new();
        same.add_secrets(["PKSECRET123", "abc"]);
        same.record_at(
            Duration::from_millis(5),
            Actor::Adapter,
            "get_account() abc",
        );
        same.record_at(
            Duration::from_millis(20),
            Actor::Wire,
            "GET /v2/account key=PKSECRET123",
        );
        assert_eq!(t.hash(), same.hash());
    }
}
