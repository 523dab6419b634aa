//! One hire's submission: every attempt it takes, and the outcome rules that end it.
//!
//! Before its first create, a submission marks its hire in flight in the journal, with the unit
//! of daily quota the create spends, and waits until both are on disk, so that a crash at any
//! moment leaves a record that the create may have gone out. Each attempt then follows one order: stop check, look-up if an earlier attempt may
//! have created the user, quota, pacing, send, and reading the answer. The rules, from
//! `shared/zoom-api.md`:
//!
//! - a 2xx with a non-empty `id` is `created`; nothing else is;
//! - 409 code 1005 is `exists`, with the id looked up;
//! - a per-second 429 pauses the whole pool and is tried again;
//! - a daily 429 ends creates for the day: `deferred`;
//! - a 5xx, a timeout or a broken connection is tried again with backoff, up to the attempt
//!   limit, then `deferred`; when Zoom may have acted, the email is looked up before any resend,
//!   so a user is never created twice;
//! - 401 code 124 renews the shared token and tries again;
//! - any other refusal is `failed` with Zoom's code and words.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use tracing::Instrument as _;

use super::daily::{DailyBudget, Grant};
use super::events::Progress;
use super::pacer::Pacer;
use super::recorder::RecordSender;
use super::stop::{RunStop, StopReason};
use crate::journal::JournalWrite;
use crate::outcome::{Outcome, Status};
use crate::roster::Hire;
use crate::zoom::auth::AuthError;
use crate::zoom::client::{
    Answer, ApiError, CODE_USER_EXISTS, CODES_MISSING_SCOPE, Created, RateLimited, Transient,
    ZoomClient,
};
use crate::zoom::rate_limit::RateLimitKind;
use crate::zoom::wire::CreateUserRequest;

/// How many per-second 429s one submission takes before it gives up for this run. They do not
/// count as failed attempts, since Zoom asked us to wait rather than refusing the request.
const MAX_RATE_LIMITED: u32 = 12;

/// The longest pause a per-second 429 may impose on the pool. Zoom's per-second waits are a
/// second or two; a `Retry-After` of minutes or hours is not waited out.
const MAX_PAUSE: Duration = Duration::from_secs(60);

/// How many times one submission renews a refused token before giving up.
const MAX_TOKEN_RENEWALS: u32 = 3;

/// Counters kept across the whole run, for the summary and for tests.
#[derive(Debug, Default)]
pub struct Tally {
    /// Create calls sent.
    pub create_requests: AtomicU64,
    /// When the first and the latest create were sent.
    sent_between: std::sync::Mutex<Option<(tokio::time::Instant, tokio::time::Instant)>>,
    /// Look-up calls sent.
    pub lookups: AtomicU64,
    /// 429s received, of either kind.
    pub rate_limited: AtomicU64,
}

impl Tally {
    /// Counts a create about to be sent.
    fn count_create(&self) {
        self.create_requests.fetch_add(1, Ordering::Relaxed);
        let now = tokio::time::Instant::now();
        let mut sent = self
            .sent_between
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *sent = Some(sent.map_or((now, now), |(first, _)| (first, now)));
    }

    /// From the first create sent to the latest, when any were.
    #[must_use]
    pub fn sending(&self) -> Option<Duration> {
        self.sent_between
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .map(|(first, last)| last - first)
    }
}

/// What every submission shares: the client, the pace, the quota and the stop signal.
pub struct Submitter {
    /// The Zoom client and its one token.
    pub client: ZoomClient,
    /// The pool's pace.
    pub pacer: Pacer,
    /// The day's create quota.
    pub budget: DailyBudget,
    /// Failed attempts (5xx, timeouts, broken connections) before a hire is deferred.
    pub max_attempts: u32,
    /// Wait for the daily quota to come back at 00:00 UTC instead of deferring.
    pub wait_for_quota: bool,
    /// The run's stop signal.
    pub stop: RunStop,
    /// Where in-flight marks go.
    pub record: RecordSender,
    /// Run-wide counters.
    pub tally: Tally,
    /// Where pauses and quota deferrals are reported.
    pub progress: Arc<dyn Progress>,
}

/// One hire to submit, with what the journal said about it.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The hire.
    pub hire: Hire,
    /// The hash of the row's content, recorded with the hire.
    pub content_hash: String,
    /// An earlier run may have created the user already: look it up before the first create.
    pub unsure: bool,
}

