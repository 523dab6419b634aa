//! Access tokens: one per process, shared by every worker.
//!
//! Zoom has at times invalidated the older token when a new one was issued, so the whole pool
//! holds a single token. It is fetched once, renewed shortly before it expires, and renewed
//! early when Zoom answers 401 code 124 for it. Renewal is single-flight: the mutex around the
//! cached token makes concurrent callers wait for one fetch instead of each asking Zoom.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::wire::{OAuthErrorBody, TokenResponse};

/// Where the client's access comes from.
#[derive(Clone)]
pub enum Credentials {
    /// Server-to-Server OAuth: the client fetches and renews its own tokens.
    ServerToServer {
        /// The Zoom account id.
        account_id: String,
        /// The app's client id.
        client_id: String,
        /// The app's client secret.
        client_secret: SecretString,
    },
    /// A token obtained elsewhere. It cannot be renewed: when Zoom refuses it, the run stops.
    AccessToken(SecretString),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::ServerToServer { account_id, .. } => formatter
                .debug_struct("ServerToServer")
                .field("account_id", account_id)
                .finish_non_exhaustive(),
            Credentials::AccessToken(_) => formatter.write_str("AccessToken([REDACTED])"),
        }
    }
}

impl Credentials {
    /// The key the journal keeps this account's records under: the account id, or for a ready
    /// token (which names no account) the API URL it is used with.
    #[must_use]
    pub fn account_key(&self, api_url: &str) -> String {
        match self {
            Credentials::ServerToServer { account_id, .. } => account_id.clone(),
            Credentials::AccessToken(_) => api_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Reads credentials from `ZOOM_ACCOUNT_ID`, `ZOOM_CLIENT_ID` and `ZOOM_CLIENT_SECRET`, or
    /// else from `ZOOM_ACCESS_TOKEN`. Empty values count as unset.
    #[must_use]
    pub fn from_env() -> Option<Credentials> {
        Credentials::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds credentials from values looked up by their variable names: the three
    /// Server-to-Server values when all are there, or else `ZOOM_ACCESS_TOKEN`. Empty values
    /// count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Option<Credentials> {
        let read = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        match (
            read("ZOOM_ACCOUNT_ID"),
            read("ZOOM_CLIENT_ID"),
            read("ZOOM_CLIENT_SECRET"),
        ) {
            (Some(account_id), Some(client_id), Some(secret)) => {
                Some(Credentials::ServerToServer {
                    account_id,
                    client_id,
                    client_secret: secret.into(),
                })
            }
            _ => read("ZOOM_ACCESS_TOKEN").map(|token| Credentials::AccessToken(token.into())),
        }
    }
}

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Zoom refused the credentials or the token: the setup is wrong and the run must stop.
    #[error("zoom rejected the credentials: {reason}")]
    Rejected {
        /// Zoom's words, e.g. `invalid_client: Invalid client_id or client_secret`.
        reason: String,
    },
    /// The token endpoint could not be reached or answered nonsense; worth trying again.
    #[error("could not get an access token: {reason}")]
    Unavailable {
        /// What went wrong, in plain words.
        reason: String,
    },
}

/// A token as handed to one attempt.
#[derive(Clone)]
pub struct AccessToken {
    /// The bearer value.
    pub value: SecretString,
    /// Which fetch produced it: lets a caller renew only the token it was refused with.
    pub generation: u64,
}

struct CachedToken {
    token: AccessToken,
    renew_at: Option<Instant>,
}

/// Hands out the process's one access token and renews it.
pub struct TokenSource {
    http: reqwest::Client,
    oauth_url: String,
    credentials: Credentials,
    cached: Mutex<Option<CachedToken>>,
    generations: std::sync::atomic::AtomicU64,
}

impl TokenSource {
    /// A token source that fetches from `oauth_url` with `credentials`.
    #[must_use]
    pub fn new(http: reqwest::Client, oauth_url: String, credentials: Credentials) -> TokenSource {
        TokenSource {
            http,
            oauth_url,
            credentials,
            cached: Mutex::new(None),
            generations: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Whether tokens from this source can be renewed after Zoom refuses one.
    #[must_use]
    pub fn can_renew(&self) -> bool {
        matches!(self.credentials, Credentials::ServerToServer { .. })
    }

    /// How many tokens this source has fetched.
    #[must_use]
    pub fn tokens_fetched(&self) -> u64 {
        self.generations.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current token, fetching a new one if there is none or it is about to expire.
    pub async fn token(&self) -> Result<AccessToken, AuthError> {
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref() {
            let fresh = current
                .renew_at
                .is_none_or(|renew_at| Instant::now() < renew_at);
            if fresh {
                return Ok(current.token.clone());
            }
        }
        let fetched = self.fetch().await?;
        let token = fetched.token.clone();
        *cached = Some(fetched);
        Ok(token)
    }

    /// Drops the token of `generation` after Zoom refused it, so the next call fetches anew.
    /// A newer token, fetched meanwhile by another worker, is kept.
    pub async fn renew_after_refusal(&self, generation: u64) -> Result<(), AuthError> {
        if !self.can_renew() {
            return Err(AuthError::Rejected {
                reason: "the access token was refused (401 code 124)".to_owned(),
            });
        }
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|current| current.token.generation == generation)
        {
            *cached = None;
        }
        Ok(())
    }

    async fn fetch(&self) -> Result<CachedToken, AuthError> {
        let (account_id, client_id, client_secret) = match &self.credentials {
            Credentials::AccessToken(value) => {
                return Ok(CachedToken {
                    token: AccessToken {
                        value: value.clone(),
                        generation: self.next_generation(),
                    },
                    renew_at: None,
                });
            }
            Credentials::ServerToServer {
                account_id,
                client_id,
                client_secret,
            } => (account_id, client_id, client_secret),
        };
        tracing::debug!("fetching an access token");
        let response = self
            .http
            .post(&self.oauth_url)
            .basic_auth(client_id, Some(client_secret.expose_secret()))
            .form(&[
                ("grant_type", "account_credentials"),
                ("account_id", account_id.as_str()),
            ])
            .send()
            .await
            .map_err(|error| AuthError::Unavailable {
                reason: without_url(&error),
            })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| AuthError::Unavailable {
                reason: without_url(&error),
            })?;
        if status.is_success() {
            let answer: TokenResponse =
                serde_json::from_slice(&body).map_err(|_| AuthError::Unavailable {
                    reason: format!("the token endpoint answered {status} with an unreadable body"),
                })?;
            return Ok(CachedToken {
                renew_at: Some(Instant::now() + renewal_delay(answer.expires_in)),
                token: AccessToken {
                    value: answer.access_token.into(),
                    generation: self.next_generation(),
                },
            });
        }
        let reason = match serde_json::from_slice::<OAuthErrorBody>(&body) {
            Ok(refusal) if refusal.reason.is_empty() => refusal.error,
            Ok(refusal) => format!("{}: {}", refusal.error, refusal.reason),
            Err(_) => format!("the token endpoint answered {status}"),
        };
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            Err(AuthError::Unavailable { reason })
        } else {
            Err(AuthError::Rejected { reason })
        }
    }

    fn next_generation(&self) -> u64 {
        self.generations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }
}

/// How long to use a token before renewing it: about a minute before it expires, or a tenth of
/// its life for tokens shorter than ten minutes, so short-lived tokens are still mostly used.
fn renewal_delay(expires_in_seconds: u64) -> Duration {
    let life = Duration::from_secs(expires_in_seconds);
    let margin = (life / 10).min(Duration::from_secs(60));
    life.saturating_sub(margin)
}

/// A transport error's text without its URL, which for a token request is only noise.
pub(crate) fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text
            .replace(&format!(" ({url})"), "")
            .replace(url.as_str(), "the server");
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_leaves_a_minute_or_a_tenth() {
        assert_eq!(renewal_delay(3599), Duration::from_secs(3539));
        assert_eq!(renewal_delay(5), Duration::from_millis(4500));
    }

    #[test]
    fn debug_hides_secrets() {
        let credentials = Credentials::ServerToServer {
            account_id: "acct".into(),
            client_id: "client".into(),
            client_secret: "canary-secret".into(),
        };
        assert!(!format!("{credentials:?}").contains("canary-secret"));
        let token = Credentials::AccessToken("canary-token".into());
        assert!(!format!("{token:?}").contains("canary-token"));
    }
}
