//! The audit chain: every live order attempt on a connection with a
//! user-supplied credential, its answer and every later state change, in a
//! hash-chained log. The attempt's entry is durable before the broker sees
//! the order: [`AuditSink::append`] returns only once it is, and the caller
//! sends the order only after that.
//!
//! The log holds orders, answers and statuses, never credentials: no
//! [`AuditEvent`] has a field for one, and callers must not put a token, key
//! or secret into the JSON it carries (`order`, `outcome`, `detail`). The
//! file is read by people auditing trades, who have no business with them.
//!
//! # Format
//! One JSON object per line (JSONL), each line ending with `\n`:
//!
//! ```text
//! {"seq":1,"at":"2025-01-02T14:30:00Z","prev":"000…000","event":{"kind":"order_attempt",…},"hash":"9f2c…"}
//! ```
//!
//! - `seq` counts from 1 with no gap;
//! - `at` is the time the caller gives (RFC 3339, UTC): the gateway takes
//!   time from whoever builds it and never reads the wall clock;
//! - `prev` is the `hash` of the entry before, [`GENESIS`] (64 zeros) for
//!   the first;
//! - `event` is an [`AuditEvent`], tagged by `kind`;
//! - `hash` is the hex SHA-256 of the entry without `hash`, as serde_json
//!   writes `{"seq":…,"at":…,"prev":…,"event":…}` (struct fields in this
//!   order, the keys of JSON objects inside the event sorted, since
//!   serde_json's `preserve_order` is off in this workspace).
//!
//! [`verify`] recomputes each hash from the parsed entry, the same way, so
//! key order and spacing in the file do not matter but every value does.
//!
//! # What a chain can and cannot show
//! [`verify`] finds a changed entry (any field, `event` contents included),
//! a removed entry anywhere but at the end, entries swapped or repeated, an
//! entry rewritten with its own hash recomputed (the next entry's `prev` no
//! longer matches), a line that is not an entry, an empty line and a line
//! cut short. It cannot find the removal of the last entries: what is left
//! is still a valid chain. Keep the head ([`AuditSink::head`]) somewhere
//! the log's writer cannot rewrite, and check the file against it with
//! [`verify_with_head`], which names truncation. Rewriting the whole file,
//! every hash recomputed, is likewise found only against a kept head.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, as one entry of the chain records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// `deny_unknown_fields`: a field slipped into an event would otherwise be
// dropped on reading and the entry would still verify, though the file no
// longer says what was hashed.
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuditEvent {
    /// An order about to be sent to a broker (written before it is sent).
    OrderAttempt {
        connection: String,
        broker: String,
        client_order_id: String,
        order: serde_json::Value,
    },
    /// The broker's answer to an attempt, or the failure to get one.
    OrderAnswer {
        connection: String,
        client_order_id: String,
        outcome: serde_json::Value,
    },
    /// A later change of an order the broker accepted (fill, cancel,
    /// expiry…), streamed or polled.
    StateChange {
        connection: String,
        broker_order_id: String,
        status: String,
        detail: serde_json::Value,
    },
    /// A cancel request about to be sent to a broker.
    CancelAttempt {
        connection: String,
        broker_order_id: String,
    },
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub prev: String,
    pub event: AuditEvent,
    pub hash: String,
}

/// The entry as hashed: everything but `hash`, in the file's field order.
#[derive(Serialize)]
struct Unsealed<'a> {
    seq: u64,
    at: &'a DateTime<Utc>,
    prev: &'a str,
    event: &'a AuditEvent,
}

impl AuditEntry {
    fn computed_hash(&self) -> String {
        hash_of(&Unsealed {
            seq: self.seq,
            at: &self.at,
            prev: &self.prev,
            event: &self.event,
        })
    }
}

fn hash_of(unsealed: &Unsealed<'_>) -> String {
    format!("{:x}", Sha256::digest(json(unsealed)))
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect(
        "an audit entry holds strings, integers, a time and JSON values: it always serializes",
    )
}

/// Where entries go. An implementation returns the entry only once it is
/// as durable as the sink can make it; an append that fails changes
/// nothing the sink holds, so the caller may retry or give up the order.
pub trait AuditSink: Send {
    /// Appends `event`, which happened at `at`, as the next entry.
    fn append(&mut self, at: DateTime<Utc>, event: AuditEvent) -> Result<AuditEntry, AuditError>;

    /// The hash of the last entry ([`GENESIS`] while there is none): keep it
    /// apart from the log to detect truncation ([`verify_with_head`]).
    fn head(&self) -> &str;
}

/// Why an append, or opening a log, failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// An existing log that does not verify is not continued: appending
    /// would bury the break under entries that look valid.
    #[error("audit log {} is broken at {broken}; it will not be continued", path.display())]
    Broken { path: PathBuf, broken: ChainBreak },
    /// An earlier append failed part way. What reached the disk is only
    /// known after reading it back, which reopening does.
    #[error("audit log {}: an earlier append failed; reopen the log to continue it", path.display())]
    Poisoned { path: PathBuf },
    /// The entry would not verify once read back, e.g. a float that
    /// serde_json does not parse back to the same number: carry such
    /// numbers as strings.
    #[error("the audit entry would not read back as written: {0}")]
    NotRoundTrip(String),
}

