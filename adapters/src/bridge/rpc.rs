//! The bridge's wire: JSON-RPC 2.0, one JSON object per line. Requests are
//! built here and every line the child prints is judged here, so nothing the
//! child says can reach the caller without being checked (and nothing it
//! says can make us panic).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{AdapterError, ErrorKind};

/// The JSON-RPC error code the contract reserves for adapter errors: `data`
/// carries `{kind, retry_after_ms?, broker_code?}`.
pub const ADAPTER_ERROR_CODE: i64 = -32000;

/// How much of an offending line an error message quotes.
const QUOTE_CHARS: usize = 120;

/// One request line (without its newline).
pub fn request_line(id: u64, method: &str, params: Value) -> String {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }).to_string()
}

/// What one line from the child's stdout turned out to be.
#[derive(Debug)]
pub enum Reply {
    /// The answer to the request with this id.
    Answer(u64, Result<Value, AdapterError>),
    /// A notification (no id): a method and its params.
    Notice(String, Value),
    /// A line that is not a JSON-RPC response we can attribute to a request.
    Garbage(AdapterError),
}

#[derive(Deserialize)]
struct RawError {
    code: Option<i64>,
    message: Option<String>,
    data: Option<Value>,
}

#[derive(Deserialize)]
struct ErrorData {
    kind: ErrorKind,
    retry_after_ms: Option<u64>,
    broker_code: Option<String>,
}

/// The start of a line, for quoting in an error message.
pub fn quote(line: &str) -> String {
    let mut q: String = line.chars().take(QUOTE_CHARS).collect();
    if line.chars().count() > QUOTE_CHARS {
        q.push('…');
    }
    q
}

/// Judges one line. `current` is the id of the request in flight: an error
/// response with a null id (the child could not read our request) belongs to it.
pub fn parse_reply(line: &str, current: u64) -> Reply {
    let garbage = |why: &str| {
        Reply::Garbage(AdapterError::unknown(format!(
            "adapter printed {why}: {:?}",
            quote(line)
        )))
    };
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(line) else {
        return garbage("a line that is not a JSON object");
    };
    if let (Some(Value::String(method)), None) = (obj.get("method"), obj.get("id")) {
        let params = obj.get("params").cloned().unwrap_or(Value::Null);
        return Reply::Notice(method.clone(), params);
    }
    let id = match obj.get("id") {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(id) => Some(id),
            None => return garbage("a response with a non-integer id"),
        },
        Some(Value::Null) | None => None,
        Some(_) => return garbage("a response with a non-integer id"),
    };
    if let Some(err) = obj.get("error") {
        let id = id.unwrap_or(current);
        return Reply::Answer(id, Err(adapter_error(err)));
    }
    let Some(id) = id else {
        return garbage("a response without an id");
    };
    match obj.get("result") {
        Some(result) => Reply::Answer(id, Ok(result.clone())),
        None => Reply::Answer(
            id,
            Err(AdapterError::unknown(format!(
                "adapter answered without a result or an error: {:?}",
                quote(line)
            ))),
        ),
    }
}

/// An `order_update_error` notification's params → the contract's error.
pub fn notice_error(params: &Value) -> AdapterError {
    match serde_json::from_value::<ErrorData>(params.clone()) {
        Ok(data) => AdapterError {
            kind: data.kind,
            message: params["message"].as_str().unwrap_or_default().to_string(),
            retry_after_ms: data.retry_after_ms,
            broker_code: data.broker_code,
        },
        Err(_) => AdapterError::unknown(format!(
            "adapter sent a malformed order_update_error: {:?}",
            quote(&params.to_string())
        )),
    }
}

