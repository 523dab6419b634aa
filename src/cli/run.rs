//! `zoom-onboard run`: check the roster, connect, run the pool, report.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::failures::FailuresWriter;
use crate::journal::{Journal, JournalReader, utc_day};
use crate::outcome::{exit_code, exit_code_for};
use crate::results::ResultsWriter;
use crate::roster::{self, Roster, RosterOptions};
use crate::sandbox::{Sandbox, SandboxArgs};
use crate::submit::daily::{DailyBudget, UtcClock};
use crate::submit::events::Progress;
use crate::submit::pacer::Pacer;
use crate::submit::pipeline::{self, History, Pipeline};
use crate::submit::recorder;
use crate::submit::stop::{RunStop, StopReason};
use crate::submit::submission::{Submitter, Tally};
use crate::zoom::auth::{AuthError, Credentials};
use crate::zoom::client::{ClientConfig, ZoomClient};
use crate::zoom::plan::Plan;

use super::config;
use super::credentials::FoundCredentials;
use super::progress::Display;
use super::roster_args::RosterArgs;
use super::summary::{self, Summary};

/// Zoom's API base.
pub const DEFAULT_API_URL: &str = "https://api.zoom.us/v2";
/// Zoom's Server-to-Server OAuth token endpoint.
pub const DEFAULT_OAUTH_URL: &str = "https://zoom.us/oauth/token";

/// Options of `zoom-onboard run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The roster: a CSV file or a workbook (.xlsx, .ods) of new hires with at least an email
    /// column.
    pub roster: PathBuf,

    /// Where to write the results CSV [default: beside the roster, as NAME.results.csv].
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// Where to write the rows a person must fix (invalid or failed), in the roster's own
    /// columns plus an error column, ready to run again once fixed [default: beside the
    /// results, as NAME.failures.csv]. Always written, with only the header when no row needs
    /// fixing, so that it never shows an earlier run's rows.
    #[arg(long, value_name = "PATH")]
    pub failures: Option<PathBuf>,

    /// Also write the summary as JSON to this file, for automation: counts by status, pace,
    /// quota, where the files are, what to do next, and the exit code. It is created when the
    /// run starts and filled when it ends; it stays empty after an internal error.
    #[arg(long, value_name = "PATH")]
    pub summary_json: Option<PathBuf>,

    /// Run against a sandbox started in this process, with its credentials: no Zoom account
    /// or environment needed.
    #[arg(long)]
    pub sandbox: bool,

    /// The account's Zoom plan, which sets the per-second limit and the daily create quota.
    #[arg(long, value_enum, default_value_t = Plan::Pro, env = config::ENV_PLAN)]
    pub plan: Plan,

    /// Send at most N requests a second, below the plan's limit, to leave room for other apps
    /// on the account.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..),
          env = config::ENV_MAX_RATE)]
    pub max_rate: Option<u32>,

    /// The daily create quota, when it differs from the plan's.
    #[arg(long, value_name = "N")]
    pub daily_quota: Option<u64>,

    /// Submissions in flight at once [default: enough to reach the rate at 500 ms latency].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000),
          env = config::ENV_CONCURRENCY)]
    pub concurrency: Option<u32>,

    /// How to read the roster.
    #[command(flatten)]
    pub reading: RosterArgs,

    /// Failed attempts (5xx, timeouts, dropped connections) before a row is deferred.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,

    /// The longest one request may take, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_seconds)]
    pub request_timeout: f64,

    /// Zoom's API base URL.
    #[arg(long, env = config::ENV_API_URL, default_value = DEFAULT_API_URL)]
    pub api_url: String,

    /// Zoom's OAuth token URL.
    #[arg(long, env = config::ENV_OAUTH_URL, default_value = DEFAULT_OAUTH_URL)]
    pub oauth_url: String,

    /// The journal: the record of what earlier runs did, so that nothing is sent twice
    /// [default: zoom-onboard/journal.sqlite3 in the user's data folder; a throwaway one with
    /// --sandbox].
    #[arg(long, value_name = "PATH", env = config::ENV_STATE)]
    pub state: Option<PathBuf>,

    /// Read the Zoom credentials from this file instead of the environment: KEY=VALUE lines
    /// naming `ZOOM_ACCOUNT_ID`, `ZOOM_CLIENT_ID` and `ZOOM_CLIENT_SECRET`, or
    /// `ZOOM_ACCESS_TOKEN`. It must be readable by its owner only.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,

    /// Send rows that Zoom refused in an earlier run again, even when they have not changed.
    #[arg(long)]
    pub retry_failed: bool,

    /// When the daily create quota is spent, wait for 00:00 UTC and carry on, instead of
    /// deferring the rest.
    #[arg(long)]
    pub wait_for_quota: bool,

    /// For benchmarks against a sandbox without limits: pace at N requests a second whatever
    /// the plan says. Against Zoom this would only earn 429s.
    #[arg(long, hide = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub unchecked_rate: Option<u32>,

    /// For tests: shift the tool's UTC clock by this many seconds.
    #[arg(long, hide = true, default_value_t = 0, allow_hyphen_values = true)]
    pub clock_offset_seconds: i64,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0 => Ok(seconds),
        _ => Err("expected a number of seconds between 0 and 3600".to_owned()),
    }
}

