//! The credentials a served model accepts, drawn from the seed and printed
//! once by `raxx-sim serve`. Their values never appear in Debug output,
//! logs, traces or error messages.

use std::collections::BTreeMap;
use std::fmt;

use rand::RngCore;
use serde::Serialize;
use subtle::ConstantTimeEq;

use mbt::rng::SimRng;

use crate::vendor::{CredentialField, ALNUM};

/// The shape of the token that guards a model's `/_sim/` control surface.
/// It is drawn from the seed like the vendor's credentials (so a run is
/// reproducible), under its own label, and is a secret like them.
pub const CONTROL_TOKEN: CredentialField = CredentialField {
    name: "control_token",
    prefix: "simctl_",
    len: 47,
    alphabet: ALNUM,
};

/// Whether `presented` is `expected`, in time that does not depend on
/// where they differ (only on their lengths), so timing reveals no prefix.
pub fn same_secret(expected: &str, presented: &str) -> bool {
    expected.as_bytes().ct_eq(presented.as_bytes()).into()
}

#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Credentials {
    fields: BTreeMap<String, String>,
}

/// A value of `field`'s shape drawn from `rng`.
pub fn draw(field: &CredentialField, rng: &mut SimRng) -> String {
    if field.alphabet == crate::vendor::UUID {
        return format!("{}{}", field.prefix, crate::ids::uuid(rng));
    }
    let mut s = String::from(field.prefix);
    while s.len() < field.len {
        let i = (rng.next_u32() as usize) % field.alphabet.len().max(1);
        s.push(field.alphabet.get(i).copied().map_or('0', char::from));
    }
    s
}

impl Credentials {
    /// The credential object a vendor issues, in its shapes.
    pub fn generate(schema: &[CredentialField], rng: &mut SimRng) -> Self {
        let fields = schema
            .iter()
            .map(|f| (f.name.to_string(), draw(f, rng)))
            .collect();
        Self { fields }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// Whether `presented` is this credential's `name` (see [`same_secret`]).
    pub fn matches(&self, name: &str, presented: &str) -> bool {
        self.fields
            .get(name)
            .is_some_and(|expected| same_secret(expected, presented))
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
        let schema = crate::alpaca::VENDOR.credentials;
        let a = Credentials::generate(schema, &mut rng_for(1, "c"));
        let key = a.get("key_id").unwrap().to_string();
        assert!(key.starts_with("PK") && key.len() == 20);
        assert_eq!(a.get("secret_key").unwrap().len(), 40);
        assert_eq!(a, Credentials::generate(schema, &mut rng_for(1, "c")));
        assert!(a.matches("key_id", &key));
        assert!(!a.matches("key_id", "PK"));
        let dbg = format!("{a:?}");
        assert!(!dbg.contains(&key) && dbg.contains("redacted"));
        let t = Credentials::generate(crate::tradier::VENDOR.credentials, &mut rng_for(1, "c"));
        assert_eq!(t.get("access_token").unwrap().len(), 28);
    }
}