/// How a submission ended.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The outcome for the results.
    pub outcome: Outcome,
    /// The outcome is `deferred`, but Zoom may have created the user: the journal keeps the
    /// hire in flight so the next run looks it up first.
    pub may_exist: bool,
}

/// The progress of one submission.
struct Attempts {
    /// Create calls sent for this hire.
    sent: u32,
    /// Transient failures met.
    failures: u32,
    /// Per-second 429s met.
    rate_limited: u32,
    /// Tokens renewed after a 401 code 124.
    renewals: u32,
    /// Whether an earlier attempt may have created the user.
    unsure: bool,
    /// The last answer's HTTP status and Zoom code, for a deferred outcome.
    last_http_status: Option<u16>,
    last_zoom_code: Option<i64>,
}

/// How a look-up went.
enum Lookup {
    Found(String),
    NotFound,
    Failed(String),
}

impl Submitter {
    /// Submits one hire. Never fails: every path ends in an outcome.
    ///
    /// Everything logged on the way is inside a `row` span carrying the roster row number and
    /// the number of the attempt in progress.
    pub async fn submit(&self, submission: &Submission) -> Submitted {
        let span = tracing::info_span!(
            "row",
            row = submission.hire.row,
            attempt = tracing::field::Empty
        );
        self.submit_in_span(submission).instrument(span).await
    }

    async fn submit_in_span(&self, submission: &Submission) -> Submitted {
        let mut attempts = Attempts {
            sent: 0,
            failures: 0,
            rate_limited: 0,
            renewals: 0,
            unsure: submission.unsure,
            last_http_status: None,
            last_zoom_code: None,
        };
        let outcome = self.attempt_until_settled(submission, &mut attempts).await;
        Submitted {
            may_exist: attempts.unsure && outcome.status == Status::Deferred,
            outcome,
        }
    }

    async fn attempt_until_settled(
        &self,
        submission: &Submission,
        attempts: &mut Attempts,
    ) -> Outcome {
        let hire = &submission.hire;
        let request = CreateUserRequest {
            action: hire.action,
            user_info: hire.user_info.clone(),
        };
        let mut marked = false;
        loop {
            if let Some(outcome) = self.before_attempt(hire, attempts).await {
                return outcome;
            }
            let day = match self.budget.take(hire.action) {
                Grant::Granted { day } => day,
                Grant::Spent { until_reset, .. } => {
                    if self.wait_for_quota && self.wait_for_reset(until_reset).await {
                        continue;
                    }
                    return self.deferred_for_quota(hire, attempts, quota_spent_message(hire));
                }
            };
            if !self.record_attempt(submission, day, !marked).await {
                self.budget.give_back(hire.action, day);
                let reason = "the journal could not be written".to_owned();
                self.stop.stop(StopReason::Unavailable(reason.clone()));
                return self.deferred(hire, attempts, format!("not sent: {reason}"));
            }
            marked = true;
            self.pacer.ready().await;
            // The wait may have been long: the run may have stopped, or Zoom may have closed
            // the day for this action, meanwhile.
            if let Some(reason) = self.stop.reason() {
                self.budget.give_back(hire.action, day);
                return self.deferred(hire, attempts, reason.unsent_message());
            }
            if self.budget.is_stopped(hire.action) {
                self.budget.give_back(hire.action, day);
                return self.deferred_for_quota(hire, attempts, quota_spent_message(hire));
            }
            attempts.sent += 1;
            tracing::Span::current().record("attempt", attempts.sent);
            self.tally.count_create();
            tracing::debug!("sending create");
            let answer = self.client.create_user(&request).await;
            if let Some(outcome) = self.read_answer(hire, attempts, day, answer).await {
                return outcome;
            }
        }
    }

    /// Puts on disk what must be there before a create goes out: the hire's in-flight mark
    /// (before its first create) and the unit of the day's quota the create spends.
    async fn record_attempt(
        &self,
        submission: &Submission,
        day: jiff::civil::Date,
        first: bool,
    ) -> bool {
        let hire = &submission.hire;
        let mut writes = Vec::with_capacity(2);
        if first {
            writes.push(JournalWrite::InFlight {
                email_key: hire.email_key.clone(),
                row: hire.row,
                email: hire.user_info.email.clone(),
                content_hash: submission.content_hash.clone(),
                at: jiff::Timestamp::now(),
            });
        }
        if hire.action.uses_daily_quota() {
            writes.push(JournalWrite::QuotaSpent { day, count: 1 });
        }
        writes.is_empty() || self.record.commit(writes).await
    }