/// A JSON-RPC error object → the contract's error. Only code -32000 carries
/// a contract kind; anything else (method not found, a crash the child caught
/// and reported, …) is `unknown`, keeping the child's code and message.
fn adapter_error(err: &Value) -> AdapterError {
    let Ok(raw) = serde_json::from_value::<RawError>(err.clone()) else {
        return AdapterError::unknown(format!(
            "adapter sent a malformed error object: {:?}",
            quote(&err.to_string())
        ));
    };
    let message = raw.message.unwrap_or_default();
    let code = raw.code.unwrap_or(0);
    if code == ADAPTER_ERROR_CODE {
        if let Some(data) = raw
            .data
            .and_then(|d| serde_json::from_value::<ErrorData>(d).ok())
        {
            return AdapterError {
                kind: data.kind,
                message,
                retry_after_ms: data.retry_after_ms,
                broker_code: data.broker_code,
            };
        }
        return AdapterError::unknown(format!(
            "adapter error without a valid data.kind: {message}"
        ));
    }
    AdapterError::unknown(format!("adapter error {code}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_json_rpc_lines() {
        let line = request_line(7, "get_order", json!({"broker_order_id": "x"}));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v,
            json!({"jsonrpc":"2.0","id":7,"method":"get_order","params":{"broker_order_id":"x"}})
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn results_and_typed_errors() {
        match parse_reply(r#"{"jsonrpc":"2.0","id":3,"result":{"a":1}}"#, 3) {
            Reply::Answer(3, Ok(v)) => assert_eq!(v, json!({"a":1})),
            other => panic!("{other:?}"),
        }
        let line = r#"{"jsonrpc":"2.0","id":4,"error":{"code":-32000,"message":"slow down","data":{"kind":"rate_limited","retry_after_ms":1500,"broker_code":"42910000"}}}"#;
        match parse_reply(line, 4) {
            Reply::Answer(4, Err(e)) => {
                assert_eq!(e.kind, ErrorKind::RateLimited);
                assert_eq!(e.retry_after_ms, Some(1500));
                assert_eq!(e.broker_code.as_deref(), Some("42910000"));
                assert_eq!(e.message, "slow down");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_codes_and_bad_data_are_unknown() {
        let line =
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}"#;
        match parse_reply(line, 1) {
            Reply::Answer(1, Err(e)) => {
                assert_eq!(e.kind, ErrorKind::Unknown);
                assert!(e.message.contains("-32601"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        let line = r#"{"id":null,"error":{"code":-32000,"message":"m","data":{"kind":"bogus"}}}"#;
        match parse_reply(line, 9) {
            Reply::Answer(9, Err(e)) => assert_eq!(e.kind, ErrorKind::Unknown),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn notifications_have_a_method_and_no_id() {
        let line = r#"{"jsonrpc":"2.0","method":"order_update","params":{"order":{}}}"#;
        match parse_reply(line, 1) {
            Reply::Notice(m, p) => {
                assert_eq!((m.as_str(), p), ("order_update", json!({"order":{}})))
            }
            other => panic!("{other:?}"),
        }
        let e = notice_error(&json!({"kind": "unavailable", "message": "stream lost"}));
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::Unavailable, "stream lost")
        );
        assert_eq!(notice_error(&json!({"kind": 3})).kind, ErrorKind::Unknown);
    }

    #[test]
    fn garbage_is_quoted_and_never_panics() {
        for line in [
            "hello",
            "[1,2]",
            "{\"id\":\"x\",\"result\":1}",
            "{\"id\":-1,\"result\":1}",
            "{\"result\":1}",
            "{",
            "",
            "\u{0}\u{ffff}",
        ] {
            assert!(
                matches!(parse_reply(line, 1), Reply::Garbage(_)),
                "{line:?}"
            );
        }
        let long = "x".repeat(10_000);
        match parse_reply(&long, 1) {
            Reply::Garbage(e) => assert!(e.message.len() < 400, "{}", e.message.len()),
            other => panic!("{other:?}"),
        }
        match parse_reply(r#"{"id":1}"#, 1) {
            Reply::Answer(1, Err(e)) => assert_eq!(e.kind, ErrorKind::Unknown),
            other => panic!("{other:?}"),
        }
    }
}