/// Where Zoom is, and how the tool gets in.
struct Connection {
    config: ClientConfig,
    credentials: Credentials,
    /// Kept alive for the run when `--sandbox` started one.
    sandbox: Option<Sandbox>,
}

/// The run's journal, opened and locked.
struct State {
    journal: Journal,
    history: History,
    path: PathBuf,
    /// The folder of a throwaway journal, removed when the run ends.
    throwaway: Option<tempfile::TempDir>,
}

/// The files a run writes besides the journal, created before the first row is read.
struct Outputs {
    results: ResultsWriter,
    failures: FailuresWriter,
    /// The `--summary-json` file, created empty, and where it is.
    summary: Option<(std::fs::File, PathBuf)>,
}

/// Runs `zoom-onboard run` and returns the exit code. The progress bar, if shown, is drawn on
/// `screen`.
pub async fn execute(args: RunArgs, screen: &indicatif::MultiProgress) -> u8 {
    let options = match args.reading.options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            return exit_code::SETUP;
        }
    };
    let (roster, data_rows) = match open_roster(&args.roster, &options) {
        Ok(opened) => opened,
        Err(error) => {
            eprintln!("error: {}", super::error_text(&error));
            return exit_code::SETUP;
        }
    };
    let connection = match connect(&args).await {
        Ok(connection) => connection,
        Err(message) => {
            eprintln!("error: {message}");
            return exit_code::SETUP;
        }
    };
    // The journal is opened before the results file is touched, so that a run refused because
    // another holds the journal leaves that run's results alone.
    let state = match open_state(&args, &connection) {
        Ok(state) => state,
        Err(message) => {
            eprintln!("error: {message}");
            return exit_code::SETUP;
        }
    };
    let (client, stop) = match first_token(&connection).await {
        Ok(ready) => ready,
        Err(message) => {
            eprintln!("error: {message}");
            return exit_code::SETUP;
        }
    };
    let outputs = match create_outputs(&args, &roster, &state.path) {
        Ok(outputs) => outputs,
        Err(message) => {
            eprintln!("error: {message}");
            return exit_code::SETUP;
        }
    };
    let display = Arc::new(Display::new(screen));
    let run = Run {
        roster,
        data_rows,
        client,
        stop,
        state,
        display,
    };
    let code = submit_all(&args, run, outputs).await;
    if let Some(sandbox) = connection.sandbox {
        sandbox.shutdown().await;
    }
    code
}

/// Opens the roster after reading it through once, and says how many data rows it holds.
fn open_roster(path: &Path, options: &RosterOptions) -> Result<(Roster, u64), roster::RosterError> {
    let preflight = roster::preflight(path, options)?;
    Ok((Roster::open(path, options)?, preflight.data_rows))
}

