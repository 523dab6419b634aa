//! Runs the `run` pipeline with the per-second pacer lifted, to measure what the tool itself
//! costs when Zoom's limit is not the bottleneck.
//!
//! `zoom-onboard run` never sends faster than the plan allows (80 a second at most; `--max-rate`
//! only lowers it), so the binary cannot show its own ceiling. This program wires the library's
//! parts exactly as `run` does (roster, journal and its reader, daily budget, recorder, results,
//! pool) and changes one thing: the pacer's rate. Point it at a sandbox that has no limits:
//!
//! ```sh
//! zoom-onboard sandbox --listen 127.0.0.1:8808 --plan business --rate 100000000 \
//!     --burst 100000000 --daily-quota 4000000000
//! cargo run --release --example engine -- roster.csv results.csv journal.sqlite3 \
//!     http://127.0.0.1:8808/v2 http://127.0.0.1:8808/oauth/token 40
//! ```
//!
//! Arguments: roster, results, journal, API URL, token URL, workers (40, as `run --plan
//! business` uses). Credentials are the sandbox's defaults. It prints one line of `key=value`
//! figures on stdout for the benchmark harness to read.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use zoom_onboard::journal::{Journal, JournalReader, utc_day};
use zoom_onboard::outcome::Status;
use zoom_onboard::results::ResultsWriter;
use zoom_onboard::roster::{self, Roster, RosterOptions};
use zoom_onboard::submit::daily::{DailyBudget, UtcClock};
use zoom_onboard::submit::pacer::Pacer;
use zoom_onboard::submit::pipeline::{History, Pipeline};
use zoom_onboard::submit::recorder;
use zoom_onboard::submit::stop::RunStop;
use zoom_onboard::submit::submission::{Submitter, Tally};
use zoom_onboard::zoom::auth::Credentials;
use zoom_onboard::zoom::client::{ClientConfig, ZoomClient};

/// The pacer's rate: high enough never to be the bottleneck.
const UNLIMITED_RATE: u32 = 100_000_000;

/// A daily quota that a benchmark never reaches.
const UNLIMITED_QUOTA: u64 = u64::MAX / 2;

#[tokio::main]
async fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [roster_path, out, state, api_url, oauth_url, workers] = arguments.as_slice() else {
        eprintln!("usage: engine ROSTER RESULTS JOURNAL API_URL TOKEN_URL WORKERS");
        std::process::exit(2);
    };
    let workers: usize = workers.parse().expect("workers is a number");
    let (roster_path, out, state) = (
        PathBuf::from(roster_path),
        PathBuf::from(out),
        PathBuf::from(state),
    );

    let options = RosterOptions::default();
    roster::preflight(&roster_path, &options).expect("the roster passes preflight");
    let roster = Roster::open(&roster_path, &options).expect("the roster opens");
    let credentials = Credentials::ServerToServer {
        account_id: "sandbox".to_owned(),
        client_id: "sandbox".to_owned(),
        client_secret: "sandbox".to_owned().into(),
    };
    let account = credentials.account_key(api_url);
    let config = ClientConfig {
        api_url: api_url.clone(),
        oauth_url: oauth_url.clone(),
        request_timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(10),
    };
    let client = ZoomClient::new(&config, credentials).expect("the client builds");
    client
        .tokens()
        .token()
        .await
        .expect("the sandbox grants a token");
    let journal = Journal::open(&state, &account).expect("the journal opens");
    let reader = JournalReader::open(&state).expect("the journal reader opens");
    let clock = UtcClock::default();
    let spent_today = journal
        .quota_spent(utc_day(clock.now()))
        .expect("the journal reads");

    let started = Instant::now();
    let (record, records) = recorder::channel();
    let submitter = Arc::new(Submitter {
        client,
        pacer: Pacer::new(NonZeroU32::new(UNLIMITED_RATE).expect("not zero")),
        budget: DailyBudget::new(UNLIMITED_QUOTA, clock, spent_today, Some(record.clone())),
        max_attempts: 4,
        wait_for_quota: false,
        stop: RunStop::default(),
        record,
        tally: Tally::default(),
    });
    let pipeline = Pipeline {
        rows: roster.rows(),
        submitter: Arc::clone(&submitter),
        records,
        results: ResultsWriter::create(&out).expect("the results file opens"),
        journal: Some(journal),
        history: Some(History {
            reader,
            account,
            retry_failed: false,
        }),
        concurrency: workers,
    };
    let report = pipeline
        .run()
        .await
        .expect("the run accounts for every row");
    let seconds = started.elapsed().as_secs_f64();

    println!(
        "rows={} created={} rate_limited={} seconds={seconds:.3} rows_per_second={:.1}",
        report.rows,
        report.count(Status::Created),
        report.rate_limited,
        report.rows as f64 / seconds,
    );
}
