//! The summary of a run: built once from the run's report, then rendered as text on stderr and,
//! with `--summary-json`, as a JSON file for automation. Both show the same facts, since both
//! come from one [`Summary`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::outcome::Status;
use crate::submit::pipeline::RunReport;
use crate::submit::stop::StopReason;

/// What the run knew besides its report, to build the summary from.
pub struct Facts<'a> {
    /// The run's report.
    pub report: &'a RunReport,
    /// The per-second limit in force at the start.
    pub rate_limit: u32,
    /// The UTC day, creates spent on it, and the daily quota.
    pub quota: (jiff::civil::Date, u64, u64),
    /// Rows `--where` and `--skip-where` left out; `None` when neither was given.
    pub left_out: Option<u64>,
    /// Where the results went.
    pub results: &'a Path,
    /// Where the failures went, when they were written.
    pub failures: Option<&'a Path>,
    /// Where the journal is; `None` when it is thrown away after the run (`--sandbox` without
    /// `--state`).
    pub journal: Option<&'a Path>,
    /// The exit code the run ends with.
    pub exit_code: u8,
}

/// The facts of a finished run, as the summary shows them.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Data rows accounted for in the results.
    pub rows: u64,
    /// Rows by final status.
    pub counts: Counts,
    /// Rows `--where` and `--skip-where` left out, when either was given; not in the results.
    pub left_out: Option<u64>,
    /// Wall time of the run, in seconds.
    pub elapsed_seconds: f64,
    /// The pace creates were sent at, per second; `None` when the run was too short to say.
    pub creates_per_second: Option<f64>,
    /// The per-second limit in force at the start.
    pub rate_limit: u32,
    /// Create calls sent.
    pub create_requests: u64,
    /// Look-up calls sent.
    pub lookups: u64,
    /// Rate-limit answers (429) received.
    pub rate_limited: u64,
    /// The daily create quota.
    pub quota: Quota,
    /// The results file.
    pub results: PathBuf,
    /// The failures file, when one was written.
    pub failures: Option<PathBuf>,
    /// The journal; `None` when none is kept.
    pub journal: Option<PathBuf>,
    /// Why the run stopped early, if it did.
    pub stop: Option<Stop>,
    /// The journal could not be written: what went wrong.
    pub journal_error: Option<String>,
    /// What to do next, one instruction a line.
    pub next: Vec<String>,
    /// The exit code the run ends with.
    pub exit_code: u8,
}

/// Rows by final status, every status present.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// `created` rows.
    pub created: u64,
    /// `exists` rows.
    pub exists: u64,
    /// `skipped` rows.
    pub skipped: u64,
    /// `duplicate` rows.
    pub duplicate: u64,
    /// `invalid` rows.
    pub invalid: u64,
    /// `failed` rows.
    pub failed: u64,
    /// `deferred` rows.
    pub deferred: u64,
}

impl Counts {
    fn of(report: &RunReport) -> Counts {
        Counts {
            created: report.count(Status::Created),
            exists: report.count(Status::Exists),
            skipped: report.count(Status::Skipped),
            duplicate: report.count(Status::Duplicate),
            invalid: report.count(Status::Invalid),
            failed: report.count(Status::Failed),
            deferred: report.count(Status::Deferred),
        }
    }

    /// The count for `status`.
    #[must_use]
    pub fn get(&self, status: Status) -> u64 {
        match status {
            Status::Created => self.created,
            Status::Exists => self.exists,
            Status::Skipped => self.skipped,
            Status::Duplicate => self.duplicate,
            Status::Invalid => self.invalid,
            Status::Failed => self.failed,
            Status::Deferred => self.deferred,
        }
    }
}

/// The day's create quota as the run left it.
#[derive(Debug, Clone, Serialize)]
pub struct Quota {
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// Create attempts counted against it.
    pub used: u64,
    /// The daily limit.
    pub limit: u64,
    /// What is left of it.
    pub left: u64,
}

/// Why a run stopped early.
#[derive(Debug, Clone, Serialize)]
pub struct Stop {
    /// `credentials_rejected`, `unavailable` or `interrupted`.
    pub reason: &'static str,
    /// The words behind it.
    pub detail: String,
}