/// The state both sinks continue from: how many entries, and the last hash.
#[derive(Debug, Clone)]
struct Chain {
    entries: u64,
    head: String,
}

impl Default for Chain {
    fn default() -> Self {
        Chain {
            entries: 0,
            head: GENESIS.to_string(),
        }
    }
}

impl Chain {
    /// The next entry and its line (with its `\n`), without advancing: the
    /// sink advances only once the entry is stored.
    fn seal(
        &self,
        at: DateTime<Utc>,
        event: AuditEvent,
    ) -> Result<(AuditEntry, String), AuditError> {
        let seq = self.entries + 1;
        let hash = hash_of(&Unsealed {
            seq,
            at: &at,
            prev: &self.head,
            event: &event,
        });
        let entry = AuditEntry {
            seq,
            at,
            prev: self.head.clone(),
            event,
            hash,
        };
        let mut line = json(&entry);
        // Read it back as `verify` will: an entry that cannot be verified
        // is worth nothing, and it is refused before the broker is called.
        let back: AuditEntry =
            serde_json::from_str(&line).map_err(|e| AuditError::NotRoundTrip(e.to_string()))?;
        // Equal as read means it hashes as written: comparing is cheaper
        // than hashing it again.
        if back != entry {
            return Err(AuditError::NotRoundTrip(
                "a value in the event reads back different (a float?)".to_string(),
            ));
        }
        line.push('\n');
        Ok((entry, line))
    }

    fn advance(&mut self, entry: &AuditEntry) {
        self.entries = entry.seq;
        self.head.clone_from(&entry.hash);
    }
}

/// A chain kept in memory, for tests and simulations.
#[derive(Debug, Default)]
pub struct MemoryAudit {
    chain: Chain,
    entries: Vec<AuditEntry>,
    jsonl: String,
}

impl MemoryAudit {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn entries(&self) -> &[AuditEntry] {
        &self.entries
    }

    /// The log as a file would hold it.
    pub fn to_jsonl(&self) -> String {
        self.jsonl.clone()
    }
}

impl AuditSink for MemoryAudit {
    fn append(&mut self, at: DateTime<Utc>, event: AuditEvent) -> Result<AuditEntry, AuditError> {
        let (entry, line) = self.chain.seal(at, event)?;
        self.chain.advance(&entry);
        self.jsonl.push_str(&line);
        self.entries.push(entry.clone());
        Ok(entry)
    }

    fn head(&self) -> &str {
        &self.chain.head
    }
}

/// A chain in a JSONL file, one writer at a time. Each append is written
/// and `sync_data`'d before it returns (but see [`FileAudit::open_unsynced`]).
#[derive(Debug)]
pub struct FileAudit {
    path: PathBuf,
    file: File,
    chain: Chain,
    /// The length of the file up to its last durable entry.
    len: u64,
    poisoned: bool,
    /// Whether each append is synced to the disk.
    sync: bool,
}