/// Checks every output path against the roster and each other, then creates the results, the
/// failures and the summary files, all readable by their owner only.
fn create_outputs(args: &RunArgs, roster: &Roster, journal: &Path) -> Result<Outputs, String> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_results_path(&args.roster));
    let failures = args
        .failures
        .clone()
        .unwrap_or_else(|| default_failures_path(&out));
    // Everything the run reads or keeps is off limits to its outputs, under any name or link.
    let journal_files = crate::journal::files_of(journal);
    let mut taken = vec![(args.roster.as_path(), "roster")];
    taken.extend(journal_files.iter().map(|file| (file.as_path(), "journal")));
    if let Some(credentials) = &args.credentials {
        taken.push((credentials.as_path(), "credentials file"));
    }
    crate::results::check_output_apart(&out, "--out", &taken)?;
    taken.push((&out, "results file"));
    crate::results::check_output_apart(&failures, "--failures", &taken)?;
    taken.push((&failures, "failures file"));
    if let Some(summary) = &args.summary_json {
        crate::results::check_output_apart(summary, "--summary-json", &taken)?;
    }

    let create = |what: &str, path: &Path, error: std::io::Error| {
        format!("cannot create the {what} {}: {error}", path.display())
    };
    let results =
        ResultsWriter::create(&out).map_err(|error| create("results file", &out, error))?;
    let failures = FailuresWriter::create(&failures, roster.layout())
        .map_err(|error| create("failures file", &failures, error))?;
    let summary = match &args.summary_json {
        Some(path) => Some((
            crate::results::create_private(path)
                .map_err(|error| create("summary file", path, error))?,
            path.clone(),
        )),
        None => None,
    };
    Ok(Outputs {
        results,
        failures,
        summary,
    })
}

/// Opens the journal at `--state`, a throwaway one for `--sandbox`, or the default one.
fn open_state(args: &RunArgs, connection: &Connection) -> Result<State, String> {
    let (path, throwaway) = match (&args.state, &connection.sandbox) {
        (Some(path), _) => (path.clone(), None),
        (None, Some(_)) => {
            let folder = tempfile::tempdir()
                .map_err(|error| format!("cannot make a folder for the journal: {error}"))?;
            (folder.path().join("journal.sqlite3"), Some(folder))
        }
        (None, None) => (
            Journal::default_path().ok_or(
                "no data folder for the journal on this system\nhint: give one with --state PATH",
            )?,
            None,
        ),
    };
    let account = connection
        .credentials
        .account_key(&connection.config.api_url);
    let journal = Journal::open(&path, &account).map_err(|error| error.to_string())?;
    let reader = JournalReader::open(&path).map_err(|error| error.to_string())?;
    Ok(State {
        journal,
        history: History {
            reader,
            account,
            retry_failed: args.retry_failed,
        },
        path,
        throwaway,
    })
}

/// How many times the first token is asked for when the token endpoint does not answer.
const FIRST_TOKEN_TRIES: u32 = 4;

/// Builds the client and fetches the first token, before any row is read or any file written.
///
/// Rejected credentials still give a client, with the run already stopped: the run then goes
/// through every row and writes each as `deferred`, so the results account for the whole
/// roster, and exits 5. A token endpoint that cannot be reached after a few tries is a setup
/// problem: an error, and nothing written.
async fn first_token(connection: &Connection) -> Result<(ZoomClient, RunStop), String> {
    let client = ZoomClient::new(&connection.config, connection.credentials.clone())?;
    let stop = RunStop::default();
    let mut tries = 0;
    loop {
        tries += 1;
        match client.tokens().token().await {
            Ok(_) => return Ok((client, stop)),
            Err(AuthError::Rejected { reason }) => {
                stop.stop(StopReason::CredentialsRejected(reason));
                return Ok((client, stop));
            }
            Err(AuthError::Unavailable { reason }) if tries >= FIRST_TOKEN_TRIES => {
                return Err(format!(
                    "cannot get an access token from {}: {reason}\nnothing was sent\nhint: check \
                     --oauth-url and the network; if Zoom is down, run again later",
                    connection.config.oauth_url
                ));
            }
            Err(AuthError::Unavailable { reason }) => {
                tracing::warn!(tries, %reason, "the token endpoint did not answer; trying again");
                tokio::time::sleep(Duration::from_millis(500) * (1 << (tries - 1))).await;
            }
        }
    }
}

/// What a run has ready once setup is done.
struct Run {
    roster: Roster,
    /// The roster's data rows, as the first pass counted them.
    data_rows: u64,
    client: ZoomClient,
    stop: RunStop,
    state: State,
    display: Arc<Display>,
}

