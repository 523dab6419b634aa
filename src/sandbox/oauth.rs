//! `POST /oauth/token`: Server-to-Server OAuth as Zoom does it.
//!
//! The client id and secret come in an HTTP Basic header; `grant_type=account_credentials` and
//! `account_id` come in the form body (or, as Zoom also accepts, the query string). Token
//! requests are not API requests: they are neither rate-limited nor faulted. Token values are
//! never logged.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::reply::oauth_error;
use super::state::Shared;
use super::stats::Endpoint;
use crate::zoom::wire::TokenResponse;

/// The scopes every sandbox token carries: enough to create and look up users.
const SCOPES: &str = "user:read:admin user:write:admin";

/// The largest token request body read; a real one is well under a hundred bytes.
const BODY_LIMIT: usize = 16 * 1024;

/// Answers a token request.
pub(crate) async fn token(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let arrived = shared.started.elapsed();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .unwrap_or_default();
    let query = parts.uri.query().unwrap_or_default().as_bytes();
    let param = |name: &str| {
        form_urlencoded::parse(&body)
            .chain(form_urlencoded::parse(query))
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };

    let args = &shared.args;
    let refusal = if client_credentials(&parts.headers)
        != Some((args.client_id.clone(), args.client_secret.clone()))
    {
        Some(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client_id or client_secret",
        ))
    } else if param("grant_type").as_deref() != Some("account_credentials") {
        Some(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant type",
        ))
    } else if param("account_id").as_deref() != Some(args.account_id.as_str()) {
        Some(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid account_id",
        ))
    } else {
        None
    };

    let now = shared.clock.now();
    let mut state = shared.lock();
    let response = if let Some(refusal) = refusal {
        state.counters.totals.tokens_refused += 1;
        refusal
    } else {
        state.counters.totals.tokens_issued += 1;
        let access_token = state.issue_token(now, args.token_ttl, args.revoke_old_tokens);
        let answer = TokenResponse {
            access_token,
            token_type: "bearer".to_owned(),
            expires_in: args.token_ttl,
            scope: SCOPES.to_owned(),
            api_url: Some(shared.api_host.clone()),
        };
        Json(answer).into_response()
    };
    state
        .counters
        .log(Endpoint::Token, arrived, response.status().as_u16());
    response
}

/// The client id and secret of an `Authorization: Basic` header, if it holds any.
fn client_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_decoded() {
        let mut headers = HeaderMap::new();
        assert_eq!(client_credentials(&headers), None);
        let encoded = STANDARD.encode("id:se:cret");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {encoded}").parse().unwrap(),
        );
        assert_eq!(
            client_credentials(&headers),
            Some(("id".to_owned(), "se:cret".to_owned()))
        );
        headers.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(client_credentials(&headers), None);
    }
}
