//! The sandbox: a stand-in for the parts of Zoom's API this tool calls, limits and failures
//! included, served by our own binary.
//!
//! It lets anyone rehearse a run (a 5,000-person migration, quota and all) and lets every test
//! exercise the client over real HTTP, without a Zoom account. `zoom-onboard sandbox` serves
//! it until Ctrl-C; [`Sandbox::start`] serves it in-process, usually on `127.0.0.1:0`.
//!
//! # Endpoints
//!
//! - `POST /oauth/token`: Server-to-Server OAuth, client id and secret in HTTP Basic, form body
//!   `grant_type=account_credentials&account_id=...`.
//! - `POST /v2/users`: creates a user from JSON or `multipart/form-data`.
//! - `GET /v2/users/{userId}`: looks a user up by id or email.
//! - `GET /_sandbox/stats` and `POST /_sandbox/clock`: the sandbox's own controls.
//!
//! The facts it follows are those of `shared/zoom-api.md`; where Zoom varies (the form of
//! `Retry-After`, whether old tokens survive a new one) the behaviour is an option.
//!
//! # Where things live
//!
//! - `config`: the options ([`SandboxArgs`]) and the limits they imply.
//! - `server`: routes, the envelope around API answers, and the accept loop.
//! - `oauth`, `users`, `control`: the handlers.
//! - `state`: the account (tokens, users, limits, counters) behind one lock.
//! - `limits`: the per-second bucket (and how its window is counted), the daily quota, and
//!   `Retry-After`.
//! - `faults`: the seeded dice for latency, errors, ambiguous creates and dropped connections.
//! - `clock`: the calendar that tests can move forward.
//! - `stats`: the counters and the arrival log.
//!
//! What it leaves out: sub-account creates (`/v2/accounts/{accountId}/users`), scopes other
//! than the two it grants, Zoom Phone licences, user caps and invitation expiry. The account's
//! users live in memory and are gone when it stops.

mod clock;
mod config;
mod control;
mod faults;
mod limits;
mod oauth;
mod reply;
mod server;
mod state;
mod stats;
mod users;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use jiff::Timestamp;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{Plan, RetryAfterForm, SandboxArgs};
pub use state::SandboxUser;
pub use stats::{Endpoint, FaultCounts, RequestRecord, SandboxStats};

use state::Shared;

/// A running sandbox, serving in a background task until [`Sandbox::shutdown`] or drop.
#[derive(Debug)]
pub struct Sandbox {
    /// The bound address.
    addr: SocketAddr,
    /// The state its handlers share.
    shared: Arc<Shared>,
    /// Tells the accept loop to stop; `None` once sent.
    stop: Option<oneshot::Sender<()>>,
    /// The accept loop; `None` once awaited.
    task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Binds `args.listen` and starts serving in a background task.
    ///
    /// Fails if the options are inconsistent, the `--existing` file cannot be read, or the
    /// address cannot be bound.
    pub async fn start(args: SandboxArgs) -> std::io::Result<Sandbox> {
        args.check()
            .map_err(|problem| std::io::Error::new(std::io::ErrorKind::InvalidInput, problem))?;
        let existing = match &args.existing {
            Some(path) => {
                read_existing(&tokio::fs::read_to_string(path).await.map_err(|error| {
                    std::io::Error::new(error.kind(), format!("{}: {error}", path.display()))
                })?)
            }
            None => Vec::new(),
        };

        let listener = TcpListener::bind(args.listen).await?;
        let mut addr = listener.local_addr()?;
        // A sandbox listening on every interface is still reached through loopback.
        if addr.ip().is_unspecified() {
            addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        let seed = args.seed.unwrap_or_else(faults::fresh_seed);
        let shared = Arc::new(Shared::new(args, format!("http://{addr}"), &existing, seed));

        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(server::accept_loop(
            listener,
            server::router(shared.clone()),
            stopped,
        ));
        Ok(Sandbox {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL, e.g. `http://127.0.0.1:8808/v2`.
    #[must_use]
    pub fn api_url(&self) -> String {
        format!("{}/v2", self.shared.api_host)
    }

    /// The token URL, e.g. `http://127.0.0.1:8808/oauth/token`.
    #[must_use]
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.shared.api_host)
    }

    /// The account id the token endpoint accepts.
    #[must_use]
    pub fn account_id(&self) -> &str {
        &self.shared.args.account_id
    }

    /// The client id the token endpoint accepts.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.shared.args.client_id
    }

    /// The client secret the token endpoint accepts.
    #[must_use]
    pub fn client_secret(&self) -> &str {
        &self.shared.args.client_secret
    }

    /// The seed of the fault dice, given or drawn.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.shared.dice.seed()
    }

