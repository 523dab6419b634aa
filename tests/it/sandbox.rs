//! The sandbox over real HTTP: every behaviour of issue 2, each on its own sandbox bound to
//! `127.0.0.1:0`.
//!
//! Fault tests send their requests one after another, so that with a fixed seed each request
//! meets the same fate on every run; the fractions they check are therefore exact for the seed,
//! and the tolerances only say what "near the configured rate" means.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use jiff::fmt::rfc2822::DateTimePrinter;
use jiff::tz::TimeZone;
use reqwest::header::HeaderMap;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use zoom_onboard::sandbox::{Plan, RetryAfterForm, Sandbox, SandboxArgs, SandboxStats};

/// Options that keep the limits out of the way: tests that want them set them.
fn quiet_args() -> SandboxArgs {
    SandboxArgs {
        seed: Some(2026),
        rate: Some(100_000),
        burst: Some(100_000),
        ..SandboxArgs::default()
    }
}

/// An HTTP client that never retries on its own, so every request sent is one we made.
fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .retry(reqwest::retry::never())
        .build()
        .expect("client builds")
}

async fn start(args: SandboxArgs) -> Sandbox {
    Sandbox::start(args).await.expect("sandbox starts")
}

/// Fetches a token the way Zoom wants it asked for.
async fn fetch_token(client: &Client, sandbox: &Sandbox) -> String {
    let response = client
        .post(sandbox.token_url())
        .basic_auth(sandbox.client_id(), Some(sandbox.client_secret()))
        .form(&[
            ("grant_type", "account_credentials"),
            ("account_id", sandbox.account_id()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Sends a JSON create.
async fn create(
    client: &Client,
    sandbox: &Sandbox,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    client
        .post(format!("{}/users", sandbox.api_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A well-formed invitation for an email.
fn invite(email: &str) -> Value {
    json!({"action": "create", "user_info": {"email": email, "type": 1, "first_name": "Ann"}})
}

async fn lookup(client: &Client, sandbox: &Sandbox, token: &str, key: &str) -> reqwest::Response {
    client
        .get(format!("{}/users/{key}", sandbox.api_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// A response's status and JSON body.
async fn status_and_body(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The `field`s named by a validation failure.
fn fields_named(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| error["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts an observed fraction is within `tolerance` of the configured one.
fn assert_near(observed: usize, total: usize, rate: f64, tolerance: f64, what: &str) {
    let fraction = observed as f64 / total as f64;
    assert!(
        (fraction - rate).abs() <= tolerance,
        "{what}: {observed} of {total} is {fraction:.3}, configured {rate}"
    );
}

/// The next 00:00 UTC after an instant.
fn next_midnight(now: Timestamp) -> Timestamp {
    let day = now.to_zoned_datetime(TimeZone::UTC).date();
    day.tomorrow()
        .unwrap()
        .to_zoned_datetime(TimeZone::UTC)
        .unwrap()
        .timestamp()
}

/// Moves a sandbox's calendar to noon UTC of the next day, far from any day turn.
fn move_to_noon(sandbox: &Sandbox) {
    let now = sandbox.now();
    let to_midnight = next_midnight(now).duration_since(now).unsigned_abs();
    sandbox.advance_clock(to_midnight + Duration::from_secs(12 * 3600));
}

/// Builds a `multipart/form-data` body by hand, as a browser form would send it.
fn multipart(fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "sandbox-test-boundary-7e3f";
    let mut body = String::new();
    for (name, value) in fields {
        let _ = write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        );
    }
    let _ = write!(body, "--{boundary}--\r\n");
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

/// Sends `total` look-ups at `per_second`, each on its own task at its scheduled instant,
/// and returns their statuses (0 for a transport error).
async fn paced_lookups(sandbox: &Sandbox, per_second: f64, total: u32) -> Vec<u16> {
    let client = client();
    let token = fetch_token(&client, sandbox).await;
    let period = Duration::from_secs_f64(1.0 / per_second);
    let start = tokio::time::Instant::now();
    let mut requests = JoinSet::new();
    for k in 0..total {
        tokio::time::sleep_until(start + period * k).await;
        let request = client
            .get(format!("{}/users/nobody{k}@example.com", sandbox.api_url()))
            .bearer_auth(&token);
        requests.spawn(async move { request.send().await.map_or(0, |r| r.status().as_u16()) });
    }
    requests.join_all().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_issued_for_zoom_style_credentials_and_opens_the_api() {
    let sandbox = start(quiet_args()).await;
    let client = client();

    let response = client
        .post(sandbox.token_url())
        .basic_auth("sandbox", Some("sandbox"))
        .form(&[
            ("grant_type", "account_credentials"),
            ("account_id", "sandbox"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3599);
    assert!(body["scope"].as_str().unwrap().contains("user:write:admin"));
    assert_eq!(body["api_url"], format!("http://{}", sandbox.addr()));
    let access_token = body["access_token"].as_str().unwrap();
    assert!(access_token.len() >= 32 && access_token.chars().all(|c| c.is_ascii_alphanumeric()));

    // Zoom also takes the parameters in the query string.
    let by_query = client
        .post(format!(
            "{}?grant_type=account_credentials&account_id=sandbox",
            sandbox.token_url()
        ))
        .basic_auth("sandbox", Some("sandbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), StatusCode::OK);

    let second = fetch_token(&client, &sandbox).await;
    assert_ne!(second, access_token, "tokens are fresh random strings");
    let response = lookup(&client, &sandbox, access_token, "nobody@example.com").await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "the first token still works"
    );

    let counters = sandbox.stats();
    assert_eq!((counters.tokens_issued, counters.tokens_refused), (3, 0));
}

/// Client credentials, form, expected status and expected OAuth `error`.
type TokenCase = (
    Option<(&'static str, &'static str)>,
    [(&'static str, &'static str); 2],
    u16,
    &'static str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_requests_with_wrong_credentials_account_or_grant_are_refused() {
    let args = SandboxArgs {
        account_id: "acct-1".into(),
        client_id: "client-1".into(),
        client_secret: "secret-1".into(),
        ..quiet_args()
    };
    let sandbox = start(args).await;
    let client = client();
    let good_form = [
        ("grant_type", "account_credentials"),
        ("account_id", "acct-1"),
    ];

    let cases: [TokenCase; 5] = [
        (
            Some(("client-1", "wrong")),
            good_form,
            401,
            "invalid_client",
        ),
        (
            Some(("wrong", "secret-1")),
            good_form,
            401,
            "invalid_client",
        ),
        (None, good_form, 401, "invalid_client"),
        (
            Some(("client-1", "secret-1")),
            [
                ("grant_type", "client_credentials"),
                ("account_id", "acct-1"),
            ],
            400,
            "unsupported_grant_type",
        ),
        (
            Some(("client-1", "secret-1")),
            [
                ("grant_type", "account_credentials"),
                ("account_id", "acct-2"),
            ],
            400,
            "invalid_request",
        ),
    ];
    for (credentials, form, status, error) in cases {
        let mut request = client.post(sandbox.token_url()).form(&form);
        if let Some((id, secret)) = credentials {
            request = request.basic_auth(id, Some(secret));
        }
        let (got, body) = status_and_body(request.send().await.unwrap()).await;
        assert_eq!(got.as_u16(), status, "{credentials:?} {form:?}");
        assert_eq!(body["error"], error, "{credentials:?} {form:?}");
        assert!(
            body["reason"]
                .as_str()
                .is_some_and(|reason| !reason.is_empty())
        );
    }
    let (status, body) = status_and_body(
        client
            .post(sandbox.token_url())
            .basic_auth("client-1", Some("wrong"))
            .form(&good_form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["reason"], "Invalid client_id or client_secret");

    let counters = sandbox.stats();
    assert_eq!((counters.tokens_issued, counters.tokens_refused), (0, 6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_refuses_missing_unknown_expired_and_revoked_tokens_with_124() {
    let sandbox = start(SandboxArgs {
        token_ttl: 60,
        ..quiet_args()
    })
    .await;
    let client = client();
    let url = format!("{}/users/someone@example.com", sandbox.api_url());

    let missing = client.get(&url).send().await.unwrap();
    let unknown = client
        .get(&url)
        .bearer_auth("made-up")
        .send()
        .await
        .unwrap();
    for response in [missing, unknown] {
        assert!(header(response.headers(), "x-zm-trackingid").is_some());
        let (status, body) = status_and_body(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            json!({"code": 124, "message": "Invalid access token."})
        );
    }

    let live = fetch_token(&client, &sandbox).await;
    let response = create(&client, &sandbox, &live, &invite("early@example.com")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    sandbox.advance_clock(Duration::from_secs(61));
    let (status, body) =
        status_and_body(create(&client, &sandbox, &live, &invite("late@example.com")).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], 124);

    let counters = sandbox.stats();
    assert_eq!(counters.unauthorized_124, 3);
    assert_eq!(counters.users_created, 1, "a refused token creates nobody");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_old_tokens_invalidates_the_previous_token() {
    let client = client();

    let sandbox = start(SandboxArgs {
        revoke_old_tokens: true,
        ..quiet_args()
    })
    .await;
    let first = fetch_token(&client, &sandbox).await;
    let second = fetch_token(&client, &sandbox).await;
    let (status, body) =
        status_and_body(lookup(&client, &sandbox, &first, "x@example.com").await).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (StatusCode::UNAUTHORIZED, Some(124))
    );
    let response = lookup(&client, &sandbox, &second, "x@example.com").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Without the flag both live side by side.
    let sandbox = start(quiet_args()).await;
    let first = fetch_token(&client, &sandbox).await;
    let _second = fetch_token(&client, &sandbox).await;
    let response = lookup(&client, &sandbox, &first, "x@example.com").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_create_answers_201_and_keeps_exactly_what_was_received() {
    let sandbox = start(quiet_args()).await;
    let client = client();
    let token = fetch_token(&client, &sandbox).await;

    let sent = json!({
        "action": "create",
        "user_info": {
            "email": "Ann.Lee@Example.com",
            "type": 2,
            "first_name": "Ann",
            "last_name": "Lee",
            "display_name": "Ann L.",
            "feature": {"zoom_one_type": 16},
            "plan_united_type": "1"
        }
    });
    let response = create(&client, &sandbox, &token, &sent).await;
    let headers = response.headers().clone();
    let (status, body) = status_and_body(response).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(header(&headers, "x-zm-trackingid").is_some_and(|id| !id.is_empty()));
    assert_eq!(header(&headers, "x-ratelimit-limit"), Some("1500"));
    assert_eq!(header(&headers, "x-ratelimit-remaining"), Some("1499"));
    let id = body["id"].as_str().unwrap();
    assert!(!id.is_empty());
    assert_eq!(body["email"], "Ann.Lee@Example.com");
    assert_eq!(
        (body["first_name"].as_str(), body["last_name"].as_str()),
        (Some("Ann"), Some("Lee"))
    );
    assert_eq!(body["type"], 2);

    let users = sandbox.users();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].id, id);
    assert_eq!(
        users[0].user_info, sent["user_info"],
        "the server keeps what it received"
    );
    assert_eq!(users[0].status(), "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_create_is_accepted_like_json() {
    let sandbox = start(quiet_args()).await;
    let client = client();
    let token = fetch_token(&client, &sandbox).await;
    let send = |fields: Vec<(&'static str, &'static str)>| {
        let (content_type, body) = multipart(&fields);
        client
            .post(format!("{}/users", sandbox.api_url()))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let response = send(vec![
        ("action", "autoCreate"),
        (
            "user_info",
            r#"{"email":"form@example.com","type":1,"password":"Blue7Sky9x"}"#,
        ),
    ])
    .await
    .unwrap();
    let (status, body) = status_and_body(response).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["email"], "form@example.com");
    let users = sandbox.users();
    assert_eq!(users[0].user_info["password"], "Blue7Sky9x");
    assert_eq!(users[0].status(), "active");

    let response = send(vec![("action", "create"), ("user_info", "{not json")])
        .await
        .unwrap();
    let (status, body) = status_and_body(response).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (StatusCode::BAD_REQUEST, Some(300))
    );
    assert_eq!(fields_named(&body), ["user_info"]);

    let response = send(vec![
        ("action", "Create"),
        ("user_info", r#"{"email":"f2@example.com","type":1}"#),
    ])
    .await
    .unwrap();
    let (status, body) = status_and_body(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields_named(&body), ["action"]);
}

/// One create body per validation class, with the field Zoom must name.
fn validation_cases() -> Vec<(&'static str, Value, &'static str)> {
    let long_email = format!("{}@example.com", "a".repeat(120));
    let long_name = "n".repeat(65);

    vec![
        (
            "wrong-case action",
            json!({"action": "Create", "user_info": {"email": "a@example.com", "type": 1}}),
            "action",
        ),
        (
            "unknown action",
            json!({"action": "invite", "user_info": {"email": "a@example.com", "type": 1}}),
            "action",
        ),
        (
            "missing action",
            json!({"user_info": {"email": "a@example.com", "type": 1}}),
            "action",
        ),
        (
            "missing user_info",
            json!({"action": "create"}),
            "user_info",
        ),
        (
            "missing email",
            json!({"action": "create", "user_info": {"type": 1}}),
            "user_info.email",
        ),
        (
            "email shape",
            json!({"action": "create", "user_info": {"email": "a@b", "type": 1}}),
            "user_info.email",
        ),
        (
            "email with a space",
            json!({"action": "create", "user_info": {"email": "a b@example.com", "type": 1}}),
            "user_info.email",
        ),
        (
            "email length",
            json!({"action": "create", "user_info": {"email": long_email, "type": 1}}),
            "user_info.email",
        ),
        (
            "missing type",
            json!({"action": "create", "user_info": {"email": "a@example.com"}}),
            "user_info.type",
        ),
        (
            "type as a string",
            json!({"action": "create", "user_info": {"email": "a@example.com", "type": "1"}}),
            "user_info.type",
        ),
        (
            "legacy type 3",
            json!({"action": "create", "user_info": {"email": "a@example.com", "type": 3}}),
            "user_info.type",
        ),
        (
            "type 99 without ssoCreate",
            json!({"action": "create", "user_info": {"email": "a@example.com", "type": 99}}),
            "user_info.type",
        ),
        (
            "first name length",
            json!({"action": "create", "user_info": {"email": "a@example.com", "type": 1, "first_name": long_name}}),
            "user_info.first_name",
        ),
        (
            "last name Chinese characters",
            json!({"action": "create", "user_info": {"email": "a@example.com", "type": 1, "last_name": "王小明王小明"}}),
            "user_info.last_name",
        ),
        (
            "first name not a string",
            json!({"action": "create", "user_info": {"email": "a@example.com", "type": 1, "first_name": 7}}),
            "user_info.first_name",
        ),
        (
            "autoCreate without password",
            json!({"action": "autoCreate", "user_info": {"email": "a@example.com", "type": 1}}),
            "user_info.password",
        ),
        (
            "autoCreate weak password",
            json!({"action": "autoCreate", "user_info": {"email": "a@example.com", "type": 1, "password": "abcdefgh"}}),
            "user_info.password",
        ),
        (
            "autoCreate run password",
            json!({"action": "autoCreate", "user_info": {"email": "a@example.com", "type": 1, "password": "12345678"}}),
            "user_info.password",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_validation_class_is_400_code_300_naming_the_field() {
    let sandbox = start(quiet_args()).await;
    let client = client();
    let token = fetch_token(&client, &sandbox).await;
    let cases = validation_cases();
    let long_name = "n".repeat(65);
    for (what, body, field) in &cases {
        let (status, answer) = status_and_body(create(&client, &sandbox, &token, body).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(answer["code"], 300, "{what}");
        assert!(
            fields_named(&answer).iter().any(|named| named == field),
            "{what}: {answer}"
        );
    }

    // Several bad fields are all named in one answer.
    let body = json!({"action": "autoCreate", "user_info": {"email": "nope", "type": 7, "first_name": long_name}});
    let (_, answer) = status_and_body(create(&client, &sandbox, &token, &body).await).await;
    assert_eq!(
        fields_named(&answer),
        [
            "user_info.email",
            "user_info.type",
            "user_info.first_name",
            "user_info.password"
        ]
    );

    // A body that is not a JSON object at all.
    for raw in ["{not json", "[1,2]", "null", ""] {
        let response = client
            .post(format!("{}/users", sandbox.api_url()))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let (status, answer) = status_and_body(response).await;
        assert_eq!(
            (status, answer["code"].as_i64()),
            (StatusCode::BAD_REQUEST, Some(300)),
            "{raw}"
        );
        assert_eq!(
            answer["message"],
            "Request Body should be a valid JSON object."
        );
    }

    // 99 is fine with ssoCreate, and nothing above created anyone.
    let sso = json!({"action": "ssoCreate", "user_info": {"email": "sso@example.com", "type": 99}});
    assert_eq!(
        create(&client, &sandbox, &token, &sso).await.status(),
        StatusCode::CREATED
    );
    let counters = sandbox.stats();
    assert_eq!(counters.users_created, 1);
    assert_eq!(counters.validation_failures_300, cases.len() as u64 + 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_already_in_the_account_in_any_case_is_409_code_1005() {
    let existing = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        existing.path(),
        "# people already on Zoom\nOld.Timer@example.com\n\n",
    )
    .unwrap();
    let sandbox = start(SandboxArgs {
        existing: Some(existing.path().into()),
        ..quiet_args()
    })
    .await;
    let client = client();
    let token = fetch_token(&client, &sandbox).await;

    assert_eq!(
        create(&client, &sandbox, &token, &invite("new@example.com"))
            .await
            .status(),
        StatusCode::CREATED
    );
    for email in ["NEW@example.com", "old.timer@EXAMPLE.com"] {
        let (status, body) =
            status_and_body(create(&client, &sandbox, &token, &invite(email)).await).await;
        assert_eq!(status, StatusCode::CONFLICT, "{email}");
        assert_eq!(body["code"], 1005);
        assert_eq!(
            body["message"],
            format!("User already in the account: {email}")
        );
    }

    // Existing users are real users of the account: found by email, then by their id.
    let (status, found) =
        status_and_body(lookup(&client, &sandbox, &token, "old.timer@example.com").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["status"], "active");
    let id = found["id"].as_str().unwrap();
    let (status, by_id) = status_and_body(lookup(&client, &sandbox, &token, id).await).await;
    assert_eq!(
        (status, &by_id["email"]),
        (StatusCode::OK, &json!("Old.Timer@example.com"))
    );

    let counters = sandbox.stats();
    assert_eq!((counters.conflicts_1005, counters.users_created), (2, 1));
    assert_eq!(
        sandbox.users().len(),
        1,
        "users() lists only users created through the API"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_by_id_and_email_and_404_code_1001() {
    let sandbox = start(quiet_args()).await;
    let client = client();
    let token = fetch_token(&client, &sandbox).await;

    let (_, invited) =
        status_and_body(create(&client, &sandbox, &token, &invite("pending@example.com")).await)
            .await;
    let sso = json!({"action": "ssoCreate", "user_info": {"email": "sso@example.com", "type": 99, "last_name": "Sol"}});
    let (_, provisioned) = status_and_body(create(&client, &sandbox, &token, &sso).await).await;

    for key in [invited["id"].as_str().unwrap(), "PENDING@Example.COM"] {
        let response = lookup(&client, &sandbox, &token, key).await;
        assert!(header(response.headers(), "x-zm-trackingid").is_some());
        let (status, body) = status_and_body(response).await;
        assert_eq!(status, StatusCode::OK, "{key}");
        assert_eq!(body["id"], invited["id"]);
        assert_eq!(body["email"], "pending@example.com");
        assert_eq!(body["status"], "pending");
        assert_eq!(body["type"], 1);
        assert_eq!(body["first_name"], "Ann");
    }
    let (_, body) = status_and_body(
        lookup(
            &client,
            &sandbox,
            &token,
            provisioned["id"].as_str().unwrap(),
        )
        .await,
    )
    .await;
    assert_eq!(
        (&body["status"], &body["type"], &body["last_name"]),
        (&json!("active"), &json!(99), &json!("Sol"))
    );

    let (status, body) =
        status_and_body(lookup(&client, &sandbox, &token, "ghost@example.com").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], 1001);
    assert_eq!(body["message"], "User does not exist: ghost@example.com.");

    let counters = sandbox.stats();
    assert_eq!((counters.lookups, counters.lookups_not_found_1001), (4, 1));
    assert_eq!(
        counters.daily_quota_used, 1,
        "look-ups and ssoCreate do not use the daily quota"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_second_limit_never_refuses_a_client_paced_exactly_at_the_limit() {
    let sandbox = start(SandboxArgs {
        rate: Some(20),
        burst: None,
        ..quiet_args()
    })
    .await;
    let statuses = paced_lookups(&sandbox, 20.0, 60).await;
    assert!(statuses.iter().all(|&status| status == 404), "{statuses:?}");
    assert_eq!(sandbox.stats().rate_limited_qps, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_second_limit_refuses_a_client_ten_percent_too_fast() {
    let sandbox = start(SandboxArgs {
        rate: Some(20),
        burst: None,
        retry_after: RetryAfterForm::Seconds,
        ..quiet_args()
    })
    .await;
    let statuses = paced_lookups(&sandbox, 22.0, 88).await;
    let refused = statuses.iter().filter(|&&status| status == 429).count();
    assert!(
        refused >= 1,
        "a client 10% too fast for 4 s is refused: {statuses:?}"
    );
    assert!(refused <= 16, "but only for its excess: {refused} of 88");
    assert_eq!(sandbox.stats().rate_limited_qps, refused as u64);

    // What a per-second 429 looks like.
    let client = client();
    let token = fetch_token(&client, &sandbox).await;
    let mut burst = JoinSet::new();
    for k in 0..12 {
        let request = client
            .get(format!("{}/users/burst{k}@example.com", sandbox.api_url()))
            .bearer_auth(&token);
        burst.spawn(async move { request.send().await.unwrap() });
    }
    let responses = burst.join_all().await;
    let refusal = responses
        .into_iter()
        .find(|response| response.status() == StatusCode::TOO_MANY_REQUESTS)
        .expect("a burst of 12 over a bucket of 5 is refused");
    let headers = refusal.headers().clone();
    assert_eq!(header(&headers, "x-ratelimit-category"), Some("Light"));
    assert_eq!(header(&headers, "x-ratelimit-type"), Some("QPS"));
    assert_eq!(header(&headers, "x-ratelimit-limit"), Some("20"));
    assert_eq!(header(&headers, "x-ratelimit-remaining"), Some("0"));
    assert_eq!(header(&headers, "retry-after"), Some("1"));
    assert!(header(&headers, "x-zm-trackingid").is_some());
    let (_, body) = status_and_body(refusal).await;
    assert_eq!(
        body,
        json!({"code": 429, "message": "You have reached the maximum per-second rate limit for this API. Try again later."})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_plan_limits_a_burst_to_its_small_bucket() {
    let sandbox = start(SandboxArgs {
        plan: Plan::Free,
        rate: None,
        burst: None,
        ..quiet_args()
    })
    .await;
    let client = client();
    let token = fetch_token(&client, &sandbox).await;
    let mut burst = JoinSet::new();
    for k in 0..10 {
        let request = client
            .get(format!("{}/users/b{k}@example.com", sandbox.api_url()))
            .bearer_auth(&token);
        burst.spawn(async move { request.send().await.unwrap().status() });
    }
    let statuses = burst.join_all().await;
    let accepted = statuses
        .iter()
        .filter(|&&status| status != StatusCode::TOO_MANY_REQUESTS)
        .count();
    // The free plan's bucket holds 2 and refills 4 a second.
    assert!((2..=3).contains(&accepted), "{statuses:?}");
    assert_eq!(sandbox.stats().daily_quota_limit, 50);
}

/// Asserts a daily 429's `Retry-After` names the next UTC midnight in the selected form.
fn assert_retry_after(
    form: RetryAfterForm,
    retry_after: Option<&str>,
    now: Timestamp,
    midnight: Timestamp,
) {
    match form {
        RetryAfterForm::None => assert_eq!(retry_after, None),
        RetryAfterForm::Seconds => {
            let seconds: i64 = retry_after.unwrap().parse().unwrap();
            let expected = midnight.duration_since(now).as_secs();
            assert!((seconds - expected).abs() <= 2, "{seconds} vs {expected}");
        }
        RetryAfterForm::Iso8601 => {
            assert_eq!(
                retry_after,
                Some(midnight.strftime("%Y-%m-%dT%H:%M:%SZ").to_string().as_str())
            );
            assert!(retry_after.unwrap().ends_with("T00:00:00Z"));
        }
        RetryAfterForm::HttpDate => {
            let expected = DateTimePrinter::new()
                .timestamp_to_rfc9110_string(&midnight)
                .unwrap();
            assert_eq!(retry_after, Some(expected.as_str()));
            assert!(expected.ends_with(" 00:00:00 GMT"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_quota_refuses_the_create_after_its_exact_count_until_utc_midnight() {
    let client = client();
    for form in [
        RetryAfterForm::Seconds,
        RetryAfterForm::Iso8601,
        RetryAfterForm::HttpDate,
        RetryAfterForm::None,
    ] {
        let sandbox = start(SandboxArgs {
            daily_quota: Some(5),
            retry_after: form,
            ..quiet_args()
        })
        .await;
        move_to_noon(&sandbox);
        let token = fetch_token(&client, &sandbox).await;

        for k in 0..5_u32 {
            let response = create(
                &client,
                &sandbox,
                &token,
                &invite(&format!("day{k}@example.com")),
            )
            .await;
            assert_eq!(
                response.status(),
                StatusCode::CREATED,
                "{form:?} create {k}"
            );
            assert_eq!(header(response.headers(), "x-ratelimit-limit"), Some("5"));
            let remaining = (4 - k).to_string();
            assert_eq!(
                header(response.headers(), "x-ratelimit-remaining"),
                Some(remaining.as_str())
            );
            // Neither look-ups nor other actions use the quota.
            lookup(&client, &sandbox, &token, "day0@example.com").await;
            let auto = json!({"action": "custCreate", "user_info": {"email": format!("cust{k}@example.com"), "type": 1}});
            let response = create(&client, &sandbox, &token, &auto).await;
            assert_eq!(response.status(), StatusCode::CREATED);
            assert_eq!(header(response.headers(), "x-ratelimit-limit"), None);
        }

        let now = sandbox.now();
        let midnight = next_midnight(now);
        let response = create(&client, &sandbox, &token, &invite("sixth@example.com")).await;
        let headers = response.headers().clone();
        let (status, body) = status_and_body(response).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{form:?}");
        assert_eq!(body["code"], 429);
        assert!(
            body["message"].as_str().unwrap().contains("GMT 00:00:00"),
            "{body}"
        );
        assert_eq!(header(&headers, "x-ratelimit-type"), Some("Daily-limit"));
        assert_eq!(header(&headers, "x-ratelimit-category"), Some("Light"));
        assert_eq!(header(&headers, "x-ratelimit-limit"), Some("5"));
        assert_eq!(header(&headers, "x-ratelimit-remaining"), Some("0"));
        assert_retry_after(form, header(&headers, "retry-after"), now, midnight);
        assert!(
            sandbox
                .users()
                .iter()
                .all(|user| user.email != "sixth@example.com")
        );

        // The quota comes back at 00:00 UTC, not before.
        sandbox.advance_clock(
            midnight
                .duration_since(sandbox.now())
                .unsigned_abs()
                .saturating_sub(Duration::from_secs(5)),
        );
        // Twelve hours on, the first token has expired.
        let token = fetch_token(&client, &sandbox).await;
        let response = create(&client, &sandbox, &token, &invite("early@example.com")).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        sandbox.advance_clock(Duration::from_secs(6));
        let response = create(&client, &sandbox, &token, &invite("sixth@example.com")).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{form:?}");
        assert_eq!(
            header(response.headers(), "x-ratelimit-remaining"),
            Some("4")
        );

        let counters = sandbox.stats();
        assert_eq!(counters.rate_limited_daily, 2);
        assert_eq!(
            (counters.daily_quota_used, counters.daily_quota_limit),
            (1, 5)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_answers_a_seeded_fraction_with_500_or_503_before_anything() {
    async fn run(seed: u64) -> (Vec<u16>, SandboxStats) {
        let sandbox = start(SandboxArgs {
            error_rate: 0.2,
            seed: Some(seed),
            ..quiet_args()
        })
        .await;
        let client = client();
        let token = fetch_token(&client, &sandbox).await;
        let mut statuses = Vec::new();
        for k in 0..200 {
            let response = create(
                &client,
                &sandbox,
                &token,
                &invite(&format!("e{k}@example.com")),
            )
            .await;
            assert!(header(response.headers(), "x-zm-trackingid").is_some());
            statuses.push(response.status().as_u16());
        }
        let counters = sandbox.stats();
        assert_eq!(
            sandbox.users().len(),
            statuses.iter().filter(|&&s| s == 201).count()
        );
        (statuses, counters)
    }

    let (statuses, counters) = run(11).await;
    let errors = statuses
        .iter()
        .filter(|&&status| status == 500 || status == 503)
        .count();
    assert_near(errors, 200, 0.2, 0.07, "500/503 answers");
    assert!(statuses.contains(&500) && statuses.contains(&503));
    assert!(
        statuses
            .iter()
            .all(|&status| matches!(status, 201 | 500 | 503))
    );
    assert_eq!(
        counters.faults.error_500 + counters.faults.error_503,
        errors as u64
    );
    assert_eq!(counters.faults_injected, errors as u64);
    assert_eq!(counters.create_requests, 200);
    assert_eq!(
        counters.daily_quota_used,
        200 - errors as u64,
        "an error strikes before the quota counts"
    );

    let (again, _) = run(11).await;
    assert_eq!(again, statuses, "the same seed repeats the same run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_rate_creates_the_user_then_answers_502_504_or_stalls() {
    let sandbox = start(SandboxArgs {
        ambiguous_rate: 0.3,
        stall_ms: 400,
        ..quiet_args()
    })
    .await;
    let client = client();
    let token = fetch_token(&client, &sandbox).await;
    let (mut bad_gateway, mut gateway_timeout, mut timed_out) = (0_u64, 0_u64, 0_u64);
    for k in 0..150 {
        let sent = client
            .post(format!("{}/users", sandbox.api_url()))
            .bearer_auth(&token)
            .timeout(Duration::from_millis(150))
            .json(&invite(&format!("amb{k}@example.com")))
            .send()
            .await;
        match sent.map(|response| response.status().as_u16()) {
            Ok(201) => {}
            Ok(502) => bad_gateway += 1,
            Ok(504) => gateway_timeout += 1,
            Ok(other) => panic!("unexpected status {other}"),
            Err(error) => {
                assert!(error.is_timeout(), "{error}");
                timed_out += 1;
            }
        }
    }
    let ambiguous = bad_gateway + gateway_timeout + timed_out;
    assert_near(ambiguous as usize, 150, 0.3, 0.08, "ambiguous answers");
    assert!(bad_gateway > 0 && gateway_timeout > 0 && timed_out > 0);

    let counters = sandbox.stats();
    assert_eq!(
        counters.users_created, 150,
        "every ambiguous create did create its user"
    );
    assert_eq!(counters.faults.ambiguous_502, bad_gateway);
    assert_eq!(counters.faults.ambiguous_504, gateway_timeout);
    assert_eq!(counters.faults.ambiguous_stall, timed_out);
    assert_eq!(counters.faults_injected, ambiguous);
    let retry = create(&client, &sandbox, &token, &invite("amb0@example.com")).await;
    assert_eq!(
        retry.status(),
        StatusCode::CONFLICT,
        "a retry of an ambiguous create meets 1005"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_rate_closes_connections_without_an_answer_and_creates_nobody() {
    let sandbox = start(SandboxArgs {
        drop_rate: 0.25,
        ..quiet_args()
    })
    .await;
    let client = client();
    let token = fetch_token(&client, &sandbox).await;
    let mut dropped_emails = Vec::new();
    for k in 0..200 {
        let email = format!("drop{k}@example.com");
        let sent = client
            .post(format!("{}/users", sandbox.api_url()))
            .bearer_auth(&token)
            .json(&invite(&email))
            .send()
            .await;
        match sent {
            Ok(response) => assert_eq!(response.status(), StatusCode::CREATED),
            Err(error) => {
                assert!(!error.is_timeout() && error.status().is_none(), "{error}");
                dropped_emails.push(email);
            }
        }
    }
    assert_near(dropped_emails.len(), 200, 0.25, 0.08, "dropped connections");

    let counters = sandbox.stats();
    assert_eq!(counters.faults.dropped, dropped_emails.len() as u64);
    assert_eq!(
        counters.create_requests, 200,
        "the client made no retries of its own"
    );
    assert_eq!(counters.users_created, 200 - dropped_emails.len() as u64);
    let users = sandbox.users();
    assert!(
        dropped_emails
            .iter()
            .all(|email| users.iter().all(|user| &user.email != email))
    );
    let dropped_in_log = sandbox
        .create_request_times()
        .iter()
        .filter(|(_, status)| *status == 0)
        .count();
    assert_eq!(dropped_in_log, dropped_emails.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_and_jitter_delay_every_api_answer() {
    let sandbox = start(SandboxArgs {
        latency_ms: 80,
        jitter_ms: 40,
        ..quiet_args()
    })
    .await;
    let client = client();
    let started = Instant::now();
    let token = fetch_token(&client, &sandbox).await;
    assert!(
        started.elapsed() < Duration::from_millis(40),
        "token requests are not delayed"
    );

    let mut elapsed = Vec::new();
    for k in 0..10 {
        let started = Instant::now();
        lookup(&client, &sandbox, &token, &format!("slow{k}@example.com")).await;
        elapsed.push(started.elapsed());
    }
    assert!(
        elapsed
            .iter()
            .all(|&each| each >= Duration::from_millis(40)),
        "{elapsed:?}"
    );
    let mean = elapsed.iter().sum::<Duration>() / 10;
    assert!(
        mean >= Duration::from_millis(60) && mean <= Duration::from_millis(160),
        "{mean:?}"
    );
    assert!(
        elapsed.iter().max() > elapsed.iter().min(),
        "jitter spreads the delays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_are_served_over_http_and_prove_what_happened() {
    let sandbox = start(quiet_args()).await;
    let client = client();
    let token = fetch_token(&client, &sandbox).await;
    for _ in 0..3 {
        create(&client, &sandbox, &token, &invite("Twice@example.com")).await;
    }
    create(&client, &sandbox, &token, &invite("once@example.com")).await;
    lookup(&client, &sandbox, &token, "once@example.com").await;

    let served: Value = client
        .get(format!("http://{}/_sandbox/stats", sandbox.addr()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in [
        "tokens_issued",
        "tokens_refused",
        "create_requests",
        "max_create_requests_per_email",
        "users_created",
        "conflicts_1005",
        "rate_limited_qps",
        "rate_limited_daily",
        "faults_injected",
    ] {
        assert!(served[key].is_u64(), "{key} in {served}");
    }
    let counters: SandboxStats = serde_json::from_value(served).unwrap();
    assert_eq!(counters, sandbox.stats());
    assert_eq!(counters.tokens_issued, 1);
    assert_eq!(counters.create_requests, 4);
    assert_eq!(counters.max_create_requests_per_email, 3);
    assert_eq!(sandbox.create_requests_for("twice@EXAMPLE.com"), 3);
    assert_eq!(
        (
            counters.users_created,
            counters.conflicts_1005,
            counters.lookups
        ),
        (2, 2, 1)
    );

    let times = sandbox.create_request_times();
    let statuses: Vec<u16> = times.iter().map(|(_, status)| *status).collect();
    assert_eq!(statuses, [201, 409, 409, 201]);
    assert!(times.windows(2).all(|pair| pair[0].0 <= pair[1].0));
    assert_eq!(
        sandbox.request_log().len(),
        6,
        "token, four creates, one look-up"
    );

    // The clock endpoint moves the calendar.
    let before = sandbox.now();
    let answer: Value = client
        .post(format!("http://{}/_sandbox/clock", sandbox.addr()))
        .json(&json!({"advance_seconds": 7200}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let moved: Timestamp = answer["now"].as_str().unwrap().parse().unwrap();
    assert!(moved.duration_since(before).as_secs() >= 7200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_requests_get_zoom_like_errors_never_a_crash() {
    let sandbox = start(quiet_args()).await;
    let client = client();
    let token = fetch_token(&client, &sandbox).await;
    let api = sandbox.api_url();

    let bodies = [
        r#"{"action": 5, "user_info": "x"}"#,
        r#"{"action": "create", "user_info": {"email": ["a"], "type": 1e400}}"#,
        r#"{"action": "create", "user_info": {"email": "a@example.com", "type": 18446744073709551616}}"#,
        r#"{"action": "create", "user_info": {"email": "\u0000@example.com", "type": 1}}"#,
        "\u{feff}{}",
    ];
    for body in bodies {
        let response = client
            .post(format!("{api}/users"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let garbage_multipart = client
        .post(format!("{api}/users"))
        .bearer_auth(&token)
        .header("content-type", "multipart/form-data; boundary=x")
        .body("not multipart at all")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage_multipart.status(), StatusCode::BAD_REQUEST);
    let unknown = client
        .get(format!("{api}/meetings"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let odd_lookup = client
        .get(format!("{api}/users/%00%ff"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(odd_lookup.status().is_client_error());
    let bad_token_body = client
        .post(sandbox.token_url())
        .body(vec![0xff_u8; 64])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token_body.status(), StatusCode::UNAUTHORIZED);

    // Still serving.
    let response = create(&client, &sandbox, &token, &invite("after@example.com")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_command_prints_where_it_listens_and_serves() {
    use std::io::{BufRead, BufReader};

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_zoom-onboard"))
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--client-secret",
            "s3cret",
            "--seed",
            "9",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("Press Ctrl-C");
        printed.push(line);
        if done {
            break;
        }
    }
    let value_of = |label: &str| {
        printed
            .iter()
            .find_map(|line| {
                line.trim()
                    .strip_prefix(label)
                    .map(|rest| rest.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("no {label} in {printed:?}"))
    };
    let api_url = value_of("API base URL:");
    let token_url = value_of("token URL:");
    assert!(
        api_url.starts_with("http://127.0.0.1:") && api_url.ends_with("/v2"),
        "{api_url}"
    );
    assert_eq!(value_of("client secret:"), "s3cret");
    assert_eq!(value_of("fault seed:"), "9");

    let client = client();
    let response = client
        .post(&token_url)
        .basic_auth("sandbox", Some("s3cret"))
        .form(&[
            ("grant_type", "account_credentials"),
            ("account_id", "sandbox"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admitted_creates_leave_out_requests_refused_before_they_could_create() {
    let sandbox = start(quiet_args()).await;
    let client = client();
    let token = fetch_token(&client, &sandbox).await;

    let refused = create(&client, &sandbox, "not-a-token", &invite("ann@example.com")).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let created = create(&client, &sandbox, &token, &invite("ann@example.com")).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let conflict = create(&client, &sandbox, &token, &invite("ANN@example.com")).await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);

    let stats = sandbox.stats();
    assert_eq!(stats.max_create_requests_per_email, 3);
    assert_eq!(
        stats.max_admitted_creates_per_email, 2,
        "the 401 could not have created"
    );
}
