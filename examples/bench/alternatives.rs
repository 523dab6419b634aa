//! Scenario 5, side by side: the same roster through a `curl` loop as Zoom's sample code writes
//! it, through `xargs -P 16 curl` with no limiter, and through zoom-onboard, each against a
//! fresh sandbox at the business plan with 150 ms of latency.
//!
//! "Rows with no record" counts rows whose fate cannot be told from what each approach kept:
//! for the shell loops, their captured stdout (Zoom's answer to a create names the email only
//! when it succeeds; a 429 body does not say which row it refused); for zoom-onboard, its
//! results file.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use zoom_onboard::sandbox::{Plan, Sandbox, SandboxArgs};

use crate::pace::{Setting, pace_run};
use crate::process::{Tools, run_timed, timed_command, write_roster};

/// Fetches a token the way Zoom's Server-to-Server OAuth guide shows it, with curl.
const TOKEN: &str = r#"TOKEN=$(curl -s -X POST -u "$ZOOM_CLIENT_ID:$ZOOM_CLIENT_SECRET" \
  -d grant_type=account_credentials -d account_id="$ZOOM_ACCOUNT_ID" "$ZOOM_OAUTH_URL" \
  | sed -E 's/.*"access_token":"([^"]*)".*/\1/')"#;

/// One create a row, one after another, answers printed as they come.
const SEQUENTIAL: &str = r#"tail -n +2 roster.csv | while IFS=, read -r email first last type _; do
  curl -s -X POST "$ZOOM_API_URL/users" \
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    -d "{\"action\":\"create\",\"user_info\":{\"email\":\"$email\",\"first_name\":\"$first\",\"last_name\":\"$last\",\"type\":$type}}"
  echo
done > log.txt"#;

/// Sixteen creates at a time, no limiter, answers printed as they come.
const PARALLEL: &str = r#"export TOKEN
tail -n +2 roster.csv | cut -d, -f1-4 | tr , ' ' | xargs -P 16 -n 4 sh -c '
  curl -s -X POST "$ZOOM_API_URL/users" \
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    -d "{\"action\":\"create\",\"user_info\":{\"email\":\"$1\",\"first_name\":\"$2\",\"last_name\":\"$3\",\"type\":$4}}"
  echo' sh > log.txt"#;

/// The approaches compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approach {
    /// [`SEQUENTIAL`].
    CurlLoop,
    /// [`PARALLEL`].
    XargsCurl,
    /// `zoom-onboard run --plan business`.
    ZoomOnboard,
}

impl Approach {
    /// Every approach, in the order the report lists them.
    pub const ALL: [Approach; 3] = [
        Approach::CurlLoop,
        Approach::XargsCurl,
        Approach::ZoomOnboard,
    ];

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Approach::CurlLoop => "sequential `curl` loop",
            Approach::XargsCurl => "`xargs -P 16 curl`",
            Approach::ZoomOnboard => "zoom-onboard",
        }
    }

    /// The shell script it runs, for the report; zoom-onboard's command is shown elsewhere.
    pub fn script(self) -> Option<String> {
        match self {
            Approach::CurlLoop => Some(format!("{TOKEN}\n{SEQUENTIAL}")),
            Approach::XargsCurl => Some(format!("{TOKEN}\n{PARALLEL}")),
            Approach::ZoomOnboard => None,
        }
    }
}

/// One run of one approach.
#[derive(Debug, Clone)]
pub struct SideRun {
    /// Roster rows.
    pub rows: usize,
    /// Roster rows a second, start to finish.
    pub rows_per_second: f64,
    /// 429s the sandbox sent.
    pub rejected_429: u64,
    /// Roster rows that are not users at the end.
    pub not_created: u64,
    /// Roster rows whose fate the approach kept no record of.
    pub no_record: u64,
    /// Wall time, seconds.
    pub wall: f64,
}

/// Runs one approach over a fresh roster of `rows` hires against a fresh sandbox.
pub async fn side_run(
    tools: &Tools,
    approach: Approach,
    rows: usize,
    work: &Path,
    tag: &str,
) -> SideRun {
    if approach == Approach::ZoomOnboard {
        let setting = Setting {
            plan: Plan::Business,
            latency_ms: 150,
            unlimited: false,
        };
        let run = pace_run(tools, setting, rows, work, tag).await;
        let results =
            std::fs::read_to_string(work.join(tag).join("results.csv")).unwrap_or_default();
        let recorded = emails_in_results(&results);
        return SideRun {
            rows,
            rows_per_second: rows as f64 / run.timed.wall,
            rejected_429: run.rejected_429,
            not_created: rows as u64 - run.created.min(rows as u64),
            no_record: (0..rows)
                .filter(|index| !recorded.contains(&email(tag, *index)))
                .count() as u64,
            wall: run.timed.wall,
        };
    }

    let sandbox = Sandbox::start(SandboxArgs {
        plan: Plan::Business,
        latency_ms: 150,
        jitter_ms: 75,
        seed: Some(7),
        ..SandboxArgs::default()
    })
    .await
    .expect("the sandbox starts");
    let folder = work.join(tag);
    std::fs::create_dir_all(&folder).expect("a folder for the run");
    write_roster(&folder.join("roster.csv"), rows, &format!("{tag}-"));
    let report = folder.join("time.txt");
    let mut command = timed_command(Path::new("bash"), &report);
    command
        .arg("-c")
        .arg(approach.script().expect("a shell approach"))
        .current_dir(&folder)
        .env("ZOOM_API_URL", sandbox.api_url())
        .env("ZOOM_OAUTH_URL", sandbox.token_url())
        .env("ZOOM_ACCOUNT_ID", sandbox.account_id())
        .env("ZOOM_CLIENT_ID", sandbox.client_id())
        .env("ZOOM_CLIENT_SECRET", sandbox.client_secret());
    let timed = run_timed(command, &report, Duration::from_secs(1200)).await;
    let log = std::fs::read_to_string(folder.join("log.txt")).unwrap_or_default();
    let recorded = emails_in_answers(&log);
    let created: HashSet<String> = sandbox
        .users()
        .into_iter()
        .map(|user| user.email.to_lowercase())
        .collect();
    let stats = sandbox.stats();
    sandbox.shutdown().await;
    SideRun {
        rows,
        rows_per_second: rows as f64 / timed.wall,
        rejected_429: stats.rate_limited_qps + stats.rate_limited_daily,
        not_created: (0..rows)
            .filter(|index| !created.contains(&email(tag, *index)))
            .count() as u64,
        no_record: (0..rows)
            .filter(|index| !recorded.contains(&email(tag, *index)))
            .count() as u64,
        wall: timed.wall,
    }
}

/// The email of a roster row, as [`write_roster`] writes it.
fn email(tag: &str, index: usize) -> String {
    format!("{tag}-{index}@example.com")
}

/// The emails Zoom's answers name: `"email":"..."` in each JSON body.
fn emails_in_answers(log: &str) -> HashSet<String> {
    log.split("\"email\":\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_lowercase)
        .collect()
}

/// The emails with a line in a results file (the second column).
fn emails_in_results(results: &str) -> HashSet<String> {
    results
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').nth(1))
        .map(str::to_lowercase)
        .collect()
}
