//! Access tokens, written once for every adapter that holds them: a fixed
//! token (an API's personal token) or an OAuth grant that is renewed with
//! its refresh token when the broker says the access token has expired.
//!
//! The renewal is shared: however many calls meet the expiry at once, the
//! broker sees one refresh, and every call retries once with the new token.
//! A refresh the broker refuses means the user must authorize again: from
//! then on every call answers `reauth_required` without sending anything.

mod basic_refresh;

use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;
use http::Method;
use serde::Deserialize;

pub use basic_refresh::{BasicRefresh, Check};

use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{HttpClient, HttpResponse};

/// What a refresh grants: the token endpoint's answer (RFC 6749 §5.1),
/// of which only the tokens are read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Grant {
    pub access_token: String,
    /// A new refresh token, where the broker rotates them.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// The vendor's refresh call.
#[async_trait]
pub trait Renew: Send + Sync {
    async fn renew(&self, refresh_token: &str) -> Result<Grant>;
}

struct State {
    access: String,
    refresh: Option<String>,
    /// The refresh token was refused: only a new authorization helps.
    dead: bool,
}

pub struct TokenSource {
    state: Mutex<State>,
    /// One renewal at a time; the others wait and use its result.
    renewing: tokio::sync::Mutex<()>,
    renew: Option<Box<dyn Renew>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("refreshes", &self.renew.is_some())
            .finish_non_exhaustive()
    }
}

fn reauth(why: &str) -> AdapterError {
    AdapterError::new(
        ErrorKind::ReauthRequired,
        format!("the broker no longer accepts this connection's authorization: {why}"),
    )
}

impl TokenSource {
    /// A token that is used as it is (an expired one stays expired).
    pub fn fixed(access: impl Into<String>) -> Self {
        Self {
            state: Mutex::new(State {
                access: access.into(),
                refresh: None,
                dead: false,
            }),
            renewing: tokio::sync::Mutex::new(()),
            renew: None,
        }
    }

    /// An OAuth grant renewed through `renew`.
    pub fn refreshing(
        access: impl Into<String>,
        refresh: impl Into<String>,
        renew: impl Renew + 'static,
    ) -> Self {
        Self {
            state: Mutex::new(State {
                access: access.into(),
                refresh: Some(refresh.into()),
                dead: false,
            }),
            renewing: tokio::sync::Mutex::new(()),
            renew: Some(Box::new(renew)),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn can_refresh(&self) -> bool {
        self.renew.is_some()
    }

    /// The access token to send now.
    pub fn access(&self) -> Result<String> {
        let s = self.state();
        if s.dead {
            return Err(reauth("its refresh token was refused earlier"));
        }
        Ok(s.access.clone())
    }

    /// A token to use instead of `used`, which the broker called expired:
    /// renewed once for every caller that saw `used` expire.
    pub async fn renewed(&self, used: &str) -> Result<String> {
        let Some(renew) = &self.renew else {
            return Err(AdapterError::new(
                ErrorKind::AuthExpired,
                "the access token expired and there is no refresh token to renew it",
            ));
        };
        let _one_at_a_time = self.renewing.lock().await;
        let refresh = {
            let s = self.state();
            if s.dead {
                return Err(reauth("its refresh token was refused"));
            }
            if s.access != used {
                // Someone renewed it while this call waited.
                return Ok(s.access.clone());
            }
            s.refresh.clone().unwrap_or_default()
        };
        match renew.renew(&refresh).await {
            Ok(grant) => {
                let mut s = self.state();
                s.access = grant.access_token.clone();
                if let Some(r) = grant.refresh_token {
                    s.refresh = Some(r);
                }
                Ok(grant.access_token)
            }
            // The broker could not be asked: the grant may still be good.
            Err(e) if e.kind.is_transient() => Err(e),
            Err(e) => {
                self.state().dead = true;
                Err(reauth(&e.message))
            }
        }
    }

    /// Runs `call` with the access token; when the broker answers that it
    /// has expired and it can be renewed, renews it and runs `call` once more.
    pub async fn authorized<T, F, Fut>(&self, call: F) -> Result<T>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let token = self.access()?;
        match call(token.clone()).await {
            Err(e) if e.kind == ErrorKind::AuthExpired && self.can_refresh() => {
                let fresh = self.renewed(&token).await?;
                call(fresh).await
            }
            outcome => outcome,
        }
    }
}

/// A request body and its media type.
pub type Body<'a> = Option<(&'static str, &'a str)>;

impl TokenSource {
    /// One exchange authorized with `Authorization: Bearer <token>` (RFC
    /// 6750) and `Accept: application/json`, plus the vendor's `headers`
    /// and an optional `body`; `check` turns the vendor's refusals into
    /// errors. An expired token is renewed once and the exchange sent again.
    pub async fn bearer_exchange(
        &self,
        http: &HttpClient,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
        check: impl Fn(HttpResponse) -> Result<HttpResponse>,
    ) -> Result<HttpResponse> {
        let (method, check) = (&method, &check);
        self.authorized(|token| async move {
            let auth = format!("Bearer {token}");
            let mut all = vec![
                ("Authorization", auth.as_str()),
                ("Accept", "application/json"),
            ];
            all.extend_from_slice(headers);
            let (content_type, bytes) = match body {
                Some((media, b)) => (Some(media), Bytes::from(b.to_string())),
                None => (None, Bytes::new()),
            };
            let req = crate::http::request(method.clone(), url, &all, content_type, bytes)?;
            check(http.send(req).await?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    struct Counting(Arc<AtomicU32>, bool);

    #[async_trait]
    impl Renew for Counting {
        async fn renew(&self, refresh_token: &str) -> Result<Grant> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::task::yield_now().await;
            if self.1 {
                return Err(AdapterError::new(ErrorKind::AuthExpired, "invalid refresh"));
            }
            Ok(Grant {
                access_token: format!("access-{n}"),
                refresh_token: Some(format!("{refresh_token}+")),
            })
        }
    }

    async fn expire_unless_fresh(token: String) -> Result<String> {
        if token == "access-0" {
            Err(AdapterError::new(ErrorKind::AuthExpired, "expired"))
        } else {
            Ok(token)
        }
    }

    #[tokio::test]
    async fn many_callers_meet_the_expiry_and_the_broker_sees_one_refresh() {
        let n = Arc::new(AtomicU32::new(0));
        let source = TokenSource::refreshing("access-0", "r", Counting(n.clone(), false));
        let calls = (0..5).map(|_| source.authorized(expire_unless_fresh));
        let results = futures_util::future::join_all(calls).await;
        assert!(results.iter().all(|r| r.as_deref() == Ok("access-1")));
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_refused_refresh_is_reauth_required_from_then_on() {
        let n = Arc::new(AtomicU32::new(0));
        let source = TokenSource::refreshing("access-0", "r", Counting(n.clone(), true));
        let e = source.authorized(expire_unless_fresh).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::ReauthRequired);
        let again = source.authorized(|t| async { Ok(t) }).await.unwrap_err();
        assert_eq!(again.kind, ErrorKind::ReauthRequired);
        assert_eq!(n.load(Ordering::SeqCst), 1, "a dead grant is not retried");
    }

    #[tokio::test]
    async fn a_fixed_token_is_never_renewed() {
        let source = TokenSource::fixed("access-0");
        let e = source.authorized(expire_unless_fresh).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::AuthExpired);
    }
}