    /// Sleeps until the daily quota comes back; `false` if the run stopped meanwhile.
    async fn wait_for_reset(&self, until_reset: Duration) -> bool {
        if self.budget.first_to_wait() {
            tracing::warn!(
                wait_seconds = until_reset.as_secs(),
                "daily create quota reached: waiting until 00:00 UTC (--wait-for-quota)"
            );
            self.progress.waiting_for_quota(until_reset);
        }
        // A second past midnight, so that Zoom's day has certainly turned too.
        tokio::select! {
            () = tokio::time::sleep(until_reset + Duration::from_secs(1)) => true,
            () = self.stop.stopped() => false,
        }
    }

    /// Checks what must be settled before an attempt: a stop, and whether an earlier ambiguous
    /// attempt already created the user.
    async fn before_attempt(&self, hire: &Hire, attempts: &mut Attempts) -> Option<Outcome> {
        if let Some(reason) = self.stop.reason() {
            return Some(self.deferred(hire, attempts, reason.unsent_message()));
        }
        if !attempts.unsure {
            return None;
        }
        match self.look_up(&hire.user_info.email).await {
            Lookup::Found(user_id) => Some(Outcome {
                user_id: Some(user_id),
                message: "created (confirmed by look-up after an unclear answer)".to_owned(),
                ..self.outcome(hire, attempts, Status::Created)
            }),
            Lookup::NotFound => {
                attempts.unsure = false;
                None
            }
            Lookup::Failed(reason) => Some(self.deferred(
                hire,
                attempts,
                format!(
                    "may have been created: an attempt got no clear answer and the look-up \
                     failed ({reason}); the next run looks it up before sending"
                ),
            )),
        }
    }

    /// Reads one create answer: `Some` ends the submission, `None` tries again.
    async fn read_answer(
        &self,
        hire: &Hire,
        attempts: &mut Attempts,
        day: jiff::civil::Date,
        answer: Result<Answer<Created>, AuthError>,
    ) -> Option<Outcome> {
        let answer = match answer {
            Ok(answer) => answer,
            Err(AuthError::Rejected { reason }) => {
                attempts.sent -= 1;
                self.budget.give_back(hire.action, day);
                self.stop.stop(StopReason::CredentialsRejected(reason));
                return None;
            }
            Err(AuthError::Unavailable { reason }) => {
                // No token, so nothing was sent.
                attempts.sent -= 1;
                self.budget.give_back(hire.action, day);
                return self
                    .after_failure(
                        hire,
                        attempts,
                        Transient {
                            http_status: None,
                            reason,
                            ambiguous: false,
                        },
                    )
                    .await;
            }
        };
        match answer {
            Answer::Success(created) => Some(Outcome {
                user_id: Some(created.user.id),
                http_status: Some(created.http_status),
                message: "created".to_owned(),
                ..self.outcome(hire, attempts, Status::Created)
            }),
            Answer::Refused(refusal) => Some(self.refused(hire, attempts, refusal).await),
            Answer::TokenRefused { generation } => {
                self.budget.give_back(hire.action, day);
                attempts.last_http_status = Some(401);
                attempts.last_zoom_code = Some(crate::zoom::client::CODE_INVALID_TOKEN);
                attempts.renewals += 1;
                if attempts.renewals > MAX_TOKEN_RENEWALS {
                    // Fresh tokens refused one after another: the app or account is wrong,
                    // not the token's age.
                    self.stop.stop(StopReason::CredentialsRejected(
                        "zoom refuses every access token it issues (401 code 124)".to_owned(),
                    ));
                    return None;
                }
                if let Err(AuthError::Rejected { reason } | AuthError::Unavailable { reason }) =
                    self.client.tokens().renew_after_refusal(generation).await
                {
                    self.stop.stop(StopReason::CredentialsRejected(reason));
                }
                None
            }
            Answer::RateLimited(limited) => self.rate_limited(hire, attempts, day, &limited),
            Answer::Transient(transient) => self.after_failure(hire, attempts, transient).await,
        }
    }

