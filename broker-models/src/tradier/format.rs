//! Content negotiation (reference §1.3, §8.3): Tradier answers XML unless
//! the request's `Accept` names `application/json`. A client that sends
//! `*/*` (python-requests' default) or nothing gets XML, as from Tradier.
//!
//! Tradier's JSON is a conversion of its XML, so the XML is rendered from
//! the same typed body: each object key an element, an array the element
//! repeated, scalars as text. The JSON text is walked with raw values, so
//! field order and the digits of every number survive. How Tradier's XML
//! writes an empty collection is not recorded (§8.2 gives the JSON's
//! string "null"): the element carries the same text, `<orders>null</orders>`.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// How the client wants its documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    pub fn of(headers: &HeaderMap) -> Self {
        let asks_json = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|range| range.split(';').next())
            .any(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if asks_json {
            Self::Json
        } else {
            Self::Xml
        }
    }

    /// `body` as a document in this format with `status`.
    pub fn document(self, status: StatusCode, body: &impl Serialize) -> Response {
        let rendered = serde_json::to_string(body).and_then(|json| match self {
            Self::Json => Ok((json, "application/json")),
            Self::Xml => to_xml(&json).map(|xml| (xml, "application/xml")),
        });
        match rendered {
            Ok((text, content_type)) => {
                (status, [(header::CONTENT_TYPE, content_type)], text).into_response()
            }
            // Only a body this face built wrongly gets here: say so, in plain text.
            Err(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("raxx-sim could not render a Tradier document: {e}"),
            )
                .into_response(),
        }
    }

    /// 200 with `body`, or the error in this format.
    pub fn answer<T: Serialize>(self, result: Result<T, super::TradierError>) -> Response {
        match result {
            Ok(body) => self.document(StatusCode::OK, &body),
            Err(e) => e.render(self),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Format {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::of(&parts.headers))
    }
}

/// An object's entries in their order, each value still raw JSON.
struct Entries(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(Ordered)
    }
}

/// A one-key JSON document (`{"order":{…}}`) as XML.
fn to_xml(json: &str) -> serde_json::Result<String> {
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    for (name, value) in serde_json::from_str::<Entries>(json)?.0 {
        element(&mut out, &name, &value)?;
    }
    Ok(out)
}

fn element(out: &mut String, name: &str, value: &RawValue) -> serde_json::Result<()> {
    let raw = value.get();
    match raw.trim_start().as_bytes().first() {
        Some(b'{') => {
            out.push_str(&format!("<{name}>"));
            for (child, v) in serde_json::from_str::<Entries>(raw)?.0 {
                element(out, &child, &v)?;
            }
            out.push_str(&format!("</{name}>"));
        }
        // An array is its element repeated.
        Some(b'[') => {
            for item in serde_json::from_str::<Vec<Box<RawValue>>>(raw)? {
                element(out, name, &item)?;
            }
        }
        Some(b'"') => {
            let text: String = serde_json::from_str(raw)?;
            out.push_str(&format!("<{name}>{}</{name}>", escape(&text)));
        }
        Some(b'n') => out.push_str(&format!("<{name}/>")),
        // Numbers and booleans, digits as written.
        _ => out.push_str(&format!("<{name}>{}</{name}>", raw.trim())),
    }
    Ok(())
}

/// Text as XML 1.0 character data: markup escaped, and the control
/// characters XML cannot carry at all (echoed symbols can hold them) replaced.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> Format {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, v.parse().unwrap());
        Format::of(&h)
    }

    #[test]
    fn json_only_when_asked_for() {
        assert_eq!(accept("application/json"), Format::Json);
        assert_eq!(accept("text/html, Application/JSON;q=0.9"), Format::Json);
        assert_eq!(accept("*/*"), Format::Xml);
        assert_eq!(accept("application/xml"), Format::Xml);
        assert_eq!(Format::of(&HeaderMap::new()), Format::Xml);
    }

    #[test]
    fn xml_mirrors_the_json_document() {
        let json = r#"{"orders":{"order":[{"id":1,"price":17798.360000000000000000000000,"leg":[{"id":2},{"id":3}]},{"id":4,"tag":"a<b&c\u0001"}]}}"#;
        assert_eq!(
            to_xml(json).unwrap(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                "<orders><order><id>1</id><price>17798.360000000000000000000000</price>",
                "<leg><id>2</id></leg><leg><id>3</id></leg></order>",
                "<order><id>4</id><tag>a&lt;b&amp;c\u{fffd}</tag></order></orders>"
            )
        );
        assert_eq!(
            to_xml(r#"{"positions":"null"}"#).unwrap(),
            r#"<?xml version="1.0" encoding="UTF-8"?><positions>null</positions>"#
        );
    }
}
