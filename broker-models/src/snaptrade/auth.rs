//! Who is asking (reference §1.2, §2): every call but `GET /` carries
//! `clientId` and `timestamp` in its query and a `Signature` header, the
//! HMAC-SHA256 under the partner's consumer key of a canonical JSON of the
//! request (`{"content", "path", "query"}`, keys sorted, no whitespace);
//! user-scoped calls also carry `userId` and `userSecret`. The extractors'
//! rejections are SnapTrade's own answers, so a handler never runs for a
//! request SnapTrade would have refused.
//!
//! Which bytes were signed depends on the SDK's generation (§1.3, §11.1):
//! python 13.x signs the root path whatever prefix the host has, python
//! 11.x signs `/api/v1` + the path whatever the host; python signs
//! ASCII-escaped JSON while sending raw UTF-8, TypeScript signs raw UTF-8.
//! A signature over any of those candidates verifies.
//!
//! The timestamp must be an integer, but its freshness is not checked: the
//! window is undocumented (§2), and an SDK stamps wall-clock time while the
//! model's clock is simulated, so any window would refuse every SDK request.

use std::collections::BTreeMap;

use axum::body::{to_bytes, Bytes};
use axum::extract::{FromRequest, Request};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sha2::Sha256;

use super::errors::SnapTradeError;
use super::users::{Users, Who};
use crate::credentials::same_secret;
use crate::face::{decision_of, Shared};
use crate::faults::Decision;

/// The largest body a SnapTrade request has any business sending.
const MAX_BODY: usize = 1024 * 1024;

/// The legacy path prefix older SDKs use (§1.1).
pub const LEGACY_PREFIX: &str = "/api/v1";

/// A signed partner-level call: its operation's own query parameters and
/// its JSON body as sent (numbers are read from their own text, never
/// through a float).
pub struct Signed {
    pub params: BTreeMap<String, String>,
    pub body: Bytes,
    pub decision: Decision,
    /// Made for the account holder, whose connections the model holds (a
    /// [`UserCall`] as them); false for partner-level calls and other users.
    pub holder: bool,
}

/// A signed call on behalf of the model's user (`userId` and `userSecret`
/// verified).
pub struct UserCall(pub Signed);

impl Signed {
    /// The body as the operation's form; SnapTrade's 400 when it is not.
    pub fn form<T: DeserializeOwned>(&self) -> Result<T, SnapTradeError> {
        let text: &[u8] = if self.body.is_empty() {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(text)
            .map_err(|e| SnapTradeError::invalid(format!("Unable to verify data sent: {e:.160}")))
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

impl FromRequest<Shared> for Signed {
    type Rejection = SnapTradeError;

    async fn from_request(req: Request, s: &Shared) -> Result<Self, SnapTradeError> {
        let (parts, body) = req.into_parts();
        let decision = decision_of(&parts.extensions);
        let raw_query = parts.uri.query().unwrap_or_default().to_string();
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&raw_query).map_err(|_| {
                SnapTradeError::invalid("Unable to verify data sent: a malformed query")
            })?;
        let mut params: BTreeMap<String, String> = pairs.into_iter().collect();
        let client_id = params.remove("clientId");
        let timestamp = params.remove("timestamp");
        let signature = parts
            .headers
            .get("signature")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| SnapTradeError::invalid("Unable to verify data sent: body too large"))?;
        let value: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|_| SnapTradeError::invalid("Unable to verify data sent: not JSON"))?
        };
        let key = {
            let b = s.lock();
            let creds = b.credentials();
            if !client_id.is_some_and(|c| creds.matches("client_id", &c)) {
                return Err(SnapTradeError::bad_client());
            }
            creds.get("consumer_key").unwrap_or_default().to_string()
        };
        if timestamp.is_none_or(|t| t.parse::<i64>().is_err()) {
            return Err(SnapTradeError::invalid(
                "Unable to verify data sent: timestamp must be a Unix time in seconds",
            ));
        }
        let signature = signature.ok_or_else(SnapTradeError::bad_signature)?;
        if !verifies(&key, parts.uri.path(), &raw_query, &value, &signature) {
            return Err(SnapTradeError::bad_signature());
        }
        Ok(Self {
            params,
            body: bytes,
            decision,
            holder: false,
        })
    }
}

impl FromRequest<Shared> for UserCall {
    type Rejection = SnapTradeError;

    async fn from_request(req: Request, s: &Shared) -> Result<Self, SnapTradeError> {
        let users = req.extensions().get::<Users>().cloned().unwrap_or_default();
        let lists = is_list(req.uri().path());
        let login = is_login(req.uri().path());
        let mut call = Signed::from_request(req, s).await?;
        let user_id = call.params.remove("userId").unwrap_or_default();
        let secret = call.params.remove("userSecret").unwrap_or_default();
        let who = users
            .lock()
            .verify(s.lock().credentials(), &user_id, &secret);
        match who {
            None => Err(SnapTradeError::bad_user()),
            Some(Who::Holder) => {
                call.holder = true;
                Ok(UserCall(call))
            }
            // Another user holds no connection: lists are empty, and any
            // account or connection is not theirs.
            Some(Who::Other) if lists => Ok(UserCall(call)),
            // Their connections would be new ones, with ids of their own:
            // the model's connections are the served user's, fixed.
            Some(Who::Other) if login => Err(SnapTradeError::not_simulated(
                "the connection portal of a user other than the served one",
            )),
            Some(Who::Other) => Err(SnapTradeError::not_found()),
        }
    }
}