    /// The sandbox's now: the machine's clock plus every [`Sandbox::advance_clock`].
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.shared.clock.now()
    }

    /// The counters, as `GET /_sandbox/stats` serves them.
    #[must_use]
    pub fn stats(&self) -> SandboxStats {
        control::snapshot(&self.shared)
    }

    /// Every user created through the API, in order, with the `user_info` exactly as received.
    /// Users listed in `--existing` are left out.
    #[must_use]
    pub fn users(&self) -> Vec<SandboxUser> {
        self.shared.lock().created_users()
    }

    /// The access tokens still live, so that a test can check that none leaked into a file or
    /// a log.
    #[must_use]
    pub fn live_tokens(&self) -> Vec<String> {
        self.shared.lock().live_tokens()
    }

    /// How many create requests named this email, in any letter case.
    #[must_use]
    pub fn create_requests_for(&self, email: &str) -> u64 {
        let account = self.shared.lock();
        account
            .counters
            .per_email
            .get(&email.to_lowercase())
            .copied()
            .unwrap_or(0)
    }

    /// When each create request arrived (from the sandbox's start, on the monotonic clock) and
    /// the status it got (0 for a dropped connection), in order of arrival.
    #[must_use]
    pub fn create_request_times(&self) -> Vec<(Duration, u16)> {
        self.request_log()
            .into_iter()
            .filter(|record| record.endpoint == Endpoint::Create)
            .map(|record| (record.arrived, record.status))
            .collect()
    }

    /// Every token, create and look-up request, in order of arrival.
    #[must_use]
    pub fn request_log(&self) -> Vec<RequestRecord> {
        let mut log = self.shared.lock().counters.log.clone();
        // Records are written when the answer is decided, which concurrent requests can do in
        // a different order than they arrived.
        log.sort_by_key(|record| record.arrived);
        log
    }

    /// Moves the sandbox's calendar forward: tokens expire and the daily quota's UTC day turns
    /// as if that much time had passed. The per-second limit is not affected.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Stops serving and closes every open connection, stalled ones included.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves a sandbox until Ctrl-C, after printing where it is and what it accepts.
pub async fn serve(args: SandboxArgs) -> anyhow::Result<()> {
    let listen = args.listen;
    let sandbox = Sandbox::start(args.clone())
        .await
        .with_context(|| format!("cannot start the sandbox on {listen}"))?;

    let banner = format!(
        "zoom-onboard sandbox is serving a stand-in for Zoom's user API\n\
         \x20 API base URL:  {}\n\
         \x20 token URL:     {}\n\
         \x20 account id:    {}\n\
         \x20 client id:     {}\n\
         \x20 client secret: {}\n\
         \x20 limits:        {} Light requests a second (burst {}), {} creates a UTC day\n\
         \x20 fault seed:    {}\n\
         \x20 counters:      {}/_sandbox/stats\n\
         Press Ctrl-C to stop.\n",
        sandbox.api_url(),
        sandbox.token_url(),
        sandbox.account_id(),
        sandbox.client_id(),
        sandbox.client_secret(),
        args.light_rate(),
        args.burst_size(),
        args.create_quota(),
        sandbox.seed(),
        sandbox.shared.api_host,
    );
    // A reader that stops early (`| head`) must not bring the sandbox down.
    let mut stdout = std::io::stdout();
    let _ = std::io::Write::write_all(&mut stdout, banner.as_bytes());
    let _ = std::io::Write::flush(&mut stdout);

    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    sandbox.shutdown().await;
    Ok(())
}

/// The emails of an `--existing` file: one a line, blank lines and `#` comments skipped.
fn read_existing(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.trim().trim_start_matches('\u{feff}'))
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}
