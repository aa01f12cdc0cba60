//! The broker registry: one [`Vendor`] descriptor per modelled broker, in
//! one table. Everything else finds a broker here by its slug — its
//! profile, wire face, credential shapes and base-URL form — so an unknown
//! slug is one error listing the known ones, never a silent fallback.

use std::fmt;

use axum::Router;

use crate::face::Shared;
use crate::profile::{BrokerProfile, ProfileError};
use crate::{alpaca, plaid, schwab, snaptrade, tastytrade, tradier};

/// Every modelled broker, in the order lists show them.
pub const VENDORS: &[&Vendor] = &[
    &alpaca::VENDOR,
    &tradier::VENDOR,
    &tastytrade::VENDOR,
    &schwab::VENDOR,
    &snaptrade::VENDOR,
    &plaid::VENDOR,
];

/// One broker's model, described once.
pub struct Vendor {
    pub slug: &'static str,
    /// The profile as data (`broker-models/profiles/<slug>.toml`, embedded).
    pub profile: &'static str,
    /// The vendor's routes behind the fault layer, beside the control surface.
    pub face: fn(&Shared) -> Router,
    /// The credential object the model issues, in the vendor's shapes.
    pub credentials: &'static [CredentialField],
    /// What follows `http://host:port` in the base URL as the vendor
    /// documents its own ("" for Alpaca, whose SDKs append `/v2`; "/v1" for Tradier).
    pub base_path: &'static str,
    /// The vendor refuses a second order under a client order id it already
    /// holds (Alpaca's 422 `client_order_id must be unique`, reference §4),
    /// so a client's resend of the same intent cannot become a second order.
    pub unique_client_ids: bool,
    /// The vendor has an endpoint that revokes a user's grant (Plaid's
    /// `/item/remove`, SnapTrade's `DELETE /connection/{id}`), so a client's
    /// revocation reaches the vendor.
    pub revocable: bool,
}

/// One field of a vendor's credential object and the shape of its values.
pub struct CredentialField {
    pub name: &'static str,
    /// A fixed start (Alpaca paper key ids start with `PK`).
    pub prefix: &'static str,
    /// Total length, prefix included.
    pub len: usize,
    pub alphabet: &'static [u8],
}

pub const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const LOWER_HEX: &[u8] = b"0123456789abcdef";
/// Not an alphabet but a shape: the prefix, then a version-4 UUID (Plaid's
/// `access-sandbox-<uuid>` tokens); `len` is then the prefix's plus 36.
pub const UUID: &[u8] = b"<uuid>";

impl Vendor {
    pub fn profile(&self) -> Result<BrokerProfile, ProfileError> {
        BrokerProfile::from_toml(self.slug, self.profile)
    }

    /// The base URL in the vendor's documented form; `authority` is
    /// `host:port` (a socket address, or a simulated host's name).
    pub fn base_url(&self, authority: impl fmt::Display) -> String {
        format!("http://{authority}{}", self.base_path)
    }
}

impl fmt::Debug for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vendor").field("slug", &self.slug).finish()
    }
}

/// A slug no descriptor has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no broker {slug:?}; the modelled brokers are {}", known())]
pub struct UnknownBroker {
    pub slug: String,
}

fn known() -> String {
    slugs().join(", ")
}

/// The modelled brokers' slugs.
pub fn slugs() -> Vec<&'static str> {
    VENDORS.iter().map(|v| v.slug).collect()
}

pub fn vendor(slug: &str) -> Result<&'static Vendor, UnknownBroker> {
    VENDORS
        .iter()
        .copied()
        .find(|v| v.slug == slug)
        .ok_or_else(|| UnknownBroker {
            slug: slug.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_descriptor_is_whole_and_unknown_slugs_name_the_known_ones() {
        for v in VENDORS {
            let profile = v.profile().expect("the embedded profile parses");
            assert_eq!(profile.slug, v.slug, "profile slug of {}", v.slug);
            assert!(
                !v.credentials.is_empty(),
                "{} issues no credentials",
                v.slug
            );
            assert!(v.base_url("h:1").starts_with("http://h:1"));
        }
        let e = vendor("etrade").unwrap_err();
        assert_eq!(
            e.to_string(),
            "no broker \"etrade\"; the modelled brokers are alpaca, tradier, tastytrade, schwab, snaptrade, plaid"
        );
    }
}
