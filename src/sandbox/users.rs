//! `POST /v2/users` and `GET /v2/users/{userId}`: reading the body, deciding the answer, and
//! keeping count.
//!
//! A create is decided in this order, each step able to end it:
//!
//! 1. it is counted as received (total and per email);
//! 2. a dropped connection, then a 500/503 fault;
//! 3. the bearer token (401 code 124);
//! 4. the per-second limit (429 `QPS`);
//! 5. for `action: "create"` only, the daily quota (429 `Daily-limit`), which counts it;
//! 6. the body and its fields (400 code 300), checked with [`crate::zoom::rules`];
//! 7. the email already in the account (409 code 1005);
//! 8. the user is created; an ambiguous fault then hides that behind a 502, 504 or stall,
//!    otherwise it is a 201.
//!
//! A look-up takes steps 1 to 4, then answers 200 or 404 code 1001.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::faults::{Ambiguity, FaultKind, FaultPlan};
use super::limits::DailyVerdict;
use super::reply::{
    RateLimitHeaders, drop_connection, gateway_page, too_many_requests, validation_failed,
    with_quota_headers, zoom_error,
};
use super::state::{Shared, State as Account, TokenCheck};
use super::stats::Endpoint;
use crate::zoom::rules::{self, Action, CreateFields};
use crate::zoom::wire::{CreatedUser, FieldError, UserRecord};

/// The largest create body read. Zoom's own limit is not published; a create body is well
/// under a kilobyte.
const BODY_LIMIT: usize = 256 * 1024;

/// Zoom's message for a body that is not a JSON object.
const NOT_JSON: &str = "Request Body should be a valid JSON object.";

/// Zoom's message for a body whose fields fail validation.
const VALIDATION_FAILED: &str = "Validation Failed.";

/// Zoom's message for a per-second 429.
const QPS_MESSAGE: &str =
    "You have reached the maximum per-second rate limit for this API. Try again later.";

/// How a request's answer is given.
enum Answer {
    /// Now (after the latency, which the envelope adds).
    Now(Response),
    /// After holding the connection this long.
    After(Duration, Response),
}

/// Answers `POST /v2/users`.
pub(crate) async fn create(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let arrived = shared.started.elapsed();
    let plan = fault_plan(&request);
    let bearer = bearer_token(request.headers());
    let body = read_body(request).await;

    let answer = {
        let mut account = shared.lock();
        let email = body.as_ref().ok().and_then(email_of);
        account.counters.count_create_for(email);
        let answer = decide_create(&shared, &mut account, plan, bearer.as_deref(), body);
        let status = match &answer {
            Answer::Now(response) | Answer::After(_, response) => logged_status(response),
        };
        account.counters.log(Endpoint::Create, arrived, status);
        answer
    };

    match answer {
        Answer::Now(response) => response,
        Answer::After(stall, response) => {
            tokio::time::sleep(stall).await;
            response
        }
    }
}

/// Answers `GET /v2/users/{userId}`, by id or by email in any letter case.
pub(crate) async fn lookup(
    State(shared): State<Arc<Shared>>,
    Path(id_or_email): Path<String>,
    request: Request,
) -> Response {
    let arrived = shared.started.elapsed();
    let plan = fault_plan(&request);
    let bearer = bearer_token(request.headers());

    let mut account = shared.lock();
    account.counters.totals.lookups += 1;
    let response = admit(&shared, &mut account, plan, bearer.as_deref()).unwrap_or_else(|| {
        if let Some(user) = account.find_user(&id_or_email) {
            let record = UserRecord {
                id: user.id.clone(),
                email: user.email.clone(),
                first_name: user.text_field("first_name"),
                last_name: user.text_field("last_name"),
                display_name: user.text_field("display_name"),
                user_type: Some(
                    user.user_info
                        .get("type")
                        .and_then(Value::as_i64)
                        .unwrap_or(1),
                ),
                status: Some(user.status().to_owned()),
            };
            Json(record).into_response()
        } else {
            account.counters.totals.lookups_not_found_1001 += 1;
            zoom_error(
                StatusCode::NOT_FOUND,
                1001,
                format!("User does not exist: {id_or_email}."),
            )
        }
    });
    account
        .counters
        .log(Endpoint::Lookup, arrived, logged_status(&response));
    response
}

