//! Token rows in SQLite (compiled in through rusqlite's `bundled` build), with
//! numbered migrations tracked in `PRAGMA user_version`. The schema holds
//! the store's rules itself, so a write that bypasses [`super::Velvet`]
//! still cannot break them:
//! - a Tier C row must be `no_order_write` (a CHECK constraint);
//! - a row's tier, broker and `no_order_write` never change, and a revoked
//!   row is never un-revoked (triggers).

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::{Retired, RowStore, StoreError, TokenRow};
use crate::connection::{ConnectionId, Tier};

/// Each migration once, in order; `user_version` is how many have run.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE velvet_tokens (
    connection_id    TEXT PRIMARY KEY NOT NULL,
    broker_tier      TEXT NOT NULL CHECK (broker_tier IN ('A', 'B', 'C')),
    broker_slug      TEXT NOT NULL,
    token_ciphertext BLOB NOT NULL,
    no_order_write   INTEGER NOT NULL CHECK (no_order_write IN (0, 1)),
    revoked_at       TEXT,
    rotation_due_at  TEXT,
    CHECK (broker_tier <> 'C' OR no_order_write = 1)
) STRICT;

CREATE TABLE velvet_token_history (
    connection_id    TEXT NOT NULL REFERENCES velvet_tokens (connection_id),
    token_ciphertext BLOB NOT NULL,
    retired_at       TEXT NOT NULL
) STRICT;

CREATE TRIGGER velvet_tokens_identity_is_fixed
BEFORE UPDATE OF connection_id, broker_tier, broker_slug, no_order_write ON velvet_tokens
BEGIN
    SELECT RAISE(ABORT, 'a token row''s connection, tier, broker and no_order_write never change');
END;

CREATE TRIGGER velvet_tokens_revocation_is_final
BEFORE UPDATE OF revoked_at ON velvet_tokens
WHEN OLD.revoked_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a revoked token row is never un-revoked');
END;
"#];

pub struct SqliteRows {
    pub(super) db: Connection,
}

impl SqliteRows {
    /// Opens (or creates) the database at `path` and brings its schema up
    /// to date.
    pub fn open(path: &Path) -> Result<SqliteRows, StoreError> {
        SqliteRows::migrated(Connection::open(path).map_err(database)?)
    }

    /// A private database in memory (tests, simulations that want SQL).
    pub fn in_memory() -> Result<SqliteRows, StoreError> {
        SqliteRows::migrated(Connection::open_in_memory().map_err(database)?)
    }