/// The user-scoped lists (connections, accounts), which a user without
/// connections reads as empty.
fn is_list(path: &str) -> bool {
    let path = path.strip_prefix(LEGACY_PREFIX).unwrap_or(path);
    matches!(path, "/authorizations" | "/accounts" | "/accounts/all")
}

fn is_login(path: &str) -> bool {
    path.strip_prefix(LEGACY_PREFIX).unwrap_or(path) == "/snapTrade/login"
}

/// Whether `signature` is the consumer key's over any of the request's
/// signing candidates (§2's server-side recipe).
fn verifies(key: &str, path: &str, query: &str, body: &Value, signature: &str) -> bool {
    // `{}` is signed as no content at all.
    let content = match body {
        Value::Object(m) if m.is_empty() => Value::Null,
        other => other.clone(),
    };
    let root = path.strip_prefix(LEGACY_PREFIX).unwrap_or(path);
    let legacy = format!("{LEGACY_PREFIX}{root}");
    [root, legacy.as_str()].iter().any(|p| {
        let canonical = json!({ "content": content, "path": p, "query": query }).to_string();
        let escaped = ascii_escaped(&canonical);
        [canonical.as_str(), escaped.as_str()]
            .iter()
            .any(|text| same_secret(&sign(key, text), signature))
    })
}

/// The signature an SDK 13 client puts on a request (root path, raw
/// query, raw UTF-8): what the fuzzer's `${signature}` stands for, and how
/// the hostile-client test gets its requests past the signature check.
pub fn signature_for(key: &str, path: &str, query: &str, body: &[u8]) -> String {
    let content = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) if m.is_empty() => Value::Null,
        Ok(v) => v,
        Err(_) => Value::Null,
    };
    let root = path.strip_prefix(LEGACY_PREFIX).unwrap_or(path);
    sign(
        key,
        &json!({ "content": content, "path": root, "query": query }).to_string(),
    )
}

/// base64(HMAC-SHA256(key, text)), standard alphabet with padding (§2.4).
pub fn sign(key: &str, text: &str) -> String {
    // HMAC takes a key of any length; this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The canonical JSON as python's `json.dumps` writes it by default
/// (`ensure_ascii`): every non-ASCII character as `\uXXXX` UTF-16 units.
/// Outside strings canonical JSON is ASCII, so escaping the whole text is
/// escaping inside its strings.
fn ascii_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expected values were computed with python's own serializer and
    /// hmac (the python SDK's recipe, §2):
    /// `base64.b64encode(hmac.new(b"KEY", json.dumps(obj, separators=(",", ":"),
    /// sort_keys=True).encode(), hashlib.sha256).digest())`.
    #[test]
    fn python_sdk_signatures_verify_on_either_path_generation() {
        let body = json!({"userId": "u\u{fc}"});
        let query = "clientId=C&timestamp=1";
        let py = sign(
            "KEY",
            r#"{"content":{"userId":"u\u00fc"},"path":"/snapTrade/registerUser","query":"clientId=C&timestamp=1"}"#,
        );
        assert!(verifies(
            "KEY",
            "/snapTrade/registerUser",
            query,
            &body,
            &py
        ));
        // Sent to the legacy prefix, signed over the root path (python 13.x).
        assert!(verifies(
            "KEY",
            "/api/v1/snapTrade/registerUser",
            query,
            &body,
            &py
        ));
        // Signed raw (TypeScript).
        let ts = sign(
            "KEY",
            r#"{"content":{"userId":"uü"},"path":"/snapTrade/registerUser","query":"clientId=C&timestamp=1"}"#,
        );
        assert!(verifies(
            "KEY",
            "/snapTrade/registerUser",
            query,
            &body,
            &ts
        ));
        // python 11.x signs /api/v1 + path whatever the host.
        let legacy = sign(
            "KEY",
            r#"{"content":null,"path":"/api/v1/accounts","query":"clientId=C&timestamp=1"}"#,
        );
        assert!(verifies("KEY", "/accounts", query, &json!({}), &legacy));
        assert!(!verifies(
            "KEY",
            "/accounts",
            "clientId=C&timestamp=2",
            &Value::Null,
            &legacy
        ));
        assert!(!verifies(
            "OTHER",
            "/accounts",
            query,
            &Value::Null,
            &legacy
        ));
    }

    #[test]
    fn the_hmac_is_the_documented_one() {
        // python3 -c 'import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b"KEY",b"abc",hashlib.sha256).digest()).decode())'
        assert_eq!(
            sign("KEY", "abc"),
            "MNk9tFRCBPUZINFCo9aJo2siSbNHOTL7HBArZ8pxz7Q="
        );
    }
}