/// Answers any other `/v2` path as Zoom does an unknown API.
pub(crate) async fn unknown_api() -> Response {
    zoom_error(StatusCode::NOT_FOUND, 404, "Not Found.")
}

/// The status written to the arrival log: 0 for a dropped connection.
fn logged_status(response: &Response) -> u16 {
    if response
        .extensions()
        .get::<super::reply::DropConnection>()
        .is_some()
    {
        0
    } else {
        response.status().as_u16()
    }
}

/// The fault plan the envelope drew for this request; none if it drew none.
fn fault_plan(request: &Request) -> FaultPlan {
    request
        .extensions()
        .get::<FaultPlan>()
        .copied()
        .unwrap_or(FaultPlan {
            drop: false,
            error: None,
            ambiguity: None,
            latency: Duration::ZERO,
        })
}

/// Steps 2 to 4, common to every API request: faults that strike first, the token, and the
/// per-second limit. `Some` is the answer that ends the request.
fn admit(
    shared: &Shared,
    account: &mut Account,
    plan: FaultPlan,
    bearer: Option<&str>,
) -> Option<Response> {
    if plan.drop {
        account.counters.count_fault(FaultKind::Dropped);
        return Some(drop_connection());
    }
    if let Some(status) = plan.error {
        let kind = if status == StatusCode::SERVICE_UNAVAILABLE {
            FaultKind::Error503
        } else {
            FaultKind::Error500
        };
        account.counters.count_fault(kind);
        return Some(if kind == FaultKind::Error503 {
            gateway_page(status)
        } else {
            zoom_error(status, 500, "Internal Error.")
        });
    }

    let now = shared.clock.now();
    let check = bearer.map_or(TokenCheck::Unknown, |token| account.check_token(token, now));
    if check != TokenCheck::Live {
        account.counters.totals.unauthorized_124 += 1;
        let message = if check == TokenCheck::Expired {
            "Access token is expired."
        } else {
            "Invalid access token."
        };
        return Some(zoom_error(StatusCode::UNAUTHORIZED, 124, message));
    }

    if let Err(wait) = account.per_second.try_take(tokio::time::Instant::now()) {
        account.counters.totals.rate_limited_qps += 1;
        let facts = RateLimitHeaders {
            kind: "QPS",
            limit: shared.args.light_rate(),
            form: shared.args.retry_after,
            now,
            wait,
        };
        return Some(too_many_requests(facts, QPS_MESSAGE));
    }
    None
}