    async fn refused(&self, hire: &Hire, attempts: &mut Attempts, refusal: ApiError) -> Outcome {
        attempts.last_http_status = Some(refusal.http_status);
        attempts.last_zoom_code = refusal.code;
        tracing::debug!(
            http_status = refusal.http_status,
            zoom_code = refusal.code,
            tracking_id = refusal.tracking_id.as_deref().unwrap_or(""),
            "zoom refused the create"
        );
        if refusal.http_status == 409 && refusal.code == Some(CODE_USER_EXISTS) {
            let (user_id, message) = match self.look_up(&hire.user_info.email).await {
                Lookup::Found(user_id) => (Some(user_id), "already a user of this account"),
                Lookup::NotFound | Lookup::Failed(_) => (
                    None,
                    "already a user of this account (its id could not be looked up)",
                ),
            };
            return Outcome {
                user_id,
                message: message.to_owned(),
                ..self.outcome(hire, attempts, Status::Exists)
            };
        }
        if refusal
            .code
            .is_some_and(|code| CODES_MISSING_SCOPE.contains(&code))
        {
            // The app's setup is wrong, not the row: stop, and leave the row for a later run.
            let reason = format!(
                "the token lacks the scope to create users: {}",
                refusal.message
            );
            self.stop
                .stop(StopReason::CredentialsRejected(reason.clone()));
            return Outcome {
                message: format!("not created: {reason}"),
                ..self.outcome(hire, attempts, Status::Deferred)
            };
        }
        Outcome {
            message: refusal.message,
            ..self.outcome(hire, attempts, Status::Failed)
        }
    }

    fn rate_limited(
        &self,
        hire: &Hire,
        attempts: &mut Attempts,
        day: jiff::civil::Date,
        limited: &RateLimited,
    ) -> Option<Outcome> {
        self.tally.rate_limited.fetch_add(1, Ordering::Relaxed);
        attempts.last_http_status = Some(429);
        attempts.last_zoom_code = Some(429);
        if limited.kind == RateLimitKind::Daily {
            tracing::debug!(action = %hire.action, "daily limit reached at zoom");
            self.budget.stop_for_today(hire.action);
            return Some(self.deferred_for_quota(
                hire,
                attempts,
                format!(
                    "zoom refused it: the daily {} limit is reached (429); it goes after 00:00 UTC",
                    hire.action
                ),
            ));
        }
        self.budget.give_back(hire.action, day);
        attempts.rate_limited += 1;
        let asked = limited.retry_after;
        if let Some(asked) = asked.filter(|asked| *asked > MAX_PAUSE) {
            // A per-second limit that asks for minutes is not one the run can wait out.
            self.pause_pool(MAX_PAUSE);
            return Some(self.deferred(
                hire,
                attempts,
                format!(
                    "zoom's per-second limit asked to wait {} s; the next run tries again",
                    asked.as_secs()
                ),
            ));
        }
        let wait = asked.unwrap_or_else(|| backoff(attempts.rate_limited));
        tracing::debug!(
            wait_ms = wait.as_millis() as u64,
            limit = limited.limit,
            "per-second limit reached at zoom: pausing the pool"
        );
        self.pause_pool(wait);
        let lower = limited.limit.map_or(self.pacer.rate() * 3 / 4, |limit| {
            limit.min(u64::from(u32::MAX)) as u32
        });
        self.pacer.lower_rate(lower);
        if attempts.rate_limited > MAX_RATE_LIMITED {
            return Some(self.deferred(
                hire,
                attempts,
                "zoom's per-second limit kept refusing it; the next run tries again".to_owned(),
            ));
        }
        None
    }

    async fn after_failure(
        &self,
        hire: &Hire,
        attempts: &mut Attempts,
        transient: Transient,
    ) -> Option<Outcome> {
        attempts.failures += 1;
        attempts.unsure |= transient.ambiguous;
        if transient.http_status.is_some() {
            attempts.last_http_status = transient.http_status;
            attempts.last_zoom_code = None;
        }
        tracing::debug!(
            failures = attempts.failures,
            ambiguous = transient.ambiguous,
            reason = %transient.reason,
            "attempt failed"
        );
        if attempts.failures < self.max_attempts {
            tokio::time::sleep(backoff(attempts.failures)).await;
            return None;
        }
        if attempts.unsure
            && let Lookup::Found(user_id) = self.look_up(&hire.user_info.email).await
        {
            return Some(Outcome {
                user_id: Some(user_id),
                message: "created (confirmed by look-up after an unclear answer)".to_owned(),
                ..self.outcome(hire, attempts, Status::Created)
            });
        }
        Some(self.deferred(
            hire,
            attempts,
            format!(
                "gave up after {} failed attempts ({}); the next run tries again",
                attempts.failures, transient.reason
            ),
        ))
    }

