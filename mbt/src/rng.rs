//! Seeded randomness. One world seed; each component draws from its own
//! ChaCha8 stream derived from the seed and a label, so that adding a draw in
//! one component never shifts the numbers another component sees.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// The generator every simulated component uses. ChaCha8 is pinned by name:
/// `rand::StdRng` may change algorithm between releases, this may not.
pub type SimRng = ChaCha8Rng;

/// Derives a component's generator from the world seed and its label.
pub fn rng_for(seed: u64, label: &str) -> SimRng {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(label.as_bytes());
    SimRng::from_seed(h.finalize().into())
}

/// A uniform draw in `[0, n)` without modulo bias worth caring about for n ≤ 2^32.
pub fn below(rng: &mut SimRng, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    // A 32-bit draw times a 64-bit n is below 2^96: exact in 128 bits, and
    // shifted back below n, so it fits in 64.
    let scaled = u128::from(rng.next_u32()).saturating_mul(u128::from(n));
    u64::try_from(scaled >> 32).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_split_streams_and_seeds_repeat() {
        let a1 = rng_for(7, "fills").next_u64();
        let a2 = rng_for(7, "fills").next_u64();
        let b = rng_for(7, "prices").next_u64();
        let c = rng_for(8, "fills").next_u64();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, c);
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = rng_for(1, "t");
        for n in [1u64, 2, 3, 10, 1000] {
            for _ in 0..1000 {
                assert!(below(&mut r, n) < n);
            }
        }
        assert_eq!(below(&mut r, 0), 0);
    }
}
