//! Velvet, the token store: one row per connection holding its credential
//! encrypted (envelope encryption, [`envelope`]), with the rules the BYOB
//! decision puts in the store itself rather than in its callers:
//! - a Tier C row is `no_order_write`, and asking for its credential to
//!   place an order is refused here, by [`Velvet::credential_for_order`],
//!   whoever asks (and by the database's own constraints: such a row cannot
//!   be written without `no_order_write`, nor changed later);
//! - a revoked row never hands out its credential again, for any purpose;
//! - a Tier A credential is due for rotation 90 days after it was stored;
//!   rotation replaces it and keeps the old ciphertext in the row's history.
//!
//! The persistence is a [`RowStore`]: [`memory::MemoryRows`] or
//! [`sqlite::SqliteRows`]. The policy above lives once, in [`Velvet`], over
//! either; the row stores also refuse what the schema forbids, so a caller
//! that bypasses `Velvet` still cannot write an order-capable Tier C row.

pub mod envelope;
pub mod memory;
pub mod sqlite;

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::connection::{Connection, ConnectionId, Tier};
use envelope::MasterKey;

/// How long a Tier A credential may be used before it is due for rotation.
pub const TIER_A_ROTATION: Duration = Duration::days(90);

/// One row of the store, exactly the columns the BYOB decision names (plus
/// the connection it belongs to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    pub connection_id: ConnectionId,
    pub broker_tier: Tier,
    pub broker_slug: String,
    /// The sealed credential (for Tier B, the SnapTrade connection id and
    /// user secret): never the plaintext.
    pub token_ciphertext: Vec<u8>,
    /// True for Tier C: no credential for an order ever leaves this row.
    pub no_order_write: bool,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the credential must be rotated (Tier A only).
    pub rotation_due_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    /// What every row store refuses to write, whatever its caller.
    pub fn check(&self) -> Result<(), StoreError> {
        if self.broker_tier == Tier::C && !self.no_order_write {
            return Err(StoreError::Constraint(format!(
                "row {}: a Tier C row must be no_order_write",
                self.connection_id
            )));
        }
        Ok(())
    }
}

/// A credential replaced by rotation, kept as it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retired {
    pub token_ciphertext: Vec<u8>,
    pub retired_at: DateTime<Utc>,
}

/// What the persistence layer can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("connection {0} already has a token row")]
    Duplicate(ConnectionId),
    #[error("no token row for connection {0}")]
    Missing(ConnectionId),
    /// The write would break a rule of the schema.
    #[error("refused by the store's constraints: {0}")]
    Constraint(String),
    #[error("the token database failed: {0}")]
    Database(String),
}

