//! Who is asking and what (reference §1.2, §4.2): every call is a POST with
//! a JSON body; `client_id` and `secret` come as `PLAID-CLIENT-ID` /
//! `PLAID-SECRET` headers (plaid-python) or as body fields (most other
//! clients), or one of each. The extractor's rejection is Plaid's own
//! answer, so a handler never runs for a request Plaid would have refused:
//! no JSON content type → INVALID_HEADERS, no JSON object → INVALID_BODY,
//! bad keys → INVALID_API_KEYS (400, not 401), then the operation's fields
//! (MISSING_FIELDS, UNKNOWN_FIELDS, INVALID_FIELD).

use axum::body::to_bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::errors::PlaidError;
use super::institution::Health;
use super::state::{Item, State};
use crate::face::{decision_of, Shared};

/// The largest body a Plaid request has any business sending.
const MAX_BODY: usize = 1024 * 1024;

/// The request id of the answer being made (set by the face's outer layer).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// An authenticated call with its operation's fields.
pub struct Call<T> {
    pub body: T,
    pub request_id: String,
    /// The fault plan's stale read: answer from a cache this old.
    pub stale_ms: Option<u64>,
}

impl<T: DeserializeOwned> FromRequest<Shared> for Call<T> {
    type Rejection = PlaidError;

    async fn from_request(req: Request, s: &Shared) -> Result<Self, PlaidError> {
        let (parts, body) = req.into_parts();
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let stale_ms = decision_of(&parts.extensions).stale_ms;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(PlaidError::invalid_headers)?;
        if !content_type.trim_start().starts_with("application/json") {
            return Err(PlaidError::invalid_body());
        }
        let bytes = to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| PlaidError::invalid_body())?;
        let mut fields: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|_| PlaidError::invalid_body())?;
        let client_id = key(
            &parts.headers,
            "plaid-client-id",
            fields.remove("client_id"),
        );
        let secret = key(&parts.headers, "plaid-secret", fields.remove("secret"));
        let good = {
            let b = s.lock();
            let creds = b.credentials();
            client_id.is_some_and(|c| creds.matches("client_id", &c))
                && secret.is_some_and(|x| creds.matches("secret", &x))
        };
        if !good {
            return Err(PlaidError::invalid_api_keys());
        }
        let body = T::deserialize(Value::Object(fields)).map_err(|e| field_error(&e))?;
        Ok(Self {
            body,
            request_id,
            stale_ms,
        })
    }
}

/// A key from its header, or else from the body (the header wins when both are sent).
fn key(headers: &HeaderMap, name: &str, in_body: Option<Value>) -> Option<String> {
    let header = headers.get(name).and_then(|v| v.to_str().ok());
    match (header, in_body) {
        (Some(h), _) => Some(h.to_string()),
        (None, Some(Value::String(b))) => Some(b),
        _ => None,
    }
}

/// serde's words for a body that does not fit the operation, in Plaid's.
fn field_error(e: &serde_json::Error) -> PlaidError {
    let text = e.to_string();
    let quoted = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string)
    };
    if let Some(field) = quoted("missing field `") {
        return PlaidError::missing_fields(&field);
    }
    if let Some(field) = quoted("unknown field `") {
        return PlaidError::unknown_fields(&field);
    }
    PlaidError::invalid_field(&format!("a field has an invalid value: {text:.120}"))
}

/// The Item an access token reaches.
pub fn item<'a>(state: &'a mut State, access_token: &str) -> Result<&'a mut Item, PlaidError> {
    match state.items.get_mut(access_token) {
        None => Err(PlaidError::invalid_access_token()),
        Some(item) if item.removed => Err(PlaidError::item_not_found()),
        Some(item) => Ok(item),
    }
}

/// An Item whose data can be read now: its login works and its institution answers.
pub fn readable<'a>(state: &'a mut State, access_token: &str) -> Result<&'a mut Item, PlaidError> {
    let item = item(state, access_token)?;
    if item.login_required {
        return Err(PlaidError::item_login_required());
    }
    match item.institution.health {
        Health::Healthy => Ok(item),
        Health::Down => Err(PlaidError::institution_down()),
        Health::Unsupported => Err(PlaidError::products_not_supported()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_words_become_plaid_codes() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Needs {
            access_token: String,
        }
        let missing = serde_json::from_value::<Needs>(serde_json::json!({})).unwrap_err();
        assert_eq!(field_error(&missing).error_code, "MISSING_FIELDS");
        assert!(field_error(&missing).message.ends_with("access_token"));
        let unknown =
            serde_json::from_value::<Needs>(serde_json::json!({"access_token": "a", "x": 1}))
                .unwrap_err();
        assert_eq!(field_error(&unknown).error_code, "UNKNOWN_FIELDS");
        let wrong =
            serde_json::from_value::<Needs>(serde_json::json!({"access_token": 5})).unwrap_err();
        assert_eq!(field_error(&wrong).error_code, "INVALID_FIELD");
    }
}