/// Steps 2 to 8 of a create, with the account locked.
fn decide_create(
    shared: &Shared,
    account: &mut Account,
    plan: FaultPlan,
    bearer: Option<&str>,
    body: Result<Value, Vec<FieldError>>,
) -> Answer {
    if let Some(response) = admit(shared, account, plan, bearer) {
        return Answer::Now(response);
    }

    let now = shared.clock.now();
    let is_invite = body
        .as_ref()
        .is_ok_and(|body| body.get("action").and_then(Value::as_str) == Some("create"));
    let mut quota = None;
    if is_invite {
        match account.daily.try_use(now) {
            DailyVerdict::Counted { limit, remaining } => quota = Some((limit, remaining)),
            DailyVerdict::Spent { limit, resumes_at } => {
                account.counters.totals.rate_limited_daily += 1;
                let message = format!(
                    "You have exceeded the daily rate limit of ({limit}) for User invite \
                     requests. You can resume these requests at GMT 00:00:00."
                );
                let wait = resumes_at.duration_since(now).unsigned_abs();
                let facts = RateLimitHeaders {
                    kind: "Daily-limit",
                    limit,
                    form: shared.args.retry_after,
                    now,
                    wait,
                };
                return Answer::Now(too_many_requests(facts, &message));
            }
        }
    }

    account
        .counters
        .count_admitted_create_for(body.as_ref().ok().and_then(email_of));
    let valid = match body.and_then(|body| check_body(&body)) {
        Ok(valid) => valid,
        Err(errors) => {
            account.counters.totals.validation_failures_300 += 1;
            let message = if errors.is_empty() {
                NOT_JSON
            } else {
                VALIDATION_FAILED
            };
            return Answer::Now(validation_failed(message, errors));
        }
    };

    let Some(user) = account.add_user(&valid.email, Some(valid.action), valid.user_info, now)
    else {
        account.counters.totals.conflicts_1005 += 1;
        let message = format!("User already in the account: {}", valid.email);
        return Answer::Now(zoom_error(StatusCode::CONFLICT, 1005, message));
    };
    let created = CreatedUser {
        id: user.id.clone(),
        email: user.email.clone(),
        first_name: user.text_field("first_name"),
        last_name: user.text_field("last_name"),
        user_type: user.user_info.get("type").and_then(Value::as_i64),
    };
    account.counters.totals.users_created += 1;

    match plan.ambiguity {
        Some(Ambiguity::BadGateway) => {
            account.counters.count_fault(FaultKind::Ambiguous502);
            Answer::Now(gateway_page(StatusCode::BAD_GATEWAY))
        }
        Some(Ambiguity::GatewayTimeout) => {
            account.counters.count_fault(FaultKind::Ambiguous504);
            Answer::Now(gateway_page(StatusCode::GATEWAY_TIMEOUT))
        }
        Some(Ambiguity::Stall) => {
            account.counters.count_fault(FaultKind::AmbiguousStall);
            Answer::After(
                shared.args.stall(),
                gateway_page(StatusCode::GATEWAY_TIMEOUT),
            )
        }
        None => {
            let response = (StatusCode::CREATED, Json(created)).into_response();
            Answer::Now(match quota {
                Some((limit, remaining)) => with_quota_headers(response, limit, remaining),
                None => response,
            })
        }
    }
}

/// The bearer token of an `Authorization` header.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Reads a create body, JSON or `multipart/form-data`, into one JSON value. An empty error
/// list means the body is not a JSON object at all.
async fn read_body(request: Request) -> Result<Value, Vec<FieldError>> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if is_multipart {
        return read_multipart(request).await;
    }
    let bytes = axum::body::to_bytes(request.into_body(), BODY_LIMIT)
        .await
        .map_err(|_| Vec::new())?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(body @ Value::Object(_)) => Ok(body),
        _ => Err(Vec::new()),
    }
}

/// Reads the `action` and `user_info` fields of a multipart create; `user_info` holds JSON.
async fn read_multipart(request: Request) -> Result<Value, Vec<FieldError>> {
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|_| Vec::new())?;
    let mut body = Map::new();
    while let Some(field) = form.next_field().await.map_err(|_| Vec::new())? {
        let name = field.name().unwrap_or_default().to_owned();
        let text = field.text().await.map_err(|_| Vec::new())?;
        match name.as_str() {
            "action" => {
                body.insert(name, Value::String(text));
            }
            "user_info" => {
                let user_info = serde_json::from_str(&text)
                    .map_err(|_| vec![invalid("user_info", "is not a JSON object")])?;
                body.insert(name, user_info);
            }
            _ => {}
        }
    }
    Ok(Value::Object(body))
}

/// The email a create body names, if it names one, for the per-email count.
fn email_of(body: &Value) -> Option<&str> {
    body.get("user_info")?.get("email")?.as_str()
}

/// A create body that passed every check.
struct ValidCreate {
    /// The action, in Zoom's exact spelling.
    action: Action,
    /// The email, as sent.
    email: String,
    /// The `user_info` object as received.
    user_info: Value,
}

