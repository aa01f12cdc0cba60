//! The credentials a served model accepts, drawn from the seed and printed
//! once by `raxx-sim serve`. Their values never appear in Debug output,
//! logs, traces or error messages.

use std::collections::BTreeMap;
use std::fmt;

use rand::RngCore;
use serde::Serialize;

use mbt::rng::SimRng;

#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Credentials {
    fields: BTreeMap<String, String>,
}

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn token(rng: &mut SimRng, prefix: &str, len: usize, alphabet: &[u8]) -> String {
    let mut s = String::from(prefix);
    while s.len() < len {
        s.push(alphabet[(rng.next_u32() as usize) % alphabet.len()] as char);
    }
    s
}

impl Credentials {
    /// The credential object of a broker, in the shape its vendor issues.
    pub fn generate(slug: &str, rng: &mut SimRng) -> Self {
        let mut fields = BTreeMap::new();
        match slug {
            "alpaca" => {
                // Paper key ids start with PK and are 20 characters; secrets are 40.
                fields.insert("key_id".into(), token(rng, "PK", 20, UPPER_ALNUM));
                fields.insert("secret_key".into(), token(rng, "", 40, ALNUM));
            }
            _ => {
                fields.insert("access_token".into(), token(rng, "", 28, ALNUM));
            }
        }
        Self { fields }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// Whether `presented` is this credential's `name`. Compares every byte
    /// so that timing does not reveal a prefix.
    pub fn matches(&self, name: &str, presented: &str) -> bool {
        let Some(expected) = self.fields.get(name) else {
            return false;
        };
        let (a, b) = (expected.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// The JSON object `raxx-sim serve` prints and the process bridge passes on.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.fields).unwrap_or_default()
    }

    /// Every secret value, so that traces and logs can be scrubbed of them.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.fields.values().map(String::as_str)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for k in self.fields.keys() {
            m.entry(k, &"<redacted>");
        }
        m.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbt::rng::rng_for;

    #[test]
    fn shapes_seeding_and_redaction() {
        let a = Credentials::generate("alpaca", &mut rng_for(1, "c"));
        let key = a.get("key_id").unwrap().to_string();
        assert!(key.starts_with("PK") && key.len() == 20);
        assert_eq!(a.get("secret_key").unwrap().len(), 40);
        assert_eq!(a, Credentials::generate("alpaca", &mut rng_for(1, "c")));
        assert!(a.matches("key_id", &key));
        assert!(!a.matches("key_id", "PK"));
        let dbg = format!("{a:?}");
        assert!(!dbg.contains(&key) && dbg.contains("redacted"));
        let t = Credentials::generate("tradier", &mut rng_for(1, "c"));
        assert_eq!(t.get("access_token").unwrap().len(), 28);
    }
}
