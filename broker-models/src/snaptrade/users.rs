//! The partner's users (reference §4.1): the model's account holder (the
//! served credentials' `user_id`, who holds every connection) and the users
//! a test registers, who hold none. Registering, deleting and rotating a
//! secret answer as SnapTrade does and are announced by webhook
//! (`USER_REGISTERED`, `USER_DELETED`). Kept by the face, across
//! `/_sim/reset`, like the webhook setting: users belong to the partner's
//! key, not to the brokerage's day.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Signed;
use super::errors::SnapTradeError;
use super::hooks::Hooks;
use crate::credentials::{same_secret, Credentials};
use crate::face::Shared;
use crate::ids::stable_uuid;

#[derive(Clone, Default)]
pub struct Users(Arc<Mutex<Registry>>);

impl Users {
    pub fn lock(&self) -> MutexGuard<'_, Registry> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Default)]
pub struct Registry {
    /// Registered users and their secrets.
    others: BTreeMap<String, String>,
    /// The holder's secret once rotated (before: the served credential).
    holder_secret: Option<String>,
    holder_deleted: bool,
    /// Secrets issued so far: each new one is drawn from the count.
    issued: u64,
}

/// Who a verified user call is on behalf of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The account holder: every connection is theirs.
    Holder,
    /// A user the partner registered: no connections.
    Other,
}

impl Registry {
    /// The user `user_id` if `secret` is theirs now.
    pub fn verify(&self, creds: &Credentials, user_id: &str, secret: &str) -> Option<Who> {
        if creds.matches("user_id", user_id) {
            let good = match &self.holder_secret {
                Some(rotated) => same_secret(rotated, secret),
                None => creds.matches("user_secret", secret),
            };
            return (good && !self.holder_deleted).then_some(Who::Holder);
        }
        self.others
            .get(user_id)
            .filter(|s| same_secret(s, secret))
            .map(|_| Who::Other)
    }

    fn exists(&self, creds: &Credentials, user_id: &str) -> bool {
        let holder = creds.matches("user_id", user_id) && !self.holder_deleted;
        holder || self.others.contains_key(user_id)
    }

    /// A new secret, shaped like SnapTrade's (a UUID), never one issued before.
    fn issue(&mut self, creds: &Credentials) -> String {
        self.issued += 1;
        let client = creds.get("client_id").unwrap_or_default();
        stable_uuid(&["snaptrade-user-secret", client, &self.issued.to_string()])
    }
}

#[derive(Deserialize)]
struct Register {
    #[serde(rename = "userId")]
    user_id: Option<String>,
}

/// `POST /snapTrade/registerUser`.
pub async fn register(
    State(s): State<Shared>,
    Extension(users): Extension<Users>,
    Extension(hooks): Extension<Hooks>,
    call: Signed,
) -> Result<Json<Value>, SnapTradeError> {
    let form: Register = call.form()?;
    let user_id = form
        .user_id
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| SnapTradeError::invalid("userId is required"))?;
    let b = s.lock();
    let mut registry = users.lock();
    if registry.exists(b.credentials(), &user_id) {
        return Err(SnapTradeError::invalid(format!(
            "User with the following userId already exist: {user_id}"
        )));
    }
    let secret = registry.issue(b.credentials());
    registry.others.insert(user_id.clone(), secret.clone());
    hooks
        .lock()
        .user_event(&b, &user_id, "USER_REGISTERED", b.now());
    Ok(Json(json!({ "userId": user_id, "userSecret": secret })))
}

/// `DELETE /snapTrade/deleteUser?userId=`: the user and their data go (the
/// holder's connections with them: every later call as the holder is
/// refused); announced by `USER_DELETED`.
pub async fn delete(
    State(s): State<Shared>,
    Extension(users): Extension<Users>,
    Extension(hooks): Extension<Hooks>,
    call: Signed,
) -> Result<Json<Value>, SnapTradeError> {
    let user_id = call
        .param("userId")
        .map(str::to_string)
        .ok_or_else(|| SnapTradeError::invalid("userId is required"))?;
    let b = s.lock();
    let mut registry = users.lock();
    if !registry.exists(b.credentials(), &user_id) {
        return Err(SnapTradeError::not_found());
    }
    if registry.others.remove(&user_id).is_none() {
        registry.holder_deleted = true;
    }
    hooks
        .lock()
        .user_event(&b, &user_id, "USER_DELETED", b.now());
    Ok(Json(json!({
        "status": "deleted",
        "detail": "User queued for deletion; please wait for webhook for confirmation.",
        "userId": user_id,
    })))
}

#[derive(Deserialize)]
struct Reset {
    #[serde(rename = "userId")]
    user_id: Option<String>,
    #[serde(rename = "userSecret")]
    user_secret: Option<String>,
}

/// `POST /snapTrade/resetUserSecret`: the current secret buys a new one;
/// the old one is refused from then on.
pub async fn reset_secret(
    State(s): State<Shared>,
    Extension(users): Extension<Users>,
    call: Signed,
) -> Result<Json<Value>, SnapTradeError> {
    let form: Reset = call.form()?;
    let (Some(user_id), Some(secret)) = (form.user_id, form.user_secret) else {
        return Err(SnapTradeError::invalid(
            "userId and userSecret are required",
        ));
    };
    let b = s.lock();
    let mut registry = users.lock();
    let who = registry
        .verify(b.credentials(), &user_id, &secret)
        .ok_or_else(SnapTradeError::bad_user)?;
    let fresh = registry.issue(b.credentials());
    match who {
        Who::Holder => registry.holder_secret = Some(fresh.clone()),
        Who::Other => {
            registry.others.insert(user_id.clone(), fresh.clone());
        }
    }
    Ok(Json(json!({ "userId": user_id, "userSecret": fresh })))
}

/// `GET /snapTrade/listUsers`: every user of the partner's key.
pub async fn list(
    State(s): State<Shared>,
    Extension(users): Extension<Users>,
    _: Signed,
) -> Json<Vec<String>> {
    let b = s.lock();
    let registry = users.lock();
    let holder = b
        .credentials()
        .get("user_id")
        .filter(|_| !registry.holder_deleted)
        .map(str::to_string);
    Json(
        holder
            .into_iter()
            .chain(registry.others.keys().cloned())
            .collect(),
    )
}