async fn submit_all(args: &RunArgs, run: Run, outputs: Outputs) -> u8 {
    let Run {
        roster,
        data_rows,
        client,
        stop,
        state,
        display,
    } = run;
    let plan_rate = args.unchecked_rate.unwrap_or(args.plan.light_per_second());
    let rate = args.max_rate.map_or(plan_rate, |max| max.min(plan_rate));
    let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
    let concurrency = args
        .concurrency
        .map_or_else(|| default_concurrency(rate), |n| n as usize);
    let daily_quota = args.daily_quota.unwrap_or(args.plan.daily_create_quota());
    let clock = UtcClock {
        offset_seconds: args.clock_offset_seconds,
    };
    let spent_today = match state.journal.quota_spent(utc_day(clock.now())) {
        Ok(spent) => spent,
        Err(error) => {
            eprintln!("error: {}", super::error_text(&error));
            return exit_code::SETUP;
        }
    };
    tracing::debug!(
        rate = rate.get(),
        concurrency,
        daily_quota,
        spent_today,
        "limits in force"
    );
    let (record, records) = recorder::channel();
    let submitter = Arc::new(Submitter {
        client,
        pacer: Pacer::new(rate),
        budget: DailyBudget::new(daily_quota, clock, spent_today, Some(record.clone())),
        max_attempts: args.max_attempts,
        wait_for_quota: args.wait_for_quota,
        stop,
        record,
        tally: Tally::default(),
        progress: Arc::clone(&display) as Arc<dyn Progress>,
    });
    let signals = tokio::spawn(stop_on_signals(
        Arc::clone(&submitter),
        Arc::clone(&display),
    ));
    let filtered = !roster.layout().filters.is_empty();
    let rows = roster.rows();
    let left_out = rows.left_out();
    let results_path = outputs.results.path().to_owned();
    let failures_path = outputs.failures.path().to_owned();
    let pipeline = Pipeline {
        rows,
        submitter: Arc::clone(&submitter),
        records,
        results: outputs.results,
        failures: Some(outputs.failures),
        expected_rows: Some(data_rows),
        journal: Some(state.journal),
        history: Some(state.history),
        concurrency,
    };
    let outcome = pipeline.run().await;
    signals.abort();
    let report = match outcome {
        Ok(report) => report,
        Err(error) => {
            display.eprint(&format!("error: {}\n", super::error_text(&error)));
            return exit_code::INTERNAL;
        }
    };
    let (day, spent) = submitter.budget.today();
    if filtered && report.rows == 0 && left_out.count() > 0 {
        display.eprint(&format!(
            "warning: --where/--skip-where left out every row ({}); nothing was checked or sent\n\
             hint: check the column names and patterns; a pattern must match the whole cell\n",
            left_out.count()
        ));
    }
    let facts = summary::Facts {
        report: &report,
        rate_limit: rate.get(),
        quota: (day, spent, daily_quota),
        left_out: filtered.then(|| left_out.count()),
        results: &results_path,
        failures: Some(&failures_path),
        journal: state.throwaway.is_none().then_some(state.path.as_path()),
        exit_code: exit_code::DONE,
    };
    conclude(facts, &display, outputs.summary)
}

/// Works out the exit code, then shows the summary on stderr and writes it to the summary file
/// when asked.
fn conclude(
    mut facts: summary::Facts<'_>,
    display: &Display,
    summary_file: Option<(std::fs::File, PathBuf)>,
) -> u8 {
    let report = facts.report;
    let credentials_rejected = matches!(report.stop, Some(StopReason::CredentialsRejected(_)));
    facts.exit_code = if report.journal_error.is_some() {
        exit_code::INTERNAL
    } else {
        exit_code_for(&report.counts, credentials_rejected)
    };
    let summary = Summary::new(&facts);
    display.eprint(&summary.render());
    if let Some(error) = &report.journal_error {
        display.eprint(&format!(
            "error: the journal could not be written: {error}\n"
        ));
    }
    if let Some((mut file, path)) = summary_file {
        use std::io::Write as _;
        if let Err(error) = file.write_all(summary.to_json().as_bytes()) {
            display.eprint(&format!(
                "error: cannot write the summary file {}: {error}\n",
                path.display()
            ));
            return exit_code::INTERNAL;
        }
    }
    summary.exit_code
}