    fn migrated(mut db: Connection) -> Result<SqliteRows, StoreError> {
        db.pragma_update(None, "foreign_keys", true)
            .map_err(database)?;
        let done: usize = db
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(database)?;
        if done > MIGRATIONS.len() {
            return Err(StoreError::Database(format!(
                "the database is at schema version {done}, newer than this build's {}",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
            let tx = db.transaction().map_err(database)?;
            tx.execute_batch(sql).map_err(database)?;
            tx.pragma_update(None, "user_version", i + 1)
                .map_err(database)?;
            tx.commit().map_err(database)?;
        }
        Ok(SqliteRows { db })
    }

    /// The columns of a table as the database has them (name order).
    pub fn columns(&self, table: &str) -> Result<Vec<String>, StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
            .map_err(database)?;
        let names = statement
            .query_map([table], |r| r.get(0))
            .map_err(database)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(database)?;
        Ok(names)
    }
}

impl RowStore for SqliteRows {
    fn insert(&mut self, row: TokenRow) -> Result<(), StoreError> {
        row.check()?;
        if self.row(&row.connection_id)?.is_some() {
            return Err(StoreError::Duplicate(row.connection_id));
        }
        self.db
            .execute(
                "INSERT INTO velvet_tokens (connection_id, broker_tier, broker_slug, \
                 token_ciphertext, no_order_write, revoked_at, rotation_due_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    row.connection_id.0,
                    tier_text(row.broker_tier),
                    row.broker_slug,
                    row.token_ciphertext,
                    row.no_order_write,
                    row.revoked_at.map(time_text),
                    row.rotation_due_at.map(time_text),
                ],
            )
            .map_err(database)?;
        Ok(())
    }

    fn row(&self, id: &ConnectionId) -> Result<Option<TokenRow>, StoreError> {
        // Read at every order: the statement is prepared once per connection.
        let raw = self
            .db
            .prepare_cached(&format!("{SELECT_ROW} WHERE connection_id = ?1"))
            .map_err(database)?
            .query_row([&id.0], RawRow::read)
            .optional()
            .map_err(database)?;
        raw.map(RawRow::parse).transpose()
    }

    fn rows(&self) -> Result<Vec<TokenRow>, StoreError> {
        let mut statement = self
            .db
            .prepare(&format!("{SELECT_ROW} ORDER BY connection_id"))
            .map_err(database)?;
        let raws = statement
            .query_map([], RawRow::read)
            .map_err(database)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(database)?;
        raws.into_iter().map(RawRow::parse).collect()
    }

    fn replace_token(
        &mut self,
        id: &ConnectionId,
        token_ciphertext: Vec<u8>,
        rotation_due_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // One transaction: the history row and the new token land together
        // or not at all.
        let tx = self.db.transaction().map_err(database)?;
        let moved = tx
            .execute(
                "INSERT INTO velvet_token_history (connection_id, token_ciphertext, retired_at) \
                 SELECT connection_id, token_ciphertext, ?2 FROM velvet_tokens WHERE connection_id = ?1",
                params![id.0, time_text(at)],
            )
            .map_err(database)?;
        if moved == 0 {
            return Err(StoreError::Missing(id.clone()));
        }
        tx.execute(
            "UPDATE velvet_tokens SET token_ciphertext = ?2, rotation_due_at = ?3 WHERE connection_id = ?1",
            params![id.0, token_ciphertext, rotation_due_at.map(time_text)],
        )
        .map_err(database)?;
        tx.commit().map_err(database)
    }

    fn mark_revoked(&mut self, id: &ConnectionId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let changed = self
            .db
            .execute(
                "UPDATE velvet_tokens SET revoked_at = ?2 WHERE connection_id = ?1",
                params![id.0, time_text(at)],
            )
            .map_err(database)?;
        if changed == 0 {
            return Err(StoreError::Missing(id.clone()));
        }
        Ok(())
    }

    fn history(&self, id: &ConnectionId) -> Result<Vec<Retired>, StoreError> {
        let mut statement = self
            .db
            .prepare(
                "SELECT token_ciphertext, retired_at FROM velvet_token_history \
                 WHERE connection_id = ?1 ORDER BY rowid",
            )
            .map_err(database)?;
        let raws = statement
            .query_map([&id.0], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(database)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(database)?;
        raws.into_iter()
            .map(|(token_ciphertext, at)| {
                Ok(Retired {
                    token_ciphertext,
                    retired_at: parse_time(&at)?,
                })
            })
            .collect()
    }
}

const SELECT_ROW: &str = "SELECT connection_id, broker_tier, broker_slug, token_ciphertext, \
    no_order_write, revoked_at, rotation_due_at FROM velvet_tokens";

/// A row as SQLite gives it, before its text columns are parsed.
struct RawRow {
    connection_id: String,
    broker_tier: String,
    broker_slug: String,
    token_ciphertext: Vec<u8>,
    no_order_write: bool,
    revoked_at: Option<String>,
    rotation_due_at: Option<String>,
}

impl RawRow {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
        Ok(RawRow {
            connection_id: r.get(0)?,
            broker_tier: r.get(1)?,
            broker_slug: r.get(2)?,
            token_ciphertext: r.get(3)?,
            no_order_write: r.get(4)?,
            revoked_at: r.get(5)?,
            rotation_due_at: r.get(6)?,
        })
    }

    fn parse(self) -> Result<TokenRow, StoreError> {
        let broker_tier = match self.broker_tier.as_str() {
            "A" => Tier::A,
            "B" => Tier::B,
            "C" => Tier::C,
            other => return Err(StoreError::Database(format!("unknown tier {other:?}"))),
        };
        Ok(TokenRow {
            connection_id: ConnectionId(self.connection_id),
            broker_tier,
            broker_slug: self.broker_slug,
            token_ciphertext: self.token_ciphertext,
            no_order_write: self.no_order_write,
            revoked_at: self.revoked_at.as_deref().map(parse_time).transpose()?,
            rotation_due_at: self
                .rotation_due_at
                .as_deref()
                .map(parse_time)
                .transpose()?,
        })
    }
}

fn tier_text(tier: Tier) -> &'static str {
    match tier {
        Tier::A => "A",
        Tier::B => "B",
        Tier::C => "C",
    }
}

fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Database(format!("bad timestamp {text:?}: {e}")))
}

/// A database error as the store reports it. SQLite's messages name
/// columns and constraints, never bound values, so no ciphertext or
/// credential reaches the message. A constraint or trigger refusal is a
/// [`StoreError::Constraint`].
pub(super) fn database(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Constraint(e.to_string())
        }
        _ => StoreError::Database(e.to_string()),
    }
}
