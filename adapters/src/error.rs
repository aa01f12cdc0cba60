//! Errors of the adapter contract: every failure carries a `kind` a caller
//! can act on, a message, and the vendor's own code where it has one.
//! Messages never carry credentials (they are built from vendor error
//! bodies and our own words, never from request headers).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The broker is down or answered 5xx; nothing is known to have happened.
    Unavailable,
    /// No answer in time: the request may or may not have taken effect.
    Timeout,
    /// The broker throttled us; `retry_after_ms` says when to try again.
    RateLimited,
    /// The access token expired; a refresh may fix it.
    AuthExpired,
    /// Only a new authorization by the user fixes it.
    ReauthRequired,
    /// The broker refused the order (buying power, symbol, market closed, …).
    Rejected,
    NotFound,
    /// The order is already terminal (filled, canceled, expired).
    TooLateToCancel,
    /// A read-only (Tier C) connection was asked to trade.
    ReadOnly,
    /// The adapter or broker does not support this (order type, multi-leg, …).
    Unsupported,
    /// The request itself is malformed (we would send the broker nonsense).
    InvalidRequest,
    /// A kill switch refuses live orders.
    KillSwitch,
    /// Anything else: malformed answers, a crashed adapter process, …
    Unknown,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::Unavailable,
        ErrorKind::Timeout,
        ErrorKind::RateLimited,
        ErrorKind::AuthExpired,
        ErrorKind::ReauthRequired,
        ErrorKind::Rejected,
        ErrorKind::NotFound,
        ErrorKind::TooLateToCancel,
        ErrorKind::ReadOnly,
        ErrorKind::Unsupported,
        ErrorKind::InvalidRequest,
        ErrorKind::KillSwitch,
        ErrorKind::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::AuthExpired => "auth_expired",
            ErrorKind::ReauthRequired => "reauth_required",
            ErrorKind::Rejected => "rejected",
            ErrorKind::NotFound => "not_found",
            ErrorKind::TooLateToCancel => "too_late_to_cancel",
            ErrorKind::ReadOnly => "read_only",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::KillSwitch => "kill_switch",
            ErrorKind::Unknown => "unknown",
        }
    }

    /// Whether the same request may succeed if sent again later.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::RateLimited
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An adapter error, the same shape in Rust and over the process bridge
/// (where it travels as JSON-RPC error `data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct AdapterError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_code: Option<String>,
}

impl AdapterError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after_ms: None,
            broker_code: None,
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.broker_code = Some(code.into());
        self
    }

    pub fn rate_limited(retry_after_ms: u64, message: impl Into<String>) -> Self {
        Self {
            retry_after_ms: Some(retry_after_ms),
            ..Self::new(ErrorKind::RateLimited, message)
        }
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }
    pub fn rejected(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Rejected, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }
    pub fn unknown(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unknown, message)
    }
}

pub type Result<T, E = AdapterError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialize_as_bridge_data() {
        let e = AdapterError::rate_limited(1500, "slow down").with_code("429");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind":"rate_limited","message":"slow down","retry_after_ms":1500,"broker_code":"429"})
        );
        let plain = serde_json::to_value(AdapterError::not_found("gone")).unwrap();
        assert_eq!(
            plain,
            serde_json::json!({"kind":"not_found","message":"gone"})
        );
        assert_eq!(e.to_string(), "rate_limited: slow down");
    }

    #[test]
    fn every_kind_has_its_wire_word() {
        for kind in ErrorKind::ALL {
            let word = kind.as_str();
            let back: ErrorKind = serde_json::from_value(serde_json::json!(word)).unwrap();
            assert_eq!(back, kind, "{word}");
        }
    }
}