/// On the first Ctrl-C or SIGTERM, stops the run cleanly: no new submissions, those in flight
/// get a few seconds, every row still gets its line. A second Ctrl-C quits at once; the journal
/// stays consistent, since each of its batches is one transaction.
async fn stop_on_signals(submitter: Arc<Submitter>, display: Arc<Display>) {
    wait_for_stop_signal().await;
    display.eprint(&format!(
        "stopping: no new rows are sent; requests in flight get {} s to finish (Ctrl-C again \
         quits at once)\n",
        pipeline::STOP_GRACE.as_secs()
    ));
    submitter.stop.stop(StopReason::Interrupted);
    if tokio::signal::ctrl_c().await.is_ok() {
        display.eprint("quitting at once: rows in flight stay marked in the journal\n");
        std::process::exit(i32::from(exit_code::QUIT_AT_ONCE));
    }
}

#[cfg(unix)]
async fn wait_for_stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_stop_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Enough workers to keep the pace at `rate` when each call takes 500 ms: twice the 250 ms a
/// create typically takes, so that slow answers and retries do not starve the limiter.
fn default_concurrency(rate: NonZeroU32) -> usize {
    // Capped at --concurrency's own maximum, which only a bench-only --unchecked-rate reaches.
    (rate.get() as usize).div_ceil(2).clamp(2, 1000)
}

fn default_results_path(roster: &Path) -> PathBuf {
    let stem = roster.file_stem().map_or_else(
        || "roster".into(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    roster.with_file_name(format!("{stem}.results.csv"))
}

/// Beside the results: `NAME.failures.csv` for `NAME.results.csv`, else `NAME.failures.csv`
/// for `NAME.csv`.
fn default_failures_path(results: &Path) -> PathBuf {
    let stem = results.file_stem().map_or_else(
        || "roster".into(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    let stem = stem.strip_suffix(".results").unwrap_or(&stem);
    results.with_file_name(format!("{stem}.failures.csv"))
}

async fn connect(args: &RunArgs) -> Result<Connection, String> {
    let timeouts = |api_url: String, oauth_url: String| ClientConfig {
        api_url,
        oauth_url,
        request_timeout: Duration::from_secs_f64(args.request_timeout),
        connect_timeout: Duration::from_secs(10).min(Duration::from_secs_f64(args.request_timeout)),
    };
    if args.sandbox {
        let sandbox = Sandbox::start(SandboxArgs {
            listen: "127.0.0.1:0"
                .parse()
                .map_err(|_| "bad sandbox address".to_owned())?,
            plan: args.plan,
            ..SandboxArgs::default()
        })
        .await
        .map_err(|error| format!("cannot start the sandbox: {error}"))?;
        let credentials = Credentials::ServerToServer {
            account_id: sandbox.account_id().to_owned(),
            client_id: sandbox.client_id().to_owned(),
            client_secret: sandbox.client_secret().to_owned().into(),
        };
        return Ok(Connection {
            config: timeouts(sandbox.api_url(), sandbox.token_url()),
            credentials,
            sandbox: Some(sandbox),
        });
    }
    for url in [&args.api_url, &args.oauth_url] {
        check_transport(url)?;
    }
    let credentials = FoundCredentials::gather(args.credentials.as_deref())
        .map_err(|error| error.to_string())?
        .credentials()
        .ok_or_else(|| {
            "no Zoom credentials found\n\
             hint: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET for a \
             Server-to-Server OAuth app, or ZOOM_ACCESS_TOKEN, in the environment or in a file \
             given with --credentials; or try the tool with --sandbox"
                .to_owned()
        })?;
    Ok(Connection {
        config: timeouts(args.api_url.clone(), args.oauth_url.clone()),
        credentials,
        sandbox: None,
    })
}

/// Refuses URLs that would send credentials in clear text, except to this machine.
fn check_transport(url: &str) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|error| format!("{url} is not a URL: {error}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "{url} is not an https URL\nhint: plain http is accepted only for this machine \
             (localhost, 127.0.0.1, ::1)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback() {
        assert!(check_transport("https://api.zoom.us/v2").is_ok());
        assert!(check_transport("http://127.0.0.1:8808/v2").is_ok());
        assert!(check_transport("http://localhost:1/v2").is_ok());
        assert!(check_transport("http://[::1]:1/v2").is_ok());
        assert!(check_transport("http://api.zoom.us/v2").is_err());
        assert!(check_transport("ftp://127.0.0.1/").is_err());
    }

    #[test]
    fn default_concurrency_reaches_the_rate() {
        assert_eq!(default_concurrency(NonZeroU32::new(80).unwrap()), 40);
        assert_eq!(default_concurrency(NonZeroU32::new(4).unwrap()), 2);
    }
}