/// Checks a create body's shape, then its fields with Zoom's rules, naming every bad field.
fn check_body(body: &Value) -> Result<ValidCreate, Vec<FieldError>> {
    let mut errors = Vec::new();

    let action = match body.get("action") {
        None | Some(Value::Null) => {
            errors.push(required("action"));
            None
        }
        Some(value) => {
            let action = value.as_str().and_then(Action::from_exact);
            if action.is_none() {
                errors.push(invalid(
                    "action",
                    "must be one of create, autoCreate, custCreate or ssoCreate, spelt exactly",
                ));
            }
            action
        }
    };

    let Some(user_info) = body.get("user_info").filter(|value| !value.is_null()) else {
        errors.push(required("user_info"));
        return Err(errors);
    };
    if !user_info.is_object() {
        errors.push(invalid("user_info", "is not an object"));
        return Err(errors);
    }

    let email = match user_info.get("email") {
        None | Some(Value::Null) => {
            errors.push(required("user_info.email"));
            None
        }
        Some(Value::String(email)) => Some(email.as_str()),
        Some(_) => {
            errors.push(invalid("user_info.email", "is not a string"));
            None
        }
    };
    let user_type = match user_info.get("type") {
        None | Some(Value::Null) => {
            errors.push(required("user_info.type"));
            None
        }
        Some(value) => {
            let number = value.as_i64();
            if number.is_none() {
                errors.push(invalid("user_info.type", "is not an integer"));
            }
            number
        }
    };
    let mut text = |name: &'static str, field: &'static str| match user_info.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(value)) => Some(value.as_str()),
        Some(_) => {
            errors.push(invalid(field, "is not a string"));
            None
        }
    };
    let first_name = text("first_name", "user_info.first_name");
    let last_name = text("last_name", "user_info.last_name");
    let display_name = text("display_name", "user_info.display_name");
    let password = text("password", "user_info.password");

    // The rules run even when the shape is wrong somewhere, with stand-ins for what is
    // missing, so that one answer names every bad field; problems of a stand-in are dropped.
    let fields = CreateFields {
        action: action.unwrap_or(Action::Create),
        user_type: user_type.unwrap_or(1),
        email: email.unwrap_or("stand-in@example.com"),
        first_name,
        last_name,
        display_name,
        password,
    };
    for problem in rules::check_create(&fields) {
        let about_stand_in = errors.iter().any(|error| error.field == problem.field)
            || (action.is_none() && problem.field == "user_info.type");
        if !about_stand_in {
            errors.push(invalid(problem.field, &problem.rule));
        }
    }

    match (action, email) {
        (Some(action), Some(email)) if errors.is_empty() => Ok(ValidCreate {
            action,
            email: email.to_owned(),
            user_info: user_info.clone(),
        }),
        _ => Err(errors),
    }
}

/// A field error for a missing field.
fn required(field: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: "Required field.".to_owned(),
    }
}

/// A field error for a field present but wrong.
fn invalid(field: &str, rule: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: format!("Invalid field: {rule}."),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields_named(body: &Value) -> Vec<String> {
        match check_body(body) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|error| error.field).collect(),
        }
    }

    #[test]
    fn a_good_body_passes() {
        let body = json!({"action": "create", "user_info": {"email": "a@b.co", "type": 1}});
        assert!(check_body(&body).is_ok());
    }

    #[test]
    fn shape_errors_name_their_fields() {
        assert_eq!(fields_named(&json!({})), ["action", "user_info"]);
        assert_eq!(
            fields_named(&json!({"action": "Create", "user_info": {"email": "a@b.co", "type": 1}})),
            ["action"]
        );
        assert_eq!(
            fields_named(
                &json!({"action": "create", "user_info": {"email": "a@b.co", "type": "1"}})
            ),
            ["user_info.type"]
        );
        assert_eq!(
            fields_named(&json!({"action": "create", "user_info": {"type": 1, "first_name": 5}})),
            ["user_info.email", "user_info.first_name"]
        );
    }

    #[test]
    fn rules_still_run_when_the_shape_is_wrong() {
        let body = json!({"action": "autoCreate", "user_info": {"email": "a@b.co", "type": "1"}});
        assert_eq!(
            fields_named(&body),
            ["user_info.type", "user_info.password"]
        );
        let body = json!({"action": "Create", "user_info": {"email": "a@b", "type": 99}});
        assert_eq!(fields_named(&body), ["action", "user_info.email"]);
    }

    #[test]
    fn rule_errors_come_from_the_shared_rules() {
        let body = json!({"action": "autoCreate", "user_info": {"email": "nope", "type": 99}});
        assert_eq!(
            fields_named(&body),
            ["user_info.email", "user_info.type", "user_info.password"]
        );
    }
}
