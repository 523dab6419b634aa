//! The HTTP client for Zoom's user endpoints: one attempt in, one classified answer out.
//!
//! The client does not retry, pace or decide outcomes. It sends exactly one request per call
//! and sorts the answer into what the caller must know: a success, a final refusal, a refused
//! token, a rate limit, or a transient failure, and whether that failure leaves it unknown
//! whether Zoom acted. Those decisions belong to `submit`.

use std::fmt::{self, Write as _};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use super::auth::{AuthError, Credentials, TokenSource, without_url};
use super::rate_limit::{RateLimitKind, classify_429, parse_retry_after};
use super::wire::{CreateUserRequest, CreatedUser, ErrorBody, TRACKING_ID_HEADER, UserRecord};

/// Where and how to reach Zoom.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The API base, e.g. `https://api.zoom.us/v2`.
    pub api_url: String,
    /// The Server-to-Server OAuth token endpoint, e.g. `https://zoom.us/oauth/token`.
    pub oauth_url: String,
    /// The longest one attempt may take, answer included.
    pub request_timeout: Duration,
    /// The longest a connection may take to open.
    pub connect_timeout: Duration,
}

/// Zoom's refusal of one request, as the results CSV reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub http_status: u16,
    /// Zoom's error code, when the body had one.
    pub code: Option<i64>,
    /// Zoom's message, with any field errors appended.
    pub message: String,
    /// Zoom's `x-zm-trackingid`, for Zoom support.
    pub tracking_id: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(
                formatter,
                "zoom answered {} code {code}: {}",
                self.http_status, self.message
            ),
            None => write!(
                formatter,
                "zoom answered {}: {}",
                self.http_status, self.message
            ),
        }
    }
}

/// A 429 and what it says about waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimited {
    /// Which limit was hit.
    pub kind: RateLimitKind,
    /// How long Zoom asked to wait, when it said so in a form we read.
    pub retry_after: Option<Duration>,
    /// `X-RateLimit-Limit`, when present.
    pub limit: Option<u64>,
    /// Zoom's message.
    pub message: String,
    /// Zoom's tracking id.
    pub tracking_id: Option<String>,
}

/// A failure that may pass: a 5xx, a timeout, a broken connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transient {
    /// The HTTP status, when an answer arrived.
    pub http_status: Option<u16>,
    /// What went wrong, in plain words.
    pub reason: String,
    /// Whether Zoom may have acted on the request even so: a timeout or 5xx after the request
    /// was sent. A connection that never opened is not ambiguous.
    pub ambiguous: bool,
}

/// What one attempt came back with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    /// A 2xx with the body the call expects.
    Success(T),
    /// A 4xx (other than 401 code 124 and 429) that trying again will not change.
    Refused(ApiError),
    /// 401 code 124: the token of this generation was refused.
    TokenRefused {
        /// The generation of the refused token.
        generation: u64,
    },
    /// A 429.
    RateLimited(RateLimited),
    /// A failure worth trying again.
    Transient(Transient),
}

/// A create Zoom answered with a user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The HTTP status of the answer, 201 as a rule.
    pub http_status: u16,
    /// The user as Zoom stored it.
    pub user: CreatedUser,
}

/// The longest Zoom message kept, in characters: enough for any real one, and a cap on what a
/// misbehaving server can put in every row of the results.
const MESSAGE_MAX_CHARS: usize = 500;

/// Zoom's code for "invalid or expired access token".
pub const CODE_INVALID_TOKEN: i64 = 124;
/// Zoom's code for "this email is already a user of the account".
pub const CODE_USER_EXISTS: i64 = 1005;
/// Zoom's code for "user does not exist".
pub const CODE_USER_NOT_FOUND: i64 = 1001;
/// Zoom's codes for "the token lacks the scope this call needs".
pub const CODES_MISSING_SCOPE: [i64; 2] = [4700, 4711];

/// One client per process: an HTTP connection pool and the shared access token.
pub struct ZoomClient {
    http: reqwest::Client,
    api_url: String,
    tokens: TokenSource,
}

impl ZoomClient {
    /// Builds a client. Nothing is sent until the first call.
    pub fn new(config: &ClientConfig, credentials: Credentials) -> Result<ZoomClient, String> {
        // reqwest is built without a default TLS provider to keep builds small; installing one
        // twice is harmless, so every client makes sure one is there.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("zoom-onboard/", env!("CARGO_PKG_VERSION")))
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .retry(reqwest::retry::never())
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        let tokens = TokenSource::new(http.clone(), config.oauth_url.clone(), credentials);
        Ok(ZoomClient {
            http,
            api_url: config.api_url.trim_end_matches('/').to_owned(),
            tokens,
        })
    }

    /// The shared token source.
    #[must_use]
    pub fn tokens(&self) -> &TokenSource {
        &self.tokens
    }

    /// Sends one create call: `POST /users`.
    ///
    /// A 2xx counts as a success only when its body holds a non-empty `id`; any other 2xx is an
    /// ambiguous transient failure, since Zoom may have created the user.
    pub async fn create_user(
        &self,
        request: &CreateUserRequest,
    ) -> Result<Answer<Created>, AuthError> {
        let answer = self
            .send::<CreatedUser>(Method::POST, "/users", Some(request))
            .await?;
        Ok(match answer {
            Answer::Success((http_status, user)) if user.id.trim().is_empty() => {
                Answer::Transient(Transient {
                    http_status: Some(http_status),
                    reason: format!("zoom answered {http_status} without a user id"),
                    ambiguous: true,
                })
            }
            Answer::Success((http_status, user)) => Answer::Success(Created { http_status, user }),
            Answer::Refused(error) => Answer::Refused(error),
            Answer::TokenRefused { generation } => Answer::TokenRefused { generation },
            Answer::RateLimited(limited) => Answer::RateLimited(limited),
            Answer::Transient(transient) => Answer::Transient(transient),
        })
    }

