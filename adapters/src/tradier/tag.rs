//! client_order_id ↔ Tradier `tag`. Tradier has no client order id; `tag`
//! is the only label that round-trips, and it allows only `[A-Za-z0-9-]`,
//! at most 255 characters (an invalid tag is refused, never truncated, §4).
//!
//! The encoding is deterministic and injective, so reconciliation by tag
//! can never match another intent's order:
//! - an id that is already a valid tag and does not start with `x-` is sent
//!   **verbatim** (UUIDs, `intent-1`, and the simulator's `sim-…` triggers);
//! - otherwise it is **escaped**: `x-` + the id with every byte other than
//!   `[A-Za-z0-9]` written as `-` + two lowercase hex digits (`a_b` →
//!   `x-a-5fb`). Escaped tags all start with `x-` and verbatim ones never
//!   do, and the escape is uniquely decodable, so the two sets are disjoint;
//! - when the escaped form is longer than 255, the tag is `h-` + the
//!   SHA-256 of the id in hex (66 characters; collision-resistant). Such a
//!   tag cannot be decoded; the adapter remembers which id it stood for.

use crate::error::{AdapterError, Result};

const MAX_TAG: usize = 255;
const ESCAPED: &str = "x-";
const HASHED: &str = "h-";

fn is_tag_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// The tag sent for `client_order_id`.
pub fn encode(client_order_id: &str) -> Result<String> {
    if client_order_id.is_empty() {
        return Err(AdapterError::invalid_request(
            "client_order_id must not be empty: it is how a lost submit is reconciled",
        ));
    }
    let reserved = client_order_id.starts_with(ESCAPED) || client_order_id.starts_with(HASHED);
    if !reserved && client_order_id.len() <= MAX_TAG && client_order_id.bytes().all(is_tag_char) {
        return Ok(client_order_id.to_string());
    }
    let mut out = String::from(ESCAPED);
    for b in client_order_id.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("-{b:02x}"));
        }
    }
    if out.len() <= MAX_TAG {
        return Ok(out);
    }
    Ok(format!(
        "{HASHED}{}",
        hex(&sha256(client_order_id.as_bytes()))
    ))
}

/// The client_order_id a tag stands for, when the tag itself says so
/// (verbatim or escaped); None for hashed tags and foreign escapes.
pub fn decode(tag: &str) -> Option<String> {
    if tag.starts_with(HASHED) {
        return None;
    }
    let Some(escaped) = tag.strip_prefix(ESCAPED) else {
        return Some(tag.to_string());
    };
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'-' {
            let pair = escaped.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(pair, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (FIPS 180-4). Written here because the adapters crate has no
/// hashing dependency; only tags longer than 255 escaped characters use it.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (slot, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *slot = slot.wrapping_add(v);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, v) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&v.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(tag: &str) -> bool {
        !tag.is_empty() && tag.len() <= MAX_TAG && tag.bytes().all(is_tag_char)
    }

    #[test]
    fn valid_ids_go_verbatim_and_others_are_escaped_reversibly() {
        for id in [
            "intent-1",
            "sim-partial-7",
            "0b9e6a2c-1d2f-4e8a-9b1c-3d4e5f607182",
        ] {
            assert_eq!(encode(id).unwrap(), id);
            assert_eq!(decode(id).as_deref(), Some(id));
        }
        for id in ["a_b", "order:1 2/3", "x-5f", "h-abc", "é", "x-"] {
            let tag = encode(id).unwrap();
            assert!(valid(&tag), "{tag}");
            assert!(tag.starts_with("x-"), "{tag}");
            assert_eq!(decode(&tag).as_deref(), Some(id));
        }
        assert_eq!(encode("a_b").unwrap(), "x-a-5fb");
        // The verbatim id that looks like an escape is itself escaped: no collision.
        assert_ne!(encode("x-a-5fb").unwrap(), encode("a_b").unwrap());
        assert!(encode("").is_err());
    }

    #[test]
    fn long_ids_hash_with_sha256() {
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let long = "_".repeat(200);
        let tag = encode(&long).unwrap();
        assert!(
            tag.starts_with("h-") && tag.len() == 66 && valid(&tag),
            "{tag}"
        );
        assert_ne!(tag, encode(&"_".repeat(201)).unwrap());
        assert_eq!(decode(&tag), None);
        let long_valid = "a".repeat(300);
        assert!(encode(&long_valid).unwrap().starts_with("h-"));
    }
}
