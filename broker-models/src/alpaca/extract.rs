//! Typed extractors whose every rejection is an Alpaca error body, never
//! axum's plain-text one (alpaca-py reads `code` from any error body, §5.1).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::errors::AlpacaError;

/// One path parameter (an order id, a symbol, an activity type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Seg {
    type Rejection = AlpacaError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AlpacaError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(s)) => Ok(Seg(s)),
            // A segment that does not even decode names nothing Alpaca has.
            Err(_) => Err(AlpacaError::route_not_found()),
        }
    }
}

/// The query string, read leniently the way Alpaca's clients write it
/// (§1.3, §8.13): booleans in any case, `symbols` as a comma list or
/// repeated `symbols[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = AlpacaError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AlpacaError> {
        Ok(Params::parse(parts.uri.query().unwrap_or_default()))
    }
}

impl Params {
    pub fn parse(query: &str) -> Self {
        // Percent-decoding here is lossy, never an error.
        Params(serde_urlencoded::from_str(query).unwrap_or_default())
    }

    fn named<'a, 'k>(&'a self, key: &'k str) -> impl Iterator<Item = &'a str> + use<'a, 'k> {
        self.0
            .iter()
            .filter(move |(k, _)| k == key || k.strip_suffix("[]") == Some(key))
            .map(|(_, v)| v.as_str())
    }

    /// The first value given for `key` (empty values count as absent).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.named(key).find(|v| !v.is_empty())
    }

    /// Every value of a list parameter, comma lists and repeats alike.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.named(key)
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// A boolean, `True`/`false`/… in any case (alpaca-py sends Python's spelling).
    pub fn flag(&self, key: &str) -> Result<Option<bool>, AlpacaError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(AlpacaError::invalid(format!("invalid {key}"))),
        }
    }
}

/// A JSON request body decoded into `T`. Anything that does not decode —
/// broken JSON, a top-level array, a field of the wrong JSON type, a number
/// Alpaca cannot read — is one answer: 400 `40010000` (§5.2; `num.rs`).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AlpacaError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AlpacaError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| AlpacaError::body_too_large())?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|_| AlpacaError::malformed_body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_flags_and_repeats() {
        let p = Params::parse("symbols=SPY,AAPL&symbols[]=MSFT&nested=True&side=&limit=5");
        assert_eq!(p.list("symbols"), ["SPY", "AAPL", "MSFT"]);
        assert_eq!(p.flag("nested"), Ok(Some(true)));
        assert_eq!(p.get("side"), None);
        assert_eq!(p.get("limit"), Some("5"));
        assert!(Params::parse("nested=maybe").flag("nested").is_err());
        assert_eq!(Params::parse("%zz=%").get("%zz"), Some("%"));
    }
}
