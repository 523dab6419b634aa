//! The JSON bodies that cross the wire to and from Zoom, shared by the client and the sandbox.
//!
//! Field names follow Zoom's reference exactly. Optional fields are left out when empty, since
//! Zoom treats `""` differently from an absent field.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::rules::Action;

/// The body of `POST /v2/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUserRequest {
    /// How the user is created.
    pub action: Action,
    /// Who is created.
    pub user_info: UserInfo,
}

/// The `user_info` object of a create call.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The address the user signs in with.
    pub email: String,
    /// Zoom's user type number: 1 Basic, 2 Licensed, 4 Unassigned, 99 None.
    #[serde(rename = "type")]
    pub user_type: i64,
    /// The first name, left out when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The last name, left out when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The display name, left out when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The password, sent only with `autoCreate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl fmt::Debug for UserInfo {
    /// Debug output never shows the password.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("UserInfo")
            .field("email", &self.email)
            .field("user_type", &self.user_type)
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .field("display_name", &self.display_name)
            .field("password", &self.password.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

/// The body of a 201 answer to a create call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedUser {
    /// Zoom's id for the new user. A create counts only when this is non-empty.
    #[serde(default)]
    pub id: String,
    /// The email, as Zoom stored it.
    #[serde(default)]
    pub email: String,
    /// The first name, as Zoom stored it.
    #[serde(default)]
    pub first_name: Option<String>,
    /// The last name, as Zoom stored it.
    #[serde(default)]
    pub last_name: Option<String>,
    /// The user type, as Zoom stored it.
    #[serde(rename = "type", default)]
    pub user_type: Option<i64>,
}

/// The body of a 200 answer to `GET /v2/users/{userId}`: the fields this tool reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Zoom's id for the user.
    pub id: String,
    /// The user's email.
    pub email: String,
    /// The first name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// The last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// The display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The user type.
    #[serde(rename = "type", default)]
    pub user_type: Option<i64>,
    /// `pending` until an invitation is accepted, then `active`.
    #[serde(default)]
    pub status: Option<String>,
}

/// The body of a Zoom API refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Zoom's error code; read together with the HTTP status, never alone.
    pub code: i64,
    /// Zoom's words.
    #[serde(default)]
    pub message: String,
    /// For validation failures, the fields at fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One field named by a validation failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field's path, e.g. `user_info.email`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// The body of a successful Server-to-Server OAuth token answer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// The scopes granted, space-separated.
    #[serde(default)]
    pub scope: String,
    /// The API base for this account's region.
    #[serde(default)]
    pub api_url: Option<String>,
}

impl fmt::Debug for TokenResponse {
    /// Debug output never shows the token.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TokenResponse")
            .field("access_token", &"[REDACTED]")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

/// The body of a refused token request, e.g. `{"error":"invalid_client","reason":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthErrorBody {
    /// The OAuth error name.
    pub error: String,
    /// Zoom's explanation.
    #[serde(default)]
    pub reason: String,
}

/// The header Zoom puts on every answer, worth keeping for Zoom support.
pub const TRACKING_ID_HEADER: &str = "x-zm-trackingid";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_optional_fields_are_left_out_and_type_is_a_number() {
        let request = CreateUserRequest {
            action: Action::Create,
            user_info: UserInfo {
                email: "a@example.com".into(),
                user_type: 1,
                first_name: Some("Ann".into()),
                last_name: None,
                display_name: None,
                password: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"action":"create","user_info":{"email":"a@example.com","type":1,"first_name":"Ann"}}"#
        );
    }

    #[test]
    fn debug_hides_passwords_and_tokens() {
        let info = UserInfo {
            email: "a@example.com".into(),
            user_type: 1,
            first_name: None,
            last_name: None,
            display_name: None,
            password: Some("Hunter22x".into()),
        };
        assert!(!format!("{info:?}").contains("Hunter22x"));
        let token = TokenResponse {
            access_token: "tok-secret".into(),
            token_type: "bearer".into(),
            expires_in: 3599,
            scope: String::new(),
            api_url: None,
        };
        assert!(!format!("{token:?}").contains("tok-secret"));
    }
}