impl FileAudit {
    /// Opens the log at `path`, creating it if absent. An existing log is
    /// read and verified first and continued from its head; one that does
    /// not verify is refused ([`AuditError::Broken`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref().to_path_buf();
        let io_error = |source| AuditError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_error)?;
        sync_parent(&path).map_err(io_error)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_error)?;
        let summary = as_text(&bytes)
            .and_then(verify)
            .map_err(|broken| AuditError::Broken {
                path: path.clone(),
                broken,
            })?;
        Ok(FileAudit {
            len: bytes.len() as u64,
            chain: Chain {
                entries: summary.entries,
                head: summary.head,
            },
            path,
            file,
            poisoned: false,
            sync: true,
        })
    }

    /// [`FileAudit::open`] for a log that does not outlive its process (a
    /// simulation's, removed when it ends): each entry is in the file
    /// before `append` returns, in order, but not synced to the disk,
    /// since surviving a crash buys such a log nothing.
    pub fn open_unsynced(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        Ok(Self {
            sync: false,
            ..Self::open(path)?
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, line: &str) -> io::Result<()> {
        // `File` does no buffering of its own: `sync_data` is what makes
        // the line durable.
        self.file.write_all(line.as_bytes())?;
        match self.sync {
            true => self.file.sync_data(),
            false => Ok(()),
        }
    }
}

/// A newly created file survives a crash only once its directory entry is
/// on disk too; otherwise synced entries could vanish with the whole file.
#[cfg(unix)]
fn sync_parent(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

/// Directories cannot be opened as files here; the entry's own sync is what
/// the platform offers.
#[cfg(not(unix))]
fn sync_parent(_path: &Path) -> io::Result<()> {
    Ok(())
}

impl AuditSink for FileAudit {
    fn append(&mut self, at: DateTime<Utc>, event: AuditEvent) -> Result<AuditEntry, AuditError> {
        if self.poisoned {
            return Err(AuditError::Poisoned {
                path: self.path.clone(),
            });
        }
        let (entry, line) = self.chain.seal(at, event)?;
        if let Err(source) = self.write(&line) {
            // Part of the line, or all of it unsynced, may be in the file.
            // Cut it back to the last durable entry so a later reader sees
            // a chain; if even that fails, reopening (which verifies) says
            // what is there. Either way this handle appends no more.
            self.poisoned = true;
            let _ = self.file.set_len(self.len);
            return Err(AuditError::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.len += line.len() as u64;
        self.chain.advance(&entry);
        Ok(entry)
    }

    fn head(&self) -> &str {
        &self.chain.head
    }
}

/// A chain that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    pub entries: u64,
    /// The hash of the last entry, [`GENESIS`] for an empty log.
    pub head: String,
}

impl ChainSummary {
    /// The chain of an empty log.
    pub fn empty() -> Self {
        Self {
            entries: 0,
            head: GENESIS.to_string(),
        }
    }
}

/// Where a chain breaks (a 1-based line of the file) and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub line: usize,
    pub kind: BreakKind,
}

/// What is wrong at a [`ChainBreak`]'s line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakKind {
    /// Not valid UTF-8 from this line on.
    NotUtf8,
    /// The line does not parse as an entry.
    Malformed { error: String },
    /// An empty (or blank) line inside the chain.
    EmptyLine,
    /// The last line has no `\n`: a write cut short, or an edit.
    Unterminated,
    /// The entry's hash is not that of its contents: it was changed.
    Changed { seq: u64 },
    /// Entries `first..=last` are absent: entry `found` follows entry
    /// `after` (0: it is the first line).
    Missing {
        first: u64,
        last: u64,
        found: u64,
        after: u64,
    },
    /// Entry `seq` comes after entry `after`, a later one.
    Reordered { seq: u64, after: u64 },
    /// Entry `seq` again, identical to the one on line `first_line`.
    Duplicated { seq: u64, first_line: usize },
    /// A second, different entry `seq` (both hash correctly): two writers,
    /// or a forgery.
    Forked { seq: u64, first_line: usize },
    /// The entry's `prev` is not the hash of entry `after` (0: not
    /// [`GENESIS`]): an earlier entry was rewritten with its hash
    /// recomputed, or this one was moved from another chain.
    PrevMismatch { after: u64 },
    /// The chain verifies but ends at entry `entries`, whose hash is not
    /// the kept head, nor is any earlier entry's: entries were removed from
    /// the end (or the file replaced).
    Truncated { entries: u64 },
    /// The kept head is entry `head_entry`'s hash, and the file goes on to
    /// entry `entries`: written after the head was kept.
    BeyondHead { head_entry: u64, entries: u64 },
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        match &self.kind {
            BreakKind::NotUtf8 => write!(f, ": not UTF-8 text"),
            BreakKind::Malformed { error } => write!(f, ": not an audit entry: {error}"),
            BreakKind::EmptyLine => write!(f, ": empty line inside the chain"),
            BreakKind::Unterminated => {
                write!(f, ": no line break at its end (a write cut short?)")
            }
            BreakKind::Changed { seq } => write!(
                f,
                " (entry {seq}): changed — its hash does not match its contents"
            ),
            BreakKind::Missing {
                first,
                last,
                found,
                after,
            } => {
                if first == last {
                    write!(f, ": entry {first} is missing")?;
                } else {
                    write!(f, ": entries {first} to {last} are missing")?;
                }
                if *after == 0 {
                    write!(f, " — entry {found} is the first (removed)")
                } else {
                    write!(f, " — entry {found} follows entry {after} (removed)")
                }
            }
            BreakKind::Reordered { seq, after } => {
                write!(f, ": entry {seq} after entry {after} (reordered)")
            }
            BreakKind::Duplicated { seq, first_line } => write!(
                f,
                ": entry {seq} again, a copy of line {first_line} (duplicated)"
            ),
            BreakKind::Forked { seq, first_line } => write!(
                f,
                ": a second entry {seq}, different from line {first_line}'s (forked)"
            ),
            BreakKind::PrevMismatch { after: 0 } => {
                write!(
                    f,
                    ": its prev is not 64 zeros, as the first entry's must be"
                )
            }
            BreakKind::PrevMismatch { after } => {
                write!(f, ": its prev does not match the hash of entry {after}")
            }
            BreakKind::Truncated { entries: 0 } => write!(
                f,
                ": the log has no entries but a head was kept: its entries were removed (truncated)"
            ),
            BreakKind::Truncated { entries } => write!(
                f,
                ": the chain ends at entry {entries}, whose hash is not the kept head: \
                 entries after it were removed (truncated)"
            ),
            BreakKind::BeyondHead {
                head_entry,
                entries,
            } => write!(
                f,
                ": the kept head is entry {head_entry}'s hash, but the log goes on to entry \
                 {entries}: written after the head was kept"
            ),
        }
    }
}

