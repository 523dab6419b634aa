//! `zoom-onboard run`: check the roster, connect, run the pool, report.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::outcome::{exit_code, exit_code_for};
use crate::results::ResultsWriter;
use crate::roster::{self, Roster, RosterOptions};
use crate::sandbox::{Sandbox, SandboxArgs};
use crate::submit::daily::{DailyBudget, UtcClock};
use crate::submit::pacer::Pacer;
use crate::submit::pipeline;
use crate::submit::stop::{RunStop, StopReason};
use crate::submit::submission::{Submitter, Tally};
use crate::zoom::auth::{AuthError, Credentials};
use crate::zoom::client::{ClientConfig, ZoomClient};
use crate::zoom::plan::Plan;
use crate::zoom::rules::Action;

use super::summary;

/// Zoom's API base.
pub const DEFAULT_API_URL: &str = "https://api.zoom.us/v2";
/// Zoom's Server-to-Server OAuth token endpoint.
pub const DEFAULT_OAUTH_URL: &str = "https://zoom.us/oauth/token";

/// Options of `zoom-onboard run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The roster: a CSV of new hires with at least an email column.
    pub roster: PathBuf,

    /// Where to write the results CSV [default: beside the roster, as NAME.results.csv].
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// Run against a sandbox started in this process, with its credentials: no Zoom account
    /// or environment needed.
    #[arg(long)]
    pub sandbox: bool,

    /// The account's Zoom plan, which sets the per-second limit and the daily create quota.
    #[arg(long, value_enum, default_value_t = Plan::Pro)]
    pub plan: Plan,

    /// Send at most N requests a second, below the plan's limit, to leave room for other apps
    /// on the account.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_rate: Option<u32>,

    /// The daily create quota, when it differs from the plan's.
    #[arg(long, value_name = "N")]
    pub daily_quota: Option<u64>,

    /// Submissions in flight at once [default: enough to reach the rate at 500 ms latency].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub concurrency: Option<u32>,

    /// The user type for rows without a type column: 1 Basic, 2 Licensed, 4 Unassigned,
    /// 99 None (ssoCreate only).
    #[arg(long = "type", value_name = "TYPE", default_value_t = 1)]
    pub user_type: i64,

    /// The action for rows without an action column: create, autoCreate, custCreate or
    /// ssoCreate (any letter case).
    #[arg(long, value_name = "ACTION", default_value = "create", value_parser = parse_action)]
    pub action: Action,

    /// Failed attempts (5xx, timeouts, dropped connections) before a row is deferred.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,

    /// The longest one request may take, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_seconds)]
    pub request_timeout: f64,

    /// Zoom's API base URL.
    #[arg(long, env = "ZOOM_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,

    /// Zoom's OAuth token URL.
    #[arg(long, env = "ZOOM_OAUTH_URL", default_value = DEFAULT_OAUTH_URL)]
    pub oauth_url: String,
}

fn parse_action(text: &str) -> Result<Action, String> {
    Action::from_any_case(text)
        .ok_or_else(|| "expected create, autoCreate, custCreate or ssoCreate".to_owned())
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

/// Runs `zoom-onboard run` and returns the exit code.
pub async fn execute(args: RunArgs) -> u8 {
    let options = RosterOptions {
        default_action: args.action,
        default_type: args.user_type,
        ..RosterOptions::default()
    };
    let roster = match open_roster(&args.roster, &options) {
        Ok(roster) => roster,
        Err(error) => {
            eprintln!("error: {error}");
            return exit_code::SETUP;
        }
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_results_path(&args.roster));
    let results = match ResultsWriter::create(&out) {
        Ok(results) => results,
        Err(error) => {
            eprintln!(
                "error: cannot create the results file {}: {error}",
                out.display()
            );
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
    let code = submit_all(&args, roster, results, &connection, &out).await;
    if let Some(sandbox) = connection.sandbox {
        sandbox.shutdown().await;
    }
    code
}

fn open_roster(path: &Path, options: &RosterOptions) -> Result<Roster, roster::RosterError> {
    roster::preflight(path, options)?;
    Roster::open(path, options)
}

async fn submit_all(
    args: &RunArgs,
    roster: Roster,
    results: ResultsWriter,
    connection: &Connection,
    out: &Path,
) -> u8 {
    let client = match ZoomClient::new(&connection.config, connection.credentials.clone()) {
        Ok(client) => client,
        Err(message) => {
            eprintln!("error: {message}");
            return exit_code::INTERNAL;
        }
    };
    let stop = RunStop::default();
    // The first token is fetched before any row is read, so rejected credentials are found
    // before anything is sent. The run still goes through every row, to account for each.
    match client.tokens().token().await {
        Ok(_) => {}
        Err(AuthError::Rejected { reason }) => stop.stop(StopReason::CredentialsRejected(reason)),
        Err(AuthError::Unavailable { reason }) => stop.stop(StopReason::Unavailable(reason)),
    }
    let rate = args.max_rate.map_or(args.plan.light_per_second(), |max| {
        max.min(args.plan.light_per_second())
    });
    let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
    let concurrency = args
        .concurrency
        .map_or_else(|| default_concurrency(rate), |n| n as usize);
    let daily_quota = args.daily_quota.unwrap_or(args.plan.daily_create_quota());
    tracing::debug!(
        rate = rate.get(),
        concurrency,
        daily_quota,
        "limits in force"
    );
    let submitter = Arc::new(Submitter {
        client,
        pacer: Pacer::new(rate),
        budget: DailyBudget::new(daily_quota, UtcClock::default(), 0),
        max_attempts: args.max_attempts,
        stop,
        tally: Tally::default(),
    });
    let report =
        match pipeline::run(roster.rows(), Arc::clone(&submitter), results, concurrency).await {
            Ok(report) => report,
            Err(error) => {
                eprintln!("error: {error}");
                return exit_code::INTERNAL;
            }
        };
    let (day, spent) = submitter.budget.today();
    summary::print(&summary::Summary {
        report: &report,
        rate_limit: rate.get(),
        quota: (day, spent, daily_quota),
        results: out,
    });
    let credentials_rejected = matches!(report.stop, Some(StopReason::CredentialsRejected(_)));
    exit_code_for(&report.counts, credentials_rejected)
}

/// Enough workers to keep the pace at `rate` when each call takes 500 ms: twice the 250 ms a
/// create typically takes, so that slow answers and retries do not starve the limiter.
fn default_concurrency(rate: NonZeroU32) -> usize {
    (rate.get() as usize).div_ceil(2).max(2)
}

fn default_results_path(roster: &Path) -> PathBuf {
    let stem = roster.file_stem().map_or_else(
        || "roster".into(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    roster.with_file_name(format!("{stem}.results.csv"))
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
    let credentials = Credentials::from_env().ok_or_else(|| {
        "no Zoom credentials found\n\
         hint: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET for a Server-to-Server \
         OAuth app, or ZOOM_ACCESS_TOKEN; or try the tool with --sandbox"
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
