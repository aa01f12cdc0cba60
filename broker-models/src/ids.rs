//! Vendor-format ids drawn from the seed: UUIDs for Alpaca, integers for
//! Tradier, and so on. Never from OS entropy, so a seed replays the same ids.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use mbt::rng::SimRng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdFormat {
    /// A version-4-shaped UUID with dashes, from seeded bytes.
    Uuid,
    /// A positive integer sequence starting at `start`.
    Integer { start: u64 },
}

#[derive(Debug, Clone)]
pub struct IdGen {
    format: IdFormat,
    rng: SimRng,
    next: u64,
}

impl IdGen {
    pub fn new(format: IdFormat, rng: SimRng) -> Self {
        let next = match format {
            IdFormat::Integer { start } => start,
            IdFormat::Uuid => 0,
        };
        Self { format, rng, next }
    }

    pub fn next_id(&mut self) -> String {
        match self.format {
            IdFormat::Uuid => uuid(&mut self.rng),
            IdFormat::Integer { .. } => {
                let id = self.next;
                self.next += 1;
                id.to_string()
            }
        }
    }
}

/// A UUID string from the seeded generator, with the v4 and variant bits set
/// so that strict parsers (pydantic's UUID) accept it.
pub fn uuid(rng: &mut SimRng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

/// A UUID in the one form ids are stored in: hyphenated, lower case. The
/// vendors read ids as Go's and Python's uuid parsers do, hyphenated or as
/// 32 hex digits, braced or as a URN, in either case; so does
/// `Uuid::parse_str`. None for anything else.
pub fn canonical_uuid(text: &str) -> Option<String> {
    uuid::Uuid::parse_str(text)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// A UUID that is always the same for the same labels (asset, account,
/// session ids): derived, not drawn, so it never shifts a random stream.
pub fn stable_uuid(parts: &[&str]) -> String {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest(parts)[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A string of `len` letters and digits that is always the same for the
/// same labels (ids of things a vendor names with opaque tokens: Plaid's
/// items, accounts, securities and transactions).
pub fn stable_alnum(parts: &[&str], len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut round = 0u64;
    while out.len() < len {
        let counter = round.to_string();
        let mut labels = parts.to_vec();
        labels.push(&counter);
        for b in digest(&labels) {
            if out.len() < len {
                // 62 letters: the remainder is always an index into them.
                let i = usize::from(b) % ALPHABET.len();
                out.push(ALPHABET.get(i).copied().map_or('0', char::from));
            }
        }
        round += 1;
    }
    out
}

/// A positive integer that is always the same for the same labels (Tradier's position ids).
pub fn stable_int(parts: &[&str]) -> u64 {
    let d = digest(parts);
    u64::from(u32::from_be_bytes([d[0], d[1], d[2], d[3] & 0x7f])) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbt::rng::rng_for;

    #[test]
    fn ids_in_every_form_go_to_one_spelling() {
        let id = "61e69015-8549-4bfd-b9c3-01e75843f47d";
        for form in [
            id,
            "61E69015-8549-4BFD-B9C3-01E75843F47D",
            "61e6901585494bfdb9c301e75843f47d",
            "{61e69015-8549-4bfd-b9c3-01e75843f47d}",
            "urn:uuid:61e69015-8549-4bfd-b9c3-01e75843f47d",
        ] {
            assert_eq!(canonical_uuid(form).as_deref(), Some(id), "{form}");
        }
        assert_eq!(canonical_uuid("61e69015"), None);
    }

    #[test]
    fn uuids_are_v4_shaped_and_seeded() {
        let mut a = IdGen::new(IdFormat::Uuid, rng_for(1, "ids"));
        let mut b = IdGen::new(IdFormat::Uuid, rng_for(1, "ids"));
        let x = a.next_id();
        assert_eq!(x, b.next_id());
        let parsed = uuid::Uuid::parse_str(&x).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_ne!(x, a.next_id());
    }

    #[test]
    fn stable_alnum_has_its_length_and_depends_on_every_label() {
        let a = stable_alnum(&["plaid", "1", "item"], 37);
        assert_eq!(a.len(), 37);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(a, stable_alnum(&["plaid", "1", "item"], 37));
        assert_ne!(a, stable_alnum(&["plaid", "2", "item"], 37));
        assert_eq!(stable_alnum(&["x"], 80).len(), 80);
    }

    #[test]
    fn integers_count_up() {
        let mut g = IdGen::new(IdFormat::Integer { start: 228175 }, rng_for(1, "ids"));
        assert_eq!(g.next_id(), "228175");
        assert_eq!(g.next_id(), "228176");
    }
}