impl std::error::Error for ChainBreak {}

/// `bytes` as text, or the line where they stop being UTF-8.
pub fn as_text(bytes: &[u8]) -> Result<&str, ChainBreak> {
    std::str::from_utf8(bytes).map_err(|e| ChainBreak {
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        kind: BreakKind::NotUtf8,
    })
}

/// Checks a whole log (the JSONL text of a file, or
/// [`MemoryAudit::to_jsonl`]). An empty text is an empty chain. Finds every
/// break but the removal of the last entries: see [`verify_with_head`].
pub fn verify(text: &str) -> Result<ChainSummary, ChainBreak> {
    verify_after(text, &ChainSummary::empty())
}

/// Checks entries appended to a chain already verified as `before`: the
/// text continues it (its first entry follows `before`'s head), so a log
/// watched as it grows is read once, not once per look. Line numbers of a
/// break count from the text's first line.
pub fn verify_after(text: &str, before: &ChainSummary) -> Result<ChainSummary, ChainBreak> {
    let hashes = walk(text, before)?;
    Ok(ChainSummary {
        entries: before.entries + hashes.len() as u64,
        head: hashes.last().unwrap_or(&before.head).clone(),
    })
}

/// [`verify`], and the chain must end at `expected_head`, a head kept apart
/// from the log ([`AuditSink::head`]): this also finds entries removed from
/// the end.
pub fn verify_with_head(text: &str, expected_head: &str) -> Result<ChainSummary, ChainBreak> {
    let hashes = walk(text, &ChainSummary::empty())?;
    let entries = hashes.len() as u64;
    let head = hashes.last().map_or(GENESIS, String::as_str);
    if head.eq_ignore_ascii_case(expected_head) {
        return Ok(ChainSummary {
            entries,
            head: head.to_string(),
        });
    }
    let kind = match hashes
        .iter()
        .position(|h| h.eq_ignore_ascii_case(expected_head))
    {
        Some(i) => BreakKind::BeyondHead {
            head_entry: i as u64 + 1,
            entries,
        },
        None if expected_head.eq_ignore_ascii_case(GENESIS) => BreakKind::BeyondHead {
            head_entry: 0,
            entries,
        },
        None => BreakKind::Truncated { entries },
    };
    // Both name the line after the kept head's entry: the first one the two
    // disagree about.
    let line = match kind {
        BreakKind::BeyondHead { head_entry, .. } => head_entry as usize + 1,
        _ => hashes.len() + 1,
    };
    Err(ChainBreak { line, kind })
}

/// One line of the text, before the chain is checked.
enum Line {
    Entry(AuditEntry),
    Malformed(String),
    Empty,
    Unterminated,
}

/// The hash of every entry after `before`, in order, or the first break.
fn walk(text: &str, before: &ChainSummary) -> Result<Vec<String>, ChainBreak> {
    let lines: Vec<Line> = text.split_inclusive('\n').map(parse_line).collect();
    // Where each seq last occurs, to tell an entry that is missing from
    // one that comes later than it should.
    let mut last_line_of: BTreeMap<u64, usize> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        if let Line::Entry(e) = line {
            last_line_of.insert(e.seq, i + 1);
        }
    }
    let mut hashes: Vec<String> = Vec::with_capacity(lines.len());
    // seq → (line, hash) of the entries accepted so far.
    let mut seen: BTreeMap<u64, (usize, String)> = BTreeMap::new();
    let mut last_seq = before.entries;
    for (i, line) in lines.into_iter().enumerate() {
        let n = i + 1;
        let broken = |kind| Err(ChainBreak { line: n, kind });
        let entry = match line {
            Line::Entry(e) => e,
            Line::Malformed(error) => return broken(BreakKind::Malformed { error }),
            Line::Empty => return broken(BreakKind::EmptyLine),
            Line::Unterminated => return broken(BreakKind::Unterminated),
        };
        if entry.computed_hash() != entry.hash {
            return broken(BreakKind::Changed { seq: entry.seq });
        }
        if entry.seq <= last_seq {
            return broken(match seen.get(&entry.seq) {
                Some((first_line, hash)) if *hash == entry.hash => BreakKind::Duplicated {
                    seq: entry.seq,
                    first_line: *first_line,
                },
                Some((first_line, _)) => BreakKind::Forked {
                    seq: entry.seq,
                    first_line: *first_line,
                },
                None if entry.seq == 0 => BreakKind::Malformed {
                    error: "seq 0: entries count from 1".to_string(),
                },
                None => BreakKind::Reordered {
                    seq: entry.seq,
                    after: last_seq,
                },
            });
        }
        if entry.seq > last_seq + 1 {
            let comes_later = last_line_of
                .range(last_seq + 1..entry.seq)
                .any(|(_, &l)| l > n);
            // When a skipped entry comes later, the break is its line
            // ("entry 2 after entry 3"); this one is in its place otherwise.
            if !comes_later {
                return broken(BreakKind::Missing {
                    first: last_seq + 1,
                    last: entry.seq - 1,
                    found: entry.seq,
                    after: last_seq,
                });
            }
        } else if entry.prev != *hashes.last().unwrap_or(&before.head) {
            return broken(BreakKind::PrevMismatch { after: last_seq });
        }
        last_seq = entry.seq;
        seen.insert(entry.seq, (n, entry.hash.clone()));
        hashes.push(entry.hash);
    }
    Ok(hashes)
}

