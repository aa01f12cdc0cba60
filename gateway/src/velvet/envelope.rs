//! Envelope encryption of one token: a fresh data key per seal encrypts the
//! token, and the master key wraps the data key. Both are XChaCha20-Poly1305
//! (192-bit random nonces, so drawing them at random is safe), and both are
//! bound to the row they belong to by associated data: a ciphertext copied
//! into another row (say a Tier C token pasted into a Tier A row) does not
//! open there.
//!
//! The sealed form is one blob, the row's `token_ciphertext`:
//! `version (1) ‖ wrap nonce (24) ‖ wrapped data key (32 + 16) ‖ data nonce (24) ‖ token ciphertext (n + 16)`.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::{CryptoRng, RngCore};

const VERSION: u8 = 1;
const NONCE: usize = 24;
const KEY: usize = 32;
const TAG: usize = 16;
const WRAPPED: usize = KEY + TAG;
const HEADER: usize = 1 + NONCE + WRAPPED + NONCE;

/// The key that wraps every row's data key. It lives outside the store (a
/// KMS or the process's secret configuration), never in a row or a trace.
#[derive(Clone)]
pub struct MasterKey([u8; KEY]);

impl MasterKey {
    pub fn from_bytes(bytes: [u8; KEY]) -> MasterKey {
        MasterKey(bytes)
    }

    /// A key drawn from the caller's generator (a simulation's seeded one).
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> MasterKey {
        let mut bytes = [0; KEY];
        rng.fill_bytes(&mut bytes);
        MasterKey(bytes)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(redacted)")
    }
}

/// A sealed blob did not open: wrong master key, another row's blob, or a
/// changed byte. Deliberately says no more than that.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the token ciphertext does not open under this master key for this row")]
pub struct Unsealable;

/// Seals `plaintext` for the row that `binding` names.
pub fn seal(
    master: &MasterKey,
    binding: &[u8],
    plaintext: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> Vec<u8> {
    let mut data_key = [0; KEY];
    rng.fill_bytes(&mut data_key);
    let mut wrap_nonce = [0; NONCE];
    rng.fill_bytes(&mut wrap_nonce);
    let mut data_nonce = [0; NONCE];
    rng.fill_bytes(&mut data_nonce);

    let wrapped = encrypt(&master.0, &wrap_nonce, binding, &data_key);
    let body = encrypt(&data_key, &data_nonce, binding, plaintext);
    let mut blob = Vec::with_capacity(HEADER + body.len());
    blob.push(VERSION);
    blob.extend_from_slice(&wrap_nonce);
    blob.extend_from_slice(&wrapped);
    blob.extend_from_slice(&data_nonce);
    blob.extend_from_slice(&body);
    blob
}

/// Opens a blob sealed by [`seal`] for the same row.
pub fn open(master: &MasterKey, binding: &[u8], blob: &[u8]) -> Result<Vec<u8>, Unsealable> {
    if blob.len() < HEADER + TAG || blob[0] != VERSION {
        return Err(Unsealable);
    }
    let wrap_nonce = &blob[1..1 + NONCE];
    let wrapped = &blob[1 + NONCE..1 + NONCE + WRAPPED];
    let data_nonce = &blob[1 + NONCE + WRAPPED..HEADER];
    let body = &blob[HEADER..];
    let data_key = decrypt(&master.0, wrap_nonce, binding, wrapped)?;
    let data_key: [u8; KEY] = data_key.try_into().map_err(|_| Unsealable)?;
    decrypt(&data_key, data_nonce, binding, body)
}

fn encrypt(key: &[u8; KEY], nonce: &[u8], aad: &[u8], msg: &[u8]) -> Vec<u8> {
    XChaCha20Poly1305::new(Key::from_slice(key))
        .encrypt(XNonce::from_slice(nonce), Payload { msg, aad })
        // Encryption fails only for messages beyond 256 GiB.
        .expect("a token fits XChaCha20-Poly1305's message limit")
}

fn decrypt(key: &[u8; KEY], nonce: &[u8], aad: &[u8], msg: &[u8]) -> Result<Vec<u8>, Unsealable> {
    XChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt(XNonce::from_slice(nonce), Payload { msg, aad })
        .map_err(|_| Unsealable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(7)
    }

    #[test]
    fn a_sealed_token_opens_for_its_row_and_hides_its_plaintext() {
        let mut rng = rng();
        let master = MasterKey::generate(&mut rng);
        let token = b"{\"access_token\":\"tok-abc123\"}";
        let blob = seal(&master, b"row-1", token, &mut rng);
        assert!(!blob.windows(6).any(|w| w == b"abc123"));
        assert_eq!(open(&master, b"row-1", &blob).unwrap(), token);
    }

    #[test]
    fn another_row_another_master_key_or_a_changed_byte_does_not_open() {
        let mut rng = rng();
        let master = MasterKey::generate(&mut rng);
        let blob = seal(&master, b"row-1", b"secret", &mut rng);
        assert_eq!(open(&master, b"row-2", &blob), Err(Unsealable));
        let other = MasterKey::generate(&mut rng);
        assert_eq!(open(&other, b"row-1", &blob), Err(Unsealable));
        for i in 0..blob.len() {
            let mut changed = blob.clone();
            changed[i] ^= 0x01;
            assert_eq!(
                open(&master, b"row-1", &changed),
                Err(Unsealable),
                "byte {i}"
            );
        }
        assert_eq!(open(&master, b"row-1", &blob[..HEADER]), Err(Unsealable));
    }

    #[test]
    fn each_seal_draws_a_new_data_key() {
        let mut rng = rng();
        let master = MasterKey::generate(&mut rng);
        let a = seal(&master, b"row-1", b"same", &mut rng);
        let b = seal(&master, b"row-1", b"same", &mut rng);
        assert_ne!(a[1 + NONCE..HEADER], b[1 + NONCE..HEADER]);
    }

    #[test]
    fn the_master_key_never_prints() {
        let master = MasterKey::from_bytes([0x41; KEY]);
        assert_eq!(format!("{master:?}"), "MasterKey(redacted)");
    }
}