    /// Looks an email up, with its own paced attempts and backoff.
    async fn look_up(&self, email: &str) -> Lookup {
        let mut failures = 0;
        let mut last_reason = String::new();
        while failures < self.max_attempts {
            if let Some(reason) = self.stop.reason() {
                return Lookup::Failed(reason.unsent_message());
            }
            self.pacer.ready().await;
            self.tally.lookups.fetch_add(1, Ordering::Relaxed);
            let answer = match self.client.get_user(email).await {
                Ok(answer) => answer,
                Err(error) => {
                    if let AuthError::Rejected { reason } = &error {
                        self.stop
                            .stop(StopReason::CredentialsRejected(reason.clone()));
                    }
                    Answer::Transient(Transient {
                        http_status: None,
                        reason: error.to_string(),
                        ambiguous: false,
                    })
                }
            };
            match answer {
                Answer::Success(Some(record)) => return Lookup::Found(record.id),
                Answer::Success(None) => return Lookup::NotFound,
                Answer::Refused(refusal) => return Lookup::Failed(refusal.to_string()),
                Answer::TokenRefused { generation } => {
                    failures += 1;
                    "the access token was refused".clone_into(&mut last_reason);
                    if let Err(error) = self.client.tokens().renew_after_refusal(generation).await {
                        self.stop
                            .stop(StopReason::CredentialsRejected(error.to_string()));
                    }
                }
                Answer::RateLimited(limited) => {
                    self.tally.rate_limited.fetch_add(1, Ordering::Relaxed);
                    failures += 1;
                    last_reason = limited.message;
                    self.pause_pool(limited.retry_after.unwrap_or_else(|| backoff(failures)));
                }
                Answer::Transient(transient) => {
                    failures += 1;
                    last_reason = transient.reason;
                    tokio::time::sleep(backoff(failures)).await;
                }
            }
        }
        Lookup::Failed(last_reason)
    }

    fn outcome(&self, hire: &Hire, attempts: &Attempts, status: Status) -> Outcome {
        let _ = self;
        Outcome {
            row: hire.row,
            email: hire.user_info.email.clone(),
            status,
            user_id: None,
            http_status: attempts.last_http_status,
            zoom_code: attempts.last_zoom_code,
            message: String::new(),
            attempts: attempts.sent,
        }
    }

    /// Holds the whole pool back for `wait`, and says so.
    fn pause_pool(&self, wait: Duration) {
        self.pacer.pause_for(wait);
        self.progress.paused(wait);
    }

    /// A `deferred` outcome because the day's create quota is spent, reported as such.
    fn deferred_for_quota(&self, hire: &Hire, attempts: &Attempts, message: String) -> Outcome {
        self.progress.deferred_for_quota(self.budget.until_reset());
        self.deferred(hire, attempts, message)
    }

    fn deferred(&self, hire: &Hire, attempts: &Attempts, message: String) -> Outcome {
        Outcome {
            message,
            ..self.outcome(hire, attempts, Status::Deferred)
        }
    }
}

fn quota_spent_message(hire: &Hire) -> String {
    format!(
        "not sent: the daily {} quota is used up; it goes after 00:00 UTC",
        hire.action
    )
}

/// Exponential backoff with jitter: about 0.5 s, 1 s, 2 s … capped at 30 s, each drawn from
/// the upper half of its range so that refused workers do not return in step.
fn backoff(failures: u32) -> Duration {
    let ceiling = Duration::from_millis(500)
        .saturating_mul(1 << failures.saturating_sub(1).min(10))
        .min(Duration::from_secs(30));
    ceiling.mul_f64(rand::rng().random_range(0.5..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(500));
        assert!(backoff(3) >= Duration::from_secs(1));
        assert!(backoff(40) <= Duration::from_secs(30));
    }
}
