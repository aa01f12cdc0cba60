//! Token rows in memory: the simulation's store, with the same constraints
//! as the database's schema.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{Retired, RowStore, StoreError, TokenRow};
use crate::connection::ConnectionId;

#[derive(Debug, Default)]
pub struct MemoryRows {
    rows: BTreeMap<ConnectionId, TokenRow>,
    history: BTreeMap<ConnectionId, Vec<Retired>>,
}

impl MemoryRows {
    pub fn new() -> MemoryRows {
        MemoryRows::default()
    }

    fn existing(&mut self, id: &ConnectionId) -> Result<&mut TokenRow, StoreError> {
        self.rows
            .get_mut(id)
            .ok_or_else(|| StoreError::Missing(id.clone()))
    }
}

impl RowStore for MemoryRows {
    fn insert(&mut self, row: TokenRow) -> Result<(), StoreError> {
        row.check()?;
        if self.rows.contains_key(&row.connection_id) {
            return Err(StoreError::Duplicate(row.connection_id));
        }
        self.rows.insert(row.connection_id.clone(), row);
        Ok(())
    }

    fn row(&self, id: &ConnectionId) -> Result<Option<TokenRow>, StoreError> {
        Ok(self.rows.get(id).cloned())
    }

    fn rows(&self) -> Result<Vec<TokenRow>, StoreError> {
        Ok(self.rows.values().cloned().collect())
    }

    fn replace_token(
        &mut self,
        id: &ConnectionId,
        token_ciphertext: Vec<u8>,
        rotation_due_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = self.existing(id)?;
        let old = std::mem::replace(&mut row.token_ciphertext, token_ciphertext);
        row.rotation_due_at = rotation_due_at;
        self.history.entry(id.clone()).or_default().push(Retired {
            token_ciphertext: old,
            retired_at: at,
        });
        Ok(())
    }

    fn mark_revoked(&mut self, id: &ConnectionId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let row = self.existing(id)?;
        if row.revoked_at.is_some() {
            return Err(StoreError::Constraint(format!(
                "row {id}: already revoked, and revocation is never undone"
            )));
        }
        row.revoked_at = Some(at);
        Ok(())
    }

    fn history(&self, id: &ConnectionId) -> Result<Vec<Retired>, StoreError> {
        Ok(self.history.get(id).cloned().unwrap_or_default())
    }
}