/// The persistence of token rows, without policy: [`Velvet`] is the only
/// way the rest of the order path reaches a credential.
pub trait RowStore: Send {
    /// Adds a row; refuses a second row for the same connection.
    fn insert(&mut self, row: TokenRow) -> Result<(), StoreError>;
    fn row(&self, id: &ConnectionId) -> Result<Option<TokenRow>, StoreError>;
    fn rows(&self) -> Result<Vec<TokenRow>, StoreError>;
    /// Replaces the row's ciphertext and rotation date in one step, moving
    /// the old ciphertext to the row's history.
    fn replace_token(
        &mut self,
        id: &ConnectionId,
        token_ciphertext: Vec<u8>,
        rotation_due_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Marks the row revoked; a revoked row is never un-revoked.
    fn mark_revoked(&mut self, id: &ConnectionId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// The ciphertexts rotation replaced, oldest first.
    fn history(&self, id: &ConnectionId) -> Result<Vec<Retired>, StoreError>;
}

/// A row store chosen at run time (a simulation's memory or SQLite).
impl RowStore for Box<dyn RowStore> {
    fn insert(&mut self, row: TokenRow) -> Result<(), StoreError> {
        (**self).insert(row)
    }
    fn row(&self, id: &ConnectionId) -> Result<Option<TokenRow>, StoreError> {
        (**self).row(id)
    }
    fn rows(&self) -> Result<Vec<TokenRow>, StoreError> {
        (**self).rows()
    }
    fn replace_token(
        &mut self,
        id: &ConnectionId,
        token_ciphertext: Vec<u8>,
        rotation_due_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        (**self).replace_token(id, token_ciphertext, rotation_due_at, at)
    }
    fn mark_revoked(&mut self, id: &ConnectionId, at: DateTime<Utc>) -> Result<(), StoreError> {
        (**self).mark_revoked(id, at)
    }
    fn history(&self, id: &ConnectionId) -> Result<Vec<Retired>, StoreError> {
        (**self).history(id)
    }
}

/// A credential in the clear, for the one call that needs it. It never
/// prints, so it cannot reach a log or a trace through `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// Why the store did not hand out a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VelvetError {
    /// The Tier C rule: this connection never places an order.
    #[error(
        "connection {connection} ({slug}) is read-only: its token is never used to place an order"
    )]
    NoOrderWrite {
        connection: ConnectionId,
        slug: String,
    },
    #[error("connection {connection}'s token was revoked at {at}; it is never used again")]
    Revoked {
        connection: ConnectionId,
        at: DateTime<Utc>,
    },
    #[error("the token of connection {0} does not open (tampered, or another master key)")]
    Unsealable(ConnectionId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VelvetError {
    /// The adapter contract's error kind a caller reports this as.
    pub fn kind(&self) -> adapters::ErrorKind {
        match self {
            VelvetError::NoOrderWrite { .. } => adapters::ErrorKind::ReadOnly,
            VelvetError::Revoked { .. } => adapters::ErrorKind::ReauthRequired,
            VelvetError::Store(StoreError::Missing(_)) => adapters::ErrorKind::NotFound,
            VelvetError::Unsealable(_) | VelvetError::Store(_) => adapters::ErrorKind::Unknown,
        }
    }
}

/// The token store's policy over a row store.
pub struct Velvet<S> {
    rows: S,
    master: MasterKey,
    /// Draws data keys and nonces: the simulation's seeded generator, so a
    /// run's ciphertexts are the same bytes every time.
    rng: ChaCha20Rng,
}

impl<S: RowStore> Velvet<S> {
    pub fn new(rows: S, master: MasterKey, rng: ChaCha20Rng) -> Velvet<S> {
        Velvet { rows, master, rng }
    }

    /// Stores a connection's credential. A Tier C connection's row is
    /// `no_order_write` from the start; a Tier A one is due for rotation in
    /// 90 days.
    pub fn enroll(
        &mut self,
        connection: &Connection,
        credential: &Secret,
        now: DateTime<Utc>,
    ) -> Result<(), VelvetError> {
        let row = TokenRow {
            connection_id: connection.id.clone(),
            broker_tier: connection.tier,
            broker_slug: connection.slug.clone(),
            token_ciphertext: Vec::new(),
            no_order_write: connection.tier == Tier::C,
            revoked_at: None,
            rotation_due_at: rotation_due(connection.tier, now),
        };
        let token_ciphertext = self.seal(&row, credential);
        self.rows.insert(TokenRow {
            token_ciphertext,
            ..row
        })?;
        Ok(())
    }

    /// The credential to place (or change, or cancel) an order with. Refused
    /// for a `no_order_write` row (Tier C) and for a revoked one.
    pub fn credential_for_order(&self, id: &ConnectionId) -> Result<Secret, VelvetError> {
        let row = self.live_row(id)?;
        if row.no_order_write {
            return Err(VelvetError::NoOrderWrite {
                connection: row.connection_id,
                slug: row.broker_slug,
            });
        }
        self.open(&row)
    }

    /// The credential to read positions and history with: any tier, never
    /// once revoked.
    pub fn credential_for_read(&self, id: &ConnectionId) -> Result<Secret, VelvetError> {
        let row = self.live_row(id)?;
        self.open(&row)
    }

    /// Replaces a connection's credential (a rotation, or a new OAuth
    /// grant); the old ciphertext stays in the row's history.
    pub fn rotate(
        &mut self,
        id: &ConnectionId,
        credential: &Secret,
        now: DateTime<Utc>,
    ) -> Result<(), VelvetError> {
        let row = self.live_row(id)?;
        let sealed = self.seal(&row, credential);
        self.rows
            .replace_token(id, sealed, rotation_due(row.broker_tier, now), now)?;
        Ok(())
    }

    /// Marks the connection revoked. The caller revokes at the broker first
    /// where the broker has a revoke (with [`Self::credential_for_read`]);
    /// from here on the credential never leaves the store.
    pub fn revoke(&mut self, id: &ConnectionId, now: DateTime<Utc>) -> Result<(), VelvetError> {
        self.live_row(id)?;
        self.rows.mark_revoked(id, now)?;
        Ok(())
    }

    /// The live Tier A connections whose credential is due for rotation.
    pub fn rotations_due(&self, now: DateTime<Utc>) -> Result<Vec<ConnectionId>, VelvetError> {
        Ok(self
            .rows
            .rows()?
            .into_iter()
            .filter(|r| r.revoked_at.is_none() && r.rotation_due_at.is_some_and(|due| due <= now))
            .map(|r| r.connection_id)
            .collect())
    }

    /// The rows as stored (ciphertexts only), for inspection and tests.
    pub fn rows(&self) -> &S {
        &self.rows
    }

    /// Opens one of the row's retired ciphertexts (an audit of rotations).
    pub fn retired(&self, id: &ConnectionId) -> Result<Vec<Secret>, VelvetError> {
        let row = self
            .rows
            .row(id)?
            .ok_or_else(|| StoreError::Missing(id.clone()))?;
        self.rows
            .history(id)?
            .iter()
            .map(|r| self.open_blob(&row, &r.token_ciphertext))
            .collect()
    }

    fn live_row(&self, id: &ConnectionId) -> Result<TokenRow, VelvetError> {
        let row = self
            .rows
            .row(id)?
            .ok_or_else(|| StoreError::Missing(id.clone()))?;
        match row.revoked_at {
            Some(at) => Err(VelvetError::Revoked {
                connection: row.connection_id,
                at,
            }),
            None => Ok(row),
        }
    }

    fn seal(&mut self, row: &TokenRow, credential: &Secret) -> Vec<u8> {
        envelope::seal(
            &self.master,
            &binding(row),
            credential.expose().as_bytes(),
            &mut self.rng,
        )
    }

    fn open(&self, row: &TokenRow) -> Result<Secret, VelvetError> {
        self.open_blob(row, &row.token_ciphertext)
    }

    fn open_blob(&self, row: &TokenRow, blob: &[u8]) -> Result<Secret, VelvetError> {
        let unsealable = || VelvetError::Unsealable(row.connection_id.clone());
        let plain = envelope::open(&self.master, &binding(row), blob).map_err(|_| unsealable())?;
        String::from_utf8(plain)
            .map(Secret)
            .map_err(|_| unsealable())
    }
}

fn rotation_due(tier: Tier, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (tier == Tier::A).then(|| now + TIER_A_ROTATION)
}

/// What a ciphertext is bound to: its row's connection, tier and broker. A
/// blob moved to another row, or a row whose tier was rewritten, no longer
/// opens.
fn binding(row: &TokenRow) -> Vec<u8> {
    format!(
        "velvet/v1|{}|{:?}|{}",
        row.connection_id, row.broker_tier, row.broker_slug
    )
    .into_bytes()
}

#[cfg(test)]
mod tests;