impl Summary {
    /// Builds the summary from what the run knew.
    #[must_use]
    pub fn new(facts: &Facts<'_>) -> Summary {
        let report = facts.report;
        let (day, used, limit) = facts.quota;
        let stop = report.stop.as_ref().map(|reason| match reason {
            StopReason::CredentialsRejected(detail) => Stop {
                reason: "credentials_rejected",
                detail: format!("zoom rejected the credentials: {detail}"),
            },
            StopReason::Unavailable(detail) => Stop {
                reason: "unavailable",
                detail: detail.clone(),
            },
            StopReason::Interrupted => Stop {
                reason: "interrupted",
                detail: "the run was stopped (Ctrl-C or SIGTERM)".to_owned(),
            },
        });
        let mut summary = Summary {
            rows: report.rows,
            counts: Counts::of(report),
            left_out: facts.left_out,
            elapsed_seconds: (report.elapsed.as_secs_f64() * 10.0).round() / 10.0,
            creates_per_second: pace(report),
            rate_limit: facts.rate_limit,
            create_requests: report.create_requests,
            lookups: report.lookups,
            rate_limited: report.rate_limited,
            quota: Quota {
                day: day.to_string(),
                used,
                limit,
                left: limit.saturating_sub(used),
            },
            results: facts.results.to_owned(),
            failures: facts.failures.map(Path::to_owned),
            journal: facts.journal.map(Path::to_owned),
            stop,
            journal_error: report.journal_error.clone(),
            next: Vec::new(),
            exit_code: facts.exit_code,
        };
        summary.next = next_steps(&summary);
        summary
    }

    /// The summary as text, for stderr.
    #[must_use]
    pub fn render(&self) -> String {
        let mut text = String::new();
        let rows = if self.rows == 1 { "row" } else { "rows" };
        let _ = writeln!(
            text,
            "zoom-onboard: {} {rows} in {:.1} s",
            self.rows, self.elapsed_seconds
        );
        for status in Status::ALL {
            let _ = writeln!(
                text,
                "  {:<10} {:>7}",
                status.as_str(),
                self.counts.get(status)
            );
        }
        if let Some(left_out) = self.left_out {
            let _ = writeln!(
                text,
                "  {:<10} {left_out:>7}  (by --where/--skip-where; not in the results)",
                "left out"
            );
        }
        let pace = self.creates_per_second.map_or_else(
            || "too short to measure".to_owned(),
            |pace| format!("{pace:.1} creates/s"),
        );
        let _ = writeln!(
            text,
            "  pace       {pace} (limit {}/s), {} rate-limit answers",
            self.rate_limit, self.rate_limited
        );
        let _ = writeln!(
            text,
            "  quota      {} of {} create attempts counted on {} (UTC), {} left",
            self.quota.used, self.quota.limit, self.quota.day, self.quota.left
        );
        let _ = writeln!(text, "  results    {}", self.results.display());
        if let Some(failures) = &self.failures {
            let _ = writeln!(text, "  failures   {}", failures.display());
        }
        match &self.journal {
            Some(journal) => {
                let _ = writeln!(text, "  journal    {}", journal.display());
            }
            None => {
                let _ = writeln!(
                    text,
                    "  journal    none kept (a sandbox run; give --state to keep one)"
                );
            }
        }
        if let Some(stop) = &self.stop {
            let _ = writeln!(text, "stopped: {}", stop.detail);
        }
        for line in &self.next {
            let _ = writeln!(text, "{line}");
        }
        text
    }

    /// The summary as pretty-printed JSON, with a final newline.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).unwrap_or_default();
        json.push('\n');
        json
    }
}

/// The achieved pace, over the time creates were being sent. A run shorter than two seconds is
/// mostly its opening burst, which says nothing about the pace, so none is claimed.
fn pace(report: &RunReport) -> Option<f64> {
    match report.sending {
        Some(span) if report.create_requests >= 2 && span >= Duration::from_secs(2) => {
            let per_second = (report.create_requests - 1) as f64 / span.as_secs_f64();
            Some((per_second * 10.0).round() / 10.0)
        }
        _ => None,
    }
}

fn next_steps(summary: &Summary) -> Vec<String> {
    let counts = &summary.counts;
    let to_fix = counts.invalid + counts.failed;
    let mut lines = Vec::new();
    if summary
        .stop
        .as_ref()
        .is_some_and(|stop| stop.reason == "credentials_rejected")
    {
        lines.push(
            "next: fix the credentials (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, \
             or ZOOM_ACCESS_TOKEN) or the app's scopes, and run again"
                .to_owned(),
        );
    }
    if to_fix > 0 {
        let rows = if to_fix == 1 {
            "row needs"
        } else {
            "rows need"
        };
        lines.push(match &summary.failures {
            Some(failures) => format!(
                "next: {to_fix} {rows} fixing: see {}; once fixed, run it as the roster",
                failures.display()
            ),
            None => format!(
                "next: {to_fix} {rows} fixing: see the invalid and failed rows in {}",
                summary.results.display()
            ),
        });
    }
    if counts.deferred > 0 {
        lines.push(format!(
            "next: run again for {} deferred rows (after 00:00 UTC if the daily quota is spent)",
            counts.deferred
        ));
    }
    if lines.is_empty() {
        lines.push("done: nothing left to do".to_owned());
    }
    lines
}
