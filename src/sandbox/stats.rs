//! The counters that let a test prove what happened, and the log of request arrivals.
//!
//! The same numbers are served as JSON by `GET /_sandbox/stats` and returned by
//! [`super::Sandbox::stats`].

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::faults::FaultKind;

/// A snapshot of the sandbox's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxStats {
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// Token requests refused (bad client credentials, account id or grant type).
    pub tokens_refused: u64,
    /// `POST /v2/users` requests received, whatever became of them: dropped, faulted and
    /// refused ones included.
    pub create_requests: u64,
    /// The most create requests received for any one email (compared case-insensitively). More
    /// than 1 means some address was submitted more than once.
    pub max_create_requests_per_email: u64,
    /// The most create requests for any one email that got past the faults that strike first,
    /// the token check and the limits, and so reached the point where a user could be created.
    /// A client that never creates a user twice keeps this at 1 unless it resends after finding
    /// that no user exists, so at most 2 when faults make it look before resending.
    pub max_admitted_creates_per_email: u64,
    /// Users created, ambiguous creates included.
    pub users_created: u64,
    /// Creates refused with 409 code 1005 because the email was already in the account.
    pub conflicts_1005: u64,
    /// Creates refused with 400 code 300 because the body or a field was invalid.
    pub validation_failures_300: u64,
    /// API requests refused with 401 code 124.
    pub unauthorized_124: u64,
    /// `GET /v2/users/{userId}` requests received.
    pub lookups: u64,
    /// Look-ups answered 404 code 1001.
    pub lookups_not_found_1001: u64,
    /// Requests refused with 429 by the per-second limit.
    pub rate_limited_qps: u64,
    /// Creates refused with 429 by the daily quota.
    pub rate_limited_daily: u64,
    /// Faults injected, of every kind.
    pub faults_injected: u64,
    /// Faults injected, by kind.
    pub faults: FaultCounts,
    /// The daily `create` quota.
    pub daily_quota_limit: u64,
    /// Creates counted against the quota on the sandbox's current UTC day.
    pub daily_quota_used: u64,
}

/// Faults injected, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultCounts {
    /// Connections closed without an answer.
    pub dropped: u64,
    /// 500 answers given before doing anything.
    pub error_500: u64,
    /// 503 answers given before doing anything.
    pub error_503: u64,
    /// Users created and then answered with 502.
    pub ambiguous_502: u64,
    /// Users created and then answered with 504.
    pub ambiguous_504: u64,
    /// Users created and then answered only after a stall.
    pub ambiguous_stall: u64,
}

/// Which endpoint a logged request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST /oauth/token`.
    Token,
    /// `POST /v2/users`.
    Create,
    /// `GET /v2/users/{userId}`.
    Lookup,
}

/// One request in the arrival log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The endpoint called.
    pub endpoint: Endpoint,
    /// When the request arrived, measured from the sandbox's start on the monotonic clock.
    pub arrived: Duration,
    /// The HTTP status answered, or 0 when the connection was dropped without one.
    pub status: u16,
}

/// The mutable counters behind [`SandboxStats`], kept inside the sandbox's state lock.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Everything but the per-email counts and the quota, which live elsewhere.
    pub(crate) totals: SandboxStats,
    /// Create requests per lowercased email.
    pub(crate) per_email: HashMap<String, u64>,
    /// Admitted create requests per lowercased email; see
    /// [`SandboxStats::max_admitted_creates_per_email`].
    pub(crate) admitted_per_email: HashMap<String, u64>,
    /// Every token, create and look-up request, in order of arrival. It grows by one small
    /// record a request, which a rehearsal of tens of thousands of rows can afford.
    pub(crate) log: Vec<RequestRecord>,
}

impl Counters {
    /// Counts a create request for an email.
    pub(crate) fn count_create_for(&mut self, email: Option<&str>) {
        self.totals.create_requests += 1;
        if let Some(email) = email {
            let count = self.per_email.entry(email.to_lowercase()).or_default();
            *count += 1;
            self.totals.max_create_requests_per_email =
                self.totals.max_create_requests_per_email.max(*count);
        }
    }

    /// Counts a create request that was admitted to the point where it could create a user.
    pub(crate) fn count_admitted_create_for(&mut self, email: Option<&str>) {
        if let Some(email) = email {
            let count = self
                .admitted_per_email
                .entry(email.to_lowercase())
                .or_default();
            *count += 1;
            self.totals.max_admitted_creates_per_email =
                self.totals.max_admitted_creates_per_email.max(*count);
        }
    }

    /// Counts an injected fault.
    pub(crate) fn count_fault(&mut self, kind: FaultKind) {
        self.totals.faults_injected += 1;
        let faults = &mut self.totals.faults;
        let counter = match kind {
            FaultKind::Dropped => &mut faults.dropped,
            FaultKind::Error500 => &mut faults.error_500,
            FaultKind::Error503 => &mut faults.error_503,
            FaultKind::Ambiguous502 => &mut faults.ambiguous_502,
            FaultKind::Ambiguous504 => &mut faults.ambiguous_504,
            FaultKind::AmbiguousStall => &mut faults.ambiguous_stall,
        };
        *counter += 1;
    }

    /// Logs a request's arrival and the status it got.
    pub(crate) fn log(&mut self, endpoint: Endpoint, arrived: Duration, status: u16) {
        self.log.push(RequestRecord {
            endpoint,
            arrived,
            status,
        });
    }
}
