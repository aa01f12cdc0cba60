//! The token lifecycle of an OAuth broker, on the simulated clock: access
//! tokens that expire after the profile's lifetime, refresh tokens that
//! renew them (and may expire too), an authorization code that grants a
//! fresh pair once (the user authorized the app again), all drawn from the
//! seed. Brokers with API keys or personal tokens (no lifetimes in their
//! profile) have none.

use std::collections::BTreeMap;

use rand::RngCore;

use mbt::rng::SimRng;
use mbt::Timestamp;

use crate::profile::TokenLifetimes;
use crate::vendor::ALNUM;

/// Why a presented token does not authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Never issued (or not this broker's).
    Unknown,
    /// Issued, and expired: a refresh helps (for an access token).
    Expired,
}

/// What a successful refresh grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires (None: it does not).
    pub expires_in_s: Option<u64>,
    pub issued_at: Timestamp,
}

#[derive(Debug, Clone, Copy)]
struct Issued {
    at: Timestamp,
    expires: Option<Timestamp>,
    /// Killed before its time (a fault, or a rotated refresh token).
    revoked: bool,
}

impl Issued {
    fn check(&self, now: Timestamp) -> Result<(), TokenProblem> {
        if self.revoked || self.expires.is_some_and(|e| now >= e) {
            Err(TokenProblem::Expired)
        } else {
            Ok(())
        }
    }
}

/// An authorization code: good for one exchange, until it expires.
#[derive(Debug, Clone, Copy)]
struct Code {
    expires: Option<Timestamp>,
    used: bool,
}

pub struct Tokens {
    lifetimes: TokenLifetimes,
    access: BTreeMap<String, Issued>,
    refresh: BTreeMap<String, Issued>,
    codes: BTreeMap<String, Code>,
    rng: SimRng,
    /// Refreshes granted so far (ground truth for the token cases).
    refreshes: u64,
}

fn later(t: Timestamp, ms: Option<u64>) -> Option<Timestamp> {
    ms.map(|ms| t.plus_millis(i64::try_from(ms).unwrap_or(i64::MAX)))
}

impl Tokens {
    /// The lifecycle of a broker whose first credentials are `access` and
    /// `refresh`, issued at `now`.
    pub fn new(
        lifetimes: TokenLifetimes,
        rng: SimRng,
        access: &str,
        refresh: &str,
        now: Timestamp,
    ) -> Self {
        let mut t = Self {
            lifetimes,
            access: BTreeMap::new(),
            refresh: BTreeMap::new(),
            codes: BTreeMap::new(),
            rng,
            refreshes: 0,
        };
        t.record(access.to_string(), refresh.to_string(), now);
        t
    }

    fn record(&mut self, access: String, refresh: String, now: Timestamp) {
        self.access.insert(
            access,
            Issued {
                at: now,
                expires: later(now, self.lifetimes.access_ms),
                revoked: false,
            },
        );
        self.refresh.entry(refresh).or_insert(Issued {
            at: now,
            expires: later(now, self.lifetimes.refresh_ms),
            revoked: false,
        });
    }

    fn draw(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| {
                let i = (self.rng.next_u32() as usize) % ALNUM.len();
                ALNUM.get(i).copied().map_or('0', char::from)
            })
            .collect()
    }

    /// Whether `token` is a live access token now.
    pub fn check(&self, token: &str, now: Timestamp) -> Result<(), TokenProblem> {
        self.access
            .get(token)
            .ok_or(TokenProblem::Unknown)?
            .check(now)
    }

    /// A new access token for a live refresh token (kept unless the profile
    /// rotates refresh tokens).
    pub fn refresh(&mut self, refresh_token: &str, now: Timestamp) -> Result<Grant, TokenProblem> {
        self.refresh
            .get(refresh_token)
            .ok_or(TokenProblem::Unknown)?
            .check(now)?;
        let access = self.draw(28);
        let refresh = if self.lifetimes.rotate_refresh {
            if let Some(old) = self.refresh.get_mut(refresh_token) {
                old.revoked = true;
            }
            self.draw(32)
        } else {
            refresh_token.to_string()
        };
        self.record(access.clone(), refresh.clone(), now);
        self.refreshes += 1;
        Ok(Grant {
            access_token: access,
            refresh_token: refresh,
            expires_in_s: self.lifetimes.access_ms.map(|ms| ms / 1000),
            issued_at: now,
        })
    }

    /// Issues an authorization code at `now`, where the profile gives codes
    /// a lifetime (a code the profile has no lifetime for is never issued).
    pub fn issue_code(&mut self, code: &str, now: Timestamp) {
        if let Some(ms) = self.lifetimes.code_ms {
            let code_life = Code {
                expires: later(now, Some(ms)),
                used: false,
            };
            self.codes.insert(code.to_string(), code_life);
        }
    }

    /// A fresh access and refresh token for an authorization code, once:
    /// the refresh token's lifetime starts over (a new authorization).
    pub fn exchange_code(&mut self, code: &str, now: Timestamp) -> Result<Grant, TokenProblem> {
        let c = self.codes.get_mut(code).ok_or(TokenProblem::Unknown)?;
        if c.used || c.expires.is_some_and(|e| now >= e) {
            return Err(TokenProblem::Expired);
        }
        c.used = true;
        let access = self.draw(28);
        let refresh = self.draw(32);
        self.record(access.clone(), refresh.clone(), now);
        Ok(Grant {
            access_token: access,
            refresh_token: refresh,
            expires_in_s: self.lifetimes.access_ms.map(|ms| ms / 1000),
            issued_at: now,
        })
    }

    /// A fault: every access token issued up to `until` expires now; says
    /// how many were still alive.
    pub fn expire_access(&mut self, until: Timestamp) -> usize {
        revoke(&mut self.access, until)
    }

    /// A fault: every token issued up to `until` is dead, refresh tokens
    /// too; says how many were still alive.
    pub fn expire_all(&mut self, until: Timestamp) -> usize {
        revoke(&mut self.access, until) + revoke(&mut self.refresh, until)
    }

    /// Every token issued, live or not.
    pub fn issued(&self) -> impl Iterator<Item = &str> {
        self.access
            .keys()
            .chain(self.refresh.keys())
            .map(String::as_str)
    }

    /// Whether no refresh token works any more.
    pub fn all_refresh_dead(&self, now: Timestamp) -> bool {
        self.refresh.values().all(|t| t.check(now).is_err())
    }

    pub fn refreshes(&self) -> u64 {
        self.refreshes
    }
}