fn parse_line(raw: &str) -> Line {
    let Some(body) = raw.strip_suffix('\n') else {
        return Line::Unterminated;
    };
    if body.trim().is_empty() {
        return Line::Empty;
    }
    match serde_json::from_str(body) {
        Ok(entry) => Line::Entry(entry),
        Err(e) => Line::Malformed(without_position(&e)),
    }
}

/// serde_json's message ends "at line 1 column N", and line 1 of one line
/// would be read as line 1 of the file: keep the column only.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())) {
        Some(message) => format!("{message} (column {})", e.column()),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        format!("2025-01-02T14:{minute:02}:00Z")
            .parse()
            .expect("a valid time")
    }

    /// Six entries: an attempt, its answer, two state changes, a cancel
    /// attempt, and an answer carrying text outside ASCII.
    fn events() -> Vec<AuditEvent> {
        vec![
            AuditEvent::OrderAttempt {
                connection: "conn-1".into(),
                broker: "tradier".into(),
                client_order_id: "c-1".into(),
                order: json!({"symbol": "AAPL", "side": "buy", "qty": "10", "type": "limit", "limit_price": "187.50"}),
            },
            AuditEvent::OrderAnswer {
                connection: "conn-1".into(),
                client_order_id: "c-1".into(),
                outcome: json!({"accepted": {"broker_order_id": "T-991"}}),
            },
            AuditEvent::StateChange {
                connection: "conn-1".into(),
                broker_order_id: "T-991".into(),
                status: "partially_filled".into(),
                detail: json!({"filled_qty": "4", "avg_price": "187.49"}),
            },
            AuditEvent::StateChange {
                connection: "conn-1".into(),
                broker_order_id: "T-991".into(),
                status: "filled".into(),
                detail: json!({"filled_qty": "10", "avg_price": "187.495"}),
            },
            AuditEvent::CancelAttempt {
                connection: "conn-1".into(),
                broker_order_id: "T-991".into(),
            },
            AuditEvent::OrderAnswer {
                connection: "conn-1".into(),
                client_order_id: "c-1".into(),
                outcome: json!({"rejected": {"reason": "trop tard — déjà exécuté"}}),
            },
        ]
    }

    fn chain() -> MemoryAudit {
        let mut audit = MemoryAudit::new();
        for (i, event) in events().into_iter().enumerate() {
            audit.append(at(30 + i as u32), event).expect("append");
        }
        audit
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(|l| format!("{l}\n")).collect()
    }

    fn broken(text: &str) -> ChainBreak {
        verify(text).expect_err("the chain should not verify")
    }

    /// `text` with the first `from` on line `n` (1-based) replaced by `to`.
    fn edit(text: &str, n: usize, from: &str, to: &str) -> String {
        let mut ls = lines(text);
        assert!(ls[n - 1].contains(from), "{from} not on line {n}");
        ls[n - 1] = ls[n - 1].replacen(from, to, 1);
        ls.concat()
    }

    #[test]
    fn an_untouched_chain_verifies_with_its_count_and_head() {
        let audit = chain();
        let summary = verify(&audit.to_jsonl()).expect("verifies");
        assert_eq!(summary.entries, 6);
        assert_eq!(summary.head, audit.head());
        assert_eq!(summary.head, audit.entries()[5].hash);
        assert_eq!(
            verify_with_head(&audit.to_jsonl(), audit.head()),
            Ok(summary)
        );
    }

    #[test]
    fn a_growing_log_verifies_piece_by_piece_as_it_does_whole() {
        let text = chain().to_jsonl();
        let ls = lines(&text);
        let whole = verify(&text).expect("verifies");
        let first = verify(&ls[..2].concat()).expect("the first two");
        assert_eq!(verify_after(&ls[2..].concat(), &first), Ok(whole.clone()));
        assert_eq!(verify_after("", &whole), Ok(whole.clone()));
        // A piece that does not continue the verified chain: one entry
        // left out, one changed, or the chain started over.
        let skipped = verify_after(&ls[3..].concat(), &first).expect_err("a gap");
        assert_eq!(skipped.line, 1);
        assert!(matches!(skipped.kind, BreakKind::Missing { first: 3, .. }));
        let changed = edit(&ls[2..].concat(), 1, "conn-1", "conn-2");
        assert!(verify_after(&changed, &first).is_err());
        assert!(verify_after(&text, &first).is_err());
    }

    #[test]
    fn the_chain_links_each_entry_to_the_one_before() {
        let audit = chain();
        let entries = audit.entries();
        assert_eq!(entries[0].prev, GENESIS);
        for pair in entries.windows(2) {
            assert_eq!(pair[1].prev, pair[0].hash);
            assert_eq!(pair[1].seq, pair[0].seq + 1);
        }
        assert!(entries.iter().all(|e| e.hash.len() == 64));
    }

    #[test]
    fn the_file_format_is_one_object_per_line_in_field_order() {
        let text = chain().to_jsonl();
        let first = text.lines().next().expect("a line");
        assert!(
            first.starts_with(&format!(
                r#"{{"seq":1,"at":"2025-01-02T14:30:00Z","prev":"{GENESIS}","event":{{"kind":"order_attempt","connection":"conn-1","broker":"tradier","client_order_id":"c-1","order":{{"#
            )),
            "{first}"
        );
        let e: AuditEntry = serde_json::from_str(first).expect("an entry");
        assert!(
            first.ends_with(&format!(r#"}}}},"hash":"{}"}}"#, e.hash)),
            "{first}"
        );
        let without_hash = first
            .split(r#","hash":"#)
            .next()
            .expect("a prefix")
            .to_string()
            + "}";
        assert_eq!(e.hash, format!("{:x}", Sha256::digest(without_hash)));
    }

    #[test]
    fn an_empty_log_is_an_empty_chain() {
        assert_eq!(
            verify(""),
            Ok(ChainSummary {
                entries: 0,
                head: GENESIS.to_string()
            })
        );
    }

    #[test]
    fn a_changed_character_in_an_event_is_found_at_its_entry() {
        let text = edit(
            &chain().to_jsonl(),
            3,
            r#""filled_qty":"4""#,
            r#""filled_qty":"5""#,
        );
        let b = broken(&text);
        assert_eq!(b.kind, BreakKind::Changed { seq: 3 });
        assert_eq!(
            b.to_string(),
            "line 3 (entry 3): changed — its hash does not match its contents"
        );
    }

    #[test]
    fn a_changed_time_is_found() {
        let text = edit(&chain().to_jsonl(), 2, "14:31:00", "14:31:01");
        assert_eq!(
            broken(&text),
            ChainBreak {
                line: 2,
                kind: BreakKind::Changed { seq: 2 }
            }
        );
    }

    #[test]
    fn a_changed_seq_prev_or_hash_is_found() {
        let audit = chain();
        let text = audit.to_jsonl();
        let seq = edit(&text, 4, r#""seq":4"#, r#""seq":7"#);
        assert_eq!(broken(&seq).kind, BreakKind::Changed { seq: 7 });
        let prev = &audit.entries()[3].prev;
        let other_prev = edit(&text, 4, &prev[..6], "ffffff");
        assert_eq!(broken(&other_prev).kind, BreakKind::Changed { seq: 4 });
        let hash = &audit.entries()[4].hash;
        let other_hash = edit(
            &text,
            5,
            &format!(r#""hash":"{}"#, &hash[..6]),
            r#""hash":"000000"#,
        );
        assert_eq!(broken(&other_hash).kind, BreakKind::Changed { seq: 5 });
    }

    #[test]
    fn an_entry_rewritten_with_its_hash_recomputed_is_found_at_the_next() {
        let audit = chain();
        let mut entries = audit.entries().to_vec();
        entries[2].event = AuditEvent::StateChange {
            connection: "conn-1".into(),
            broker_order_id: "T-991".into(),
            status: "canceled".into(),
            detail: json!({}),
        };
        entries[2].hash = entries[2].computed_hash();
        let text: String = entries.iter().map(|e| json(e) + "\n").collect();
        let b = broken(&text);
        assert_eq!(b.line, 4);
        assert_eq!(b.kind, BreakKind::PrevMismatch { after: 3 });
        assert_eq!(
            b.to_string(),
            "line 4: its prev does not match the hash of entry 3"
        );
    }

    #[test]
    fn a_removed_first_entry_is_found() {
        let text = lines(&chain().to_jsonl())[1..].concat();
        let b = broken(&text);
        assert_eq!(b.line, 1);
        assert_eq!(
            b.to_string(),
            "line 1: entry 1 is missing — entry 2 is the first (removed)"
        );
    }

    #[test]
    fn a_removed_middle_entry_is_found() {
        let mut ls = lines(&chain().to_jsonl());
        ls.remove(2);
        let b = broken(&ls.concat());
        assert_eq!(
            b.kind,
            BreakKind::Missing {
                first: 3,
                last: 3,
                found: 4,
                after: 2
            }
        );
        assert_eq!(
            b.to_string(),
            "line 3: entry 3 is missing — entry 4 follows entry 2 (removed)"
        );
        ls.remove(2);
        assert_eq!(
            broken(&ls.concat()).to_string(),
            "line 3: entries 3 to 4 are missing — entry 5 follows entry 2 (removed)"
        );
    }

    #[test]
    fn swapped_entries_are_found_at_the_one_out_of_place() {
        let mut ls = lines(&chain().to_jsonl());
        ls.swap(1, 2);
        let b = broken(&ls.concat());
        assert_eq!(b.kind, BreakKind::Reordered { seq: 2, after: 3 });
        assert_eq!(b.to_string(), "line 3: entry 2 after entry 3 (reordered)");
        let mut moved = lines(&chain().to_jsonl());
        let first = moved.remove(0);
        moved.push(first);
        assert_eq!(
            broken(&moved.concat()).to_string(),
            "line 6: entry 1 after entry 6 (reordered)"
        );
    }

    #[test]
    fn a_duplicated_entry_is_found() {
        let mut ls = lines(&chain().to_jsonl());
        ls.insert(3, ls[2].clone());
        let b = broken(&ls.concat());
        assert_eq!(
            b.kind,
            BreakKind::Duplicated {
                seq: 3,
                first_line: 3
            }
        );
        assert_eq!(
            b.to_string(),
            "line 4: entry 3 again, a copy of line 3 (duplicated)"
        );
        let mut later = lines(&chain().to_jsonl());
        later.push(later[1].clone());
        assert_eq!(
            broken(&later.concat()).kind,
            BreakKind::Duplicated {
                seq: 2,
                first_line: 2
            }
        );
    }

    #[test]
    fn a_second_valid_entry_with_the_same_seq_is_a_fork() {
        let audit = chain();
        let mut other = audit.entries()[5].clone();
        other.at = at(59);
        other.hash = other.computed_hash();
        let text = audit.to_jsonl() + &json(&other) + "\n";
        assert_eq!(
            broken(&text).to_string(),
            "line 7: a second entry 6, different from line 6's (forked)"
        );
    }

    #[test]
    fn a_malformed_line_is_named() {
        let mut ls = lines(&chain().to_jsonl());
        ls[4] = "{\"seq\":5,\n".to_string();
        let b = broken(&ls.concat());
        assert_eq!(b.line, 5);
        let message = b.to_string();
        assert!(
            message.starts_with("line 5: not an audit entry: EOF while parsing"),
            "{message}"
        );
        assert!(!message.contains("line 1"), "{message}");
        ls[4] = "{\"seq\":5,\"extra\":1}\n".to_string();
        let extra = broken(&ls.concat()).to_string();
        assert!(extra.contains("unknown field `extra`"), "{extra}");
    }

    #[test]
    fn an_added_field_in_an_event_is_refused() {
        let text = edit(
            &chain().to_jsonl(),
            5,
            r#""kind":"cancel_attempt","#,
            r#""kind":"cancel_attempt","note":"x","#,
        );
        let b = broken(&text);
        assert_eq!(b.line, 5);
        assert!(matches!(b.kind, BreakKind::Malformed { .. }), "{b}");
    }

    #[test]
    fn an_empty_line_in_the_middle_is_found() {
        let mut ls = lines(&chain().to_jsonl());
        ls.insert(2, "\n".to_string());
        assert_eq!(
            broken(&ls.concat()).to_string(),
            "line 3: empty line inside the chain"
        );
    }

    #[test]
    fn a_line_cut_short_is_found() {
        let text = chain().to_jsonl();
        let cut = &text[..text.len() - 20];
        assert_eq!(
            broken(cut),
            ChainBreak {
                line: 6,
                kind: BreakKind::Unterminated
            }
        );
    }

    #[test]
    fn truncation_is_found_only_against_a_kept_head() {
        let audit = chain();
        let truncated = lines(&audit.to_jsonl())[..4].concat();
        assert_eq!(verify(&truncated).map(|s| s.entries), Ok(4));
        let b = verify_with_head(&truncated, audit.head()).expect_err("truncated");
        assert_eq!(b.kind, BreakKind::Truncated { entries: 4 });
        assert_eq!(
            b.to_string(),
            "line 5: the chain ends at entry 4, whose hash is not the kept head: \
             entries after it were removed (truncated)"
        );
        assert_eq!(
            verify_with_head("", audit.head()).map_err(|b| b.kind),
            Err(BreakKind::Truncated { entries: 0 })
        );
    }

    #[test]
    fn a_stale_kept_head_names_the_entries_after_it() {
        let audit = chain();
        let b = verify_with_head(&audit.to_jsonl(), &audit.entries()[3].hash)
            .expect_err("the head is entry 4's");
        assert_eq!(
            b,
            ChainBreak {
                line: 5,
                kind: BreakKind::BeyondHead {
                    head_entry: 4,
                    entries: 6
                }
            }
        );
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let mut bytes = chain().to_jsonl().into_bytes();
        let second_line = bytes.iter().position(|&b| b == b'\n').expect("a line") + 5;
        bytes[second_line] = 0xff;
        assert_eq!(
            as_text(&bytes),
            Err(ChainBreak {
                line: 2,
                kind: BreakKind::NotUtf8
            })
        );
    }

    #[test]
    fn an_event_that_would_not_read_back_is_refused_and_leaves_nothing() {
        let mut audit = chain();
        let head = audit.head().to_string();
        // serde_json (without `float_roundtrip`) parses this back one bit off.
        let error = audit
            .append(
                at(40),
                AuditEvent::StateChange {
                    connection: "conn-1".into(),
                    broker_order_id: "T-991".into(),
                    status: "filled".into(),
                    detail: json!({"avg_price": 7.475075520302599e-274}),
                },
            )
            .expect_err("refused");
        assert!(matches!(error, AuditError::NotRoundTrip(_)), "{error}");
        assert_eq!(audit.head(), head);
        assert_eq!(audit.entries().len(), 6);
        assert_eq!(verify(&audit.to_jsonl()).map(|s| s.entries), Ok(6));
    }

    /// A fresh path under the system's temp dir, removed when dropped.
    struct TempLog(PathBuf);

    impl TempLog {
        fn new(name: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "raxx-gateway-audit-{}-{name}.jsonl",
                std::process::id()
            ));
            // A leftover from an earlier run with the same pid would be continued.
            let _ = std::fs::remove_file(&path);
            TempLog(path)
        }
    }

    impl Drop for TempLog {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn a_file_log_continues_its_chain_after_reopening() {
        let log = TempLog::new("reopen");
        let events = events();
        let mut audit = FileAudit::open(&log.0).expect("created");
        for (i, event) in events[..3].iter().enumerate() {
            audit
                .append(at(30 + i as u32), event.clone())
                .expect("append");
        }
        let head = audit.head().to_string();
        drop(audit);

        // Continued unsynced, as a simulation's log is: each entry is in
        // the file when `append` returns.
        let mut audit = FileAudit::open_unsynced(&log.0).expect("reopened");
        assert_eq!(audit.head(), head);
        for (i, event) in events[3..].iter().enumerate() {
            let entry = audit
                .append(at(33 + i as u32), event.clone())
                .expect("append");
            let text = std::fs::read_to_string(&log.0).expect("read");
            assert!(text.ends_with(&format!("\"hash\":\"{}\"}}\n", entry.hash)));
        }
        let text = std::fs::read_to_string(&log.0).expect("read");
        let summary = verify_with_head(&text, audit.head()).expect("verifies");
        assert_eq!(summary.entries, 6);
        // The same events at the same times make the same chain in memory.
        assert_eq!(text, chain().to_jsonl());
    }

    #[test]
    fn a_tampered_file_log_is_not_continued() {
        let log = TempLog::new("tampered");
        let mut audit = FileAudit::open(&log.0).expect("created");
        for (i, event) in events().into_iter().enumerate() {
            audit.append(at(30 + i as u32), event).expect("append");
        }
        drop(audit);
        let text = std::fs::read_to_string(&log.0).expect("read");
        std::fs::write(&log.0, edit(&text, 2, "T-991", "T-992")).expect("write");
        match FileAudit::open(&log.0) {
            Err(AuditError::Broken { broken, .. }) => {
                assert_eq!(broken.kind, BreakKind::Changed { seq: 2 })
            }
            other => panic!("expected a broken log, got {other:?}"),
        }
    }

    fn parsed(text: &str) -> Vec<AuditEntry> {
        text.lines()
            .map(|l| serde_json::from_str(l).expect("an entry"))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 1024,
            max_global_rejects: 8192,
            ..ProptestConfig::default()
        })]

        /// Any one byte changed is found, unless the entries read the same
        /// (a time written another RFC 3339 way, say).
        #[test]
        fn any_single_byte_change_is_found_or_changes_nothing(
            position in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let text = chain().to_jsonl();
            let mut bytes = text.clone().into_bytes();
            let i = position.index(bytes.len());
            prop_assume!(bytes[i] != byte);
            bytes[i] = byte;
            let changed = String::from_utf8(bytes);
            prop_assume!(changed.is_ok());
            let changed = changed.expect("checked");
            if verify(&changed).is_ok() {
                prop_assert_eq!(parsed(&changed), parsed(&text));
            }
        }

        /// Any one byte removed is found, unless the entries read the same.
        #[test]
        fn any_single_byte_removal_is_found_or_changes_nothing(
            position in any::<prop::sample::Index>(),
        ) {
            let text = chain().to_jsonl();
            let mut bytes = text.clone().into_bytes();
            bytes.remove(position.index(bytes.len()));
            let changed = String::from_utf8(bytes);
            prop_assume!(changed.is_ok());
            let changed = changed.expect("checked");
            if verify(&changed).is_ok() {
                prop_assert_eq!(parsed(&changed), parsed(&text));
            }
        }
    }
}
