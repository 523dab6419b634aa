//! The summary printed on stderr at the end of a run.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::outcome::Status;
use crate::submit::pipeline::RunReport;
use crate::submit::stop::StopReason;

/// The facts the summary shows.
pub struct Summary<'a> {
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
    /// Where the journal is.
    pub journal: &'a Path,
    /// The journal is thrown away after the run (`--sandbox` without `--state`).
    pub throwaway_journal: bool,
}

/// Renders the summary as text.
#[must_use]
pub fn render(summary: &Summary<'_>) -> String {
    let report = summary.report;
    let seconds = report.elapsed.as_secs_f64();
    let mut text = String::new();
    let rows = if report.rows == 1 { "row" } else { "rows" };
    let _ = writeln!(
        text,
        "zoom-onboard: {} {rows} in {seconds:.1} s",
        report.rows
    );
    for status in Status::ALL {
        let _ = writeln!(
            text,
            "  {:<10} {:>7}",
            status.as_str(),
            report.count(status)
        );
    }
    if let Some(left_out) = summary.left_out {
        let _ = writeln!(
            text,
            "  {:<10} {left_out:>7}  (by --where/--skip-where; not in the results)",
            "left out"
        );
    }
    let _ = writeln!(
        text,
        "  pace       {} (limit {}/s), {} rate-limit answers",
        pace(report),
        summary.rate_limit,
        report.rate_limited
    );
    let (day, spent, quota) = &summary.quota;
    let _ = writeln!(
        text,
        "  quota      {spent} of {quota} create attempts counted on {day} (UTC), {} left",
        quota.saturating_sub(*spent)
    );
    let _ = writeln!(text, "  results    {}", summary.results.display());
    if summary.throwaway_journal {
        let _ = writeln!(
            text,
            "  journal    none kept (a sandbox run; give --state to keep one)"
        );
    } else {
        let _ = writeln!(text, "  journal    {}", summary.journal.display());
    }
    if let Some(StopReason::CredentialsRejected(reason)) = &report.stop {
        let _ = writeln!(text, "stopped: zoom rejected the credentials: {reason}");
    }
    let _ = write!(text, "{}", next_step(summary));
    text
}

/// The achieved pace, over the time creates were being sent. A run shorter than two seconds is
/// mostly its opening burst, which says nothing about the pace, so none is claimed.
fn pace(report: &RunReport) -> String {
    match report.sending {
        Some(span) if report.create_requests >= 2 && span >= Duration::from_secs(2) => {
            let per_second = (report.create_requests - 1) as f64 / span.as_secs_f64();
            format!("{per_second:.1} creates/s")
        }
        _ => "too short to measure".to_owned(),
    }
}

/// Prints the summary on stderr.
pub fn print(summary: &Summary<'_>) {
    eprint!("{}", render(summary));
}

fn next_step(summary: &Summary<'_>) -> String {
    let report = summary.report;
    let to_fix = report.count(Status::Invalid) + report.count(Status::Failed);
    let deferred = report.count(Status::Deferred);
    let mut lines = String::new();
    if matches!(report.stop, Some(StopReason::CredentialsRejected(_))) {
        lines.push_str(
            "next: fix the credentials (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, \
             or ZOOM_ACCESS_TOKEN) or the app's scopes, and run again\n",
        );
    }
    if to_fix > 0 {
        let _ = writeln!(
            lines,
            "next: {to_fix} rows need fixing: see the invalid and failed rows in {}",
            summary.results.display()
        );
    }
    if deferred > 0 {
        let _ = writeln!(
            lines,
            "next: run again for {deferred} deferred rows (after 00:00 UTC if the daily quota is spent)"
        );
    }
    if lines.is_empty() {
        lines.push_str("done: nothing left to do\n");
    }
    lines
}