fn revoke(tokens: &mut BTreeMap<String, Issued>, until: Timestamp) -> usize {
    let mut n = 0;
    for t in tokens.values_mut().filter(|t| t.at <= until && !t.revoked) {
        t.revoked = true;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbt::rng::rng_for;

    fn tokens(rotate: bool) -> Tokens {
        let lifetimes = TokenLifetimes {
            access_ms: Some(900_000),
            refresh_ms: Some(7 * 86_400_000),
            rotate_refresh: rotate,
            code_ms: Some(30_000),
        };
        Tokens::new(
            lifetimes,
            rng_for(1, "t"),
            "A0",
            "R0",
            Timestamp::from_secs(0),
        )
    }

    #[test]
    fn access_tokens_expire_on_time_and_refresh_renews_them() {
        let mut t = tokens(false);
        let start = Timestamp::from_secs(0);
        assert_eq!(t.check("A0", start.plus_millis(899_999)), Ok(()));
        assert_eq!(
            t.check("A0", start.plus_millis(900_000)),
            Err(TokenProblem::Expired)
        );
        assert_eq!(t.check("nope", start), Err(TokenProblem::Unknown));
        let g = t.refresh("R0", start.plus_millis(900_000)).unwrap();
        assert_eq!(
            (g.refresh_token.as_str(), g.expires_in_s),
            ("R0", Some(900))
        );
        assert_eq!(t.check(&g.access_token, start.plus_millis(900_001)), Ok(()));
        assert_eq!(t.refreshes(), 1);
        // A refresh token dies after its own lifetime: only re-authorization helps.
        let week = start.plus_millis(7 * 86_400_000);
        assert_eq!(t.refresh("R0", week), Err(TokenProblem::Expired));
    }

    #[test]
    fn rotation_kills_the_old_refresh_token_and_faults_expire_what_was_issued() {
        let mut t = tokens(true);
        let g = t.refresh("R0", Timestamp::from_secs(10)).unwrap();
        assert_ne!(g.refresh_token, "R0");
        assert_eq!(
            t.refresh("R0", Timestamp::from_secs(11)),
            Err(TokenProblem::Expired)
        );
        t.expire_access(Timestamp::from_secs(5));
        assert_eq!(
            t.check("A0", Timestamp::from_secs(12)),
            Err(TokenProblem::Expired)
        );
        assert_eq!(t.check(&g.access_token, Timestamp::from_secs(12)), Ok(()));
        t.expire_all(Timestamp::from_secs(20));
        assert_eq!(
            t.refresh(&g.refresh_token, Timestamp::from_secs(21)),
            Err(TokenProblem::Expired)
        );
    }

    #[test]
    fn a_code_is_exchanged_once_before_it_expires_for_a_fresh_week() {
        let mut t = tokens(false);
        let start = Timestamp::from_secs(0);
        t.issue_code("C0", start);
        t.issue_code("C1", start);
        assert_eq!(t.exchange_code("nope", start), Err(TokenProblem::Unknown));
        assert_eq!(
            t.exchange_code("C1", start.plus_millis(30_000)),
            Err(TokenProblem::Expired)
        );
        let week = start.plus_millis(7 * 86_400_000);
        assert_eq!(t.refresh("R0", week), Err(TokenProblem::Expired));
        assert!(t.all_refresh_dead(week));
        let g = t.exchange_code("C0", start.plus_millis(29_999)).unwrap();
        assert_eq!(g.expires_in_s, Some(900));
        assert_eq!(
            t.exchange_code("C0", start.plus_millis(29_999)),
            Err(TokenProblem::Expired),
            "a code is good for one exchange"
        );
        // The new refresh token's week starts at the exchange.
        assert!(t.refresh(&g.refresh_token, week).is_ok());
        assert_eq!(t.refreshes(), 1);
    }
}