    /// Looks a user up by id or email: `GET /users/{user}`. An unknown user is `Ok(None)`.
    pub async fn get_user(&self, user: &str) -> Result<Answer<Option<UserRecord>>, AuthError> {
        let path = format!("/users/{}", encode_path_segment(user));
        let answer = self.send::<UserRecord>(Method::GET, &path, None).await?;
        Ok(match answer {
            Answer::Success((_, record)) => Answer::Success(Some(record)),
            Answer::Refused(error)
                if error.http_status == 404 && error.code == Some(CODE_USER_NOT_FOUND) =>
            {
                Answer::Success(None)
            }
            Answer::Refused(error) => Answer::Refused(error),
            Answer::TokenRefused { generation } => Answer::TokenRefused { generation },
            Answer::RateLimited(limited) => Answer::RateLimited(limited),
            Answer::Transient(transient) => Answer::Transient(transient),
        })
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&CreateUserRequest>,
    ) -> Result<Answer<(u16, T)>, AuthError> {
        let token = self.tokens.token().await?;
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.api_url))
            .bearer_auth(token.value.expose_secret());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Ok(Answer::Transient(transport_failure(&error))),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => return Ok(Answer::Transient(transport_failure(&error))),
        };
        Ok(classify(status, &headers, &bytes, token.generation))
    }
}

/// Sorts an HTTP answer into the caller's cases.
fn classify<T: DeserializeOwned>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    generation: u64,
) -> Answer<(u16, T)> {
    let tracking_id = header(headers, TRACKING_ID_HEADER);
    if status.is_success() {
        return match serde_json::from_slice::<T>(body) {
            Ok(value) => Answer::Success((status.as_u16(), value)),
            Err(_) => Answer::Transient(Transient {
                http_status: Some(status.as_u16()),
                reason: format!("zoom answered {status} with an unreadable body"),
                ambiguous: true,
            }),
        };
    }
    let refusal = serde_json::from_slice::<ErrorBody>(body).ok();
    let code = refusal.as_ref().map(|refusal| refusal.code);
    let message = refusal.as_ref().map_or_else(
        || status.canonical_reason().unwrap_or("no message").to_owned(),
        describe_refusal,
    );
    if status == StatusCode::TOO_MANY_REQUESTS {
        let kind = classify_429(header(headers, "x-ratelimit-type").as_deref(), &message);
        let retry_after = header(headers, "retry-after")
            .and_then(|value| parse_retry_after(&value, jiff::Timestamp::now()));
        let limit = header(headers, "x-ratelimit-limit").and_then(|value| value.parse().ok());
        return Answer::RateLimited(RateLimited {
            kind,
            retry_after,
            limit,
            message,
            tracking_id,
        });
    }
    if status == StatusCode::UNAUTHORIZED && code == Some(CODE_INVALID_TOKEN) {
        return Answer::TokenRefused { generation };
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return Answer::Transient(Transient {
            http_status: Some(status.as_u16()),
            reason: format!("zoom answered {status}: {message}"),
            ambiguous: true,
        });
    }
    Answer::Refused(ApiError {
        http_status: status.as_u16(),
        code,
        message,
        tracking_id,
    })
}

/// Zoom's message with each named field appended, so a person sees which field to fix.
fn describe_refusal(refusal: &ErrorBody) -> String {
    let mut message = refusal.message.trim().to_owned();
    for field in &refusal.errors {
        let _ = write!(message, " [{}: {}]", field.field, field.message.trim());
    }
    shorten(message)
}

/// Cuts a message at [`MESSAGE_MAX_CHARS`], saying so.
fn shorten(message: String) -> String {
    match message.char_indices().nth(MESSAGE_MAX_CHARS) {
        Some((cut, _)) => format!("{}… (cut short)", &message[..cut]),
        None => message,
    }
}

fn transport_failure(error: &reqwest::Error) -> Transient {
    let reason = if error.is_timeout() {
        "no answer before the request timeout".to_owned()
    } else {
        without_url(error)
    };
    Transient {
        http_status: None,
        reason,
        // A connection that never opened carried nothing; anything later may have reached Zoom.
        ambiguous: !error.is_connect(),
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Percent-encodes one path segment, so that an email's `+` or `/` reaches Zoom intact.
fn encode_path_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_keep_emails_intact() {
        assert_eq!(encode_path_segment("a+b@x.com"), "a%2Bb@x.com");
        assert_eq!(encode_path_segment("ü@x.de"), "%C3%BC@x.de");
    }

    #[test]
    fn a_400_with_code_200_is_a_refusal_not_a_success() {
        let answer: Answer<(u16, CreatedUser)> = classify(
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            br#"{"code":200,"message":"No privilege."}"#,
            1,
        );
        assert!(matches!(
            answer,
            Answer::Refused(ApiError {
                code: Some(200),
                ..
            })
        ));
    }

    #[test]
    fn field_errors_are_named_in_the_message() {
        let answer: Answer<(u16, CreatedUser)> = classify(
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            br#"{"code":300,"message":"Validation Failed.","errors":[{"field":"user_info.email","message":"Invalid field."}]}"#,
            1,
        );
        let Answer::Refused(error) = answer else {
            panic!("expected a refusal")
        };
        assert_eq!(
            error.message,
            "Validation Failed. [user_info.email: Invalid field.]"
        );
    }
}
