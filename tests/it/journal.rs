//! The journal across runs, end to end: re-runs send nothing twice, the daily quota carries
//! over and turns with the UTC day, failed rows wait for a change, crashed and stopped runs are
//! picked up, and one run at a time holds a journal.
//!
//! Each test runs the real binary against the sandbox (or wiremock) on 127.0.0.1:0 and checks
//! the results CSV, the exit code and the server's own counts.
//!
//! A note on "create requests per email": the sandbox's `max_create_requests_per_email` counts
//! every `POST /v2/users` it receives, including those it turned away before they could create
//! anyone (dropped connections, 5xx faults, 401s, 429s). The issue's bound ("no email received
//! more than 2 create requests") is checked on `max_admitted_creates_per_email`, the creates that
//! got far enough to create a user; `conflicts_1005` shows none of them met a user already there.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zoom_onboard::journal::{Journal, JournalWrite, utc_day};
use zoom_onboard::sandbox::{Plan, Sandbox, SandboxArgs};
use zoom_onboard::submit::pipeline::STOP_GRACE;

use crate::support::{
    Endpoints, Ran, RunFolder, TEST_CREDENTIAL, command, look_up_id, ran, roster_of, run_in,
    sandbox_args, sandbox_ids, send_signal, start,
};

/// Seconds in a UTC day.
const DAY: i64 = 86_400;

/// The sandbox's calendar and the tool's clock, moved together so both see the same UTC day.
struct Clocks {
    /// How far both are ahead of the machine's clock, in seconds.
    offset: i64,
}

impl Clocks {
    /// Both clocks at tomorrow's noon UTC, so that a test's runs never straddle a real midnight.
    fn at_noon(sandbox: &Sandbox) -> Clocks {
        let now = sandbox.now().as_second();
        let noon = (now.div_euclid(DAY) + 1) * DAY + DAY / 2;
        let mut clocks = Clocks { offset: 0 };
        clocks.advance(sandbox, noon - now);
        clocks
    }

    /// Both clocks `seconds_before` ahead of the next UTC midnight.
    fn before_midnight(sandbox: &Sandbox, seconds_before: i64) -> Clocks {
        let now = sandbox.now().as_second();
        let midnight = (now.div_euclid(DAY) + 1) * DAY;
        let mut clocks = Clocks { offset: 0 };
        clocks.advance(sandbox, midnight - seconds_before - now);
        clocks
    }

    /// Moves both clocks forward.
    fn advance(&mut self, sandbox: &Sandbox, seconds: i64) {
        sandbox.advance_clock(Duration::from_secs(seconds.try_into().unwrap()));
        self.offset += seconds;
    }

    /// The tool's flag for its clock.
    fn flag(&self) -> String {
        format!("--clock-offset-seconds={}", self.offset)
    }
}

/// Every `created` or `skipped` line carries the id the sandbox gave that email.
fn assert_ids_are_the_sandboxs(ran: &Ran, sandbox: &Sandbox) {
    let ids = sandbox_ids(sandbox);
    for line in ran
        .results
        .iter()
        .filter(|line| line.status == "created" || line.status == "skipped")
    {
        assert_eq!(
            Some(&line.user_id),
            ids.get(&line.email.to_lowercase()),
            "row {} ({}) has the sandbox's id",
            line.row,
            line.status
        );
    }
}

/// Waits until the sandbox has received a create, so a signal lands on a run that is sending.
async fn wait_for_first_create(sandbox: &Sandbox) {
    let waiting = async {
        while sandbox.stats().create_requests == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("the run starts sending within 30 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn rerunning_a_finished_roster_sends_nothing_and_skips_every_row() {
    let sandbox = start(sandbox_args()).await;
    let endpoints = Endpoints::from(&sandbox);
    let folder = RunFolder::new();
    let roster = roster_of(20);

    let first = run_in(&folder, &endpoints, &roster, &[]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.count("created"), 20);
    let after_first = sandbox.stats();
    assert_eq!(after_first.create_requests, 20);

    let second = run_in(&folder, &endpoints, &roster, &[]).await;
    assert_eq!(second.code, 0, "skipped counts as done: {}", second.stderr);
    assert_eq!(second.count("skipped"), 20);
    for (then, now) in first.results.iter().zip(&second.results) {
        assert_eq!((now.row, &now.email), (then.row, &then.email));
        assert!(!now.user_id.is_empty(), "row {} has its id", now.row);
        assert_eq!(now.user_id, then.user_id, "row {} keeps its id", now.row);
        assert!(
            now.message.contains("already created on"),
            "row {}: {}",
            now.row,
            now.message
        );
        assert_eq!(now.attempts, 0);
    }
    assert_ids_are_the_sandboxs(&second, &sandbox);
    let after_second = sandbox.stats();
    assert_eq!(after_second.create_requests, 20, "no create was sent");
    assert_eq!(after_second.lookups, after_first.lookups, "nor any look-up");
    assert_eq!(after_second.users_created, 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_quota_carries_over_between_runs_and_turns_with_the_utc_day() {
    let sandbox = start(SandboxArgs {
        daily_quota: Some(100),
        rate: Some(200),
        ..sandbox_args()
    })
    .await;
    let endpoints = Endpoints::from(&sandbox);
    let folder = RunFolder::new();
    let roster = roster_of(250);
    let mut clocks = Clocks::at_noon(&sandbox);
    let flags = |clocks: &Clocks| {
        vec![
            "--daily-quota".to_owned(),
            "100".to_owned(),
            "--plan".to_owned(),
            "business".to_owned(),
            clocks.flag(),
        ]
    };

    let extra = flags(&clocks);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let first = run_in(&folder, &endpoints, &roster, &extra).await;
    assert_eq!(first.code, 4, "{}", first.stderr);
    assert_eq!(
        (first.count("created"), first.count("deferred")),
        (100, 150)
    );
    assert_ids_are_the_sandboxs(&first, &sandbox);
    let stats = sandbox.stats();
    assert_eq!(
        (stats.create_requests, stats.users_created),
        (100, 100),
        "the client stopped at its own count"
    );
    assert_eq!(stats.rate_limited_daily, 0);

    let second = run_in(&folder, &endpoints, &roster, &extra).await;
    assert_eq!(second.code, 4, "{}", second.stderr);
    assert_eq!(
        (second.count("skipped"), second.count("deferred")),
        (100, 150)
    );
    let stats = sandbox.stats();
    assert_eq!(
        stats.create_requests, 100,
        "the same day: no create was sent"
    );
    assert_eq!(stats.rate_limited_daily, 0);

    clocks.advance(&sandbox, DAY);
    let extra = flags(&clocks);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let third = run_in(&folder, &endpoints, &roster, &extra).await;
    assert_eq!(third.code, 4, "{}", third.stderr);
    assert_eq!(
        (
            third.count("skipped"),
            third.count("created"),
            third.count("deferred")
        ),
        (100, 100, 50)
    );
    assert_ids_are_the_sandboxs(&third, &sandbox);
    let stats = sandbox.stats();
    assert_eq!((stats.create_requests, stats.users_created), (200, 200));
    assert_eq!(
        stats.daily_quota_used, 100,
        "the new day's quota, all of it"
    );
    assert_eq!(stats.rate_limited_daily, 0);
    assert_eq!(stats.max_create_requests_per_email, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daily_429_spends_the_rest_of_the_day_for_later_runs() {
    // The sandbox allows fewer creates than the client believes, so the client learns of the
    // limit only from Zoom's daily 429.
    let sandbox = start(SandboxArgs {
        daily_quota: Some(10),
        rate: Some(200),
        ..sandbox_args()
    })
    .await;
    let endpoints = Endpoints::from(&sandbox);
    let folder = RunFolder::new();
    let roster = roster_of(30);
    let clocks = Clocks::at_noon(&sandbox);
    let flag = clocks.flag();
    // One worker, so that exactly one create meets the 429.
    let extra = ["--daily-quota", "100", "--concurrency", "1", &flag];

    let first = run_in(&folder, &endpoints, &roster, &extra).await;
    assert_eq!(first.code, 4, "{}", first.stderr);
    assert_eq!((first.count("created"), first.count("deferred")), (10, 20));
    let stats = sandbox.stats();
    assert_eq!(
        (stats.create_requests, stats.rate_limited_daily),
        (11, 1),
        "ten creates, then one 429 and no more"
    );

    let second = run_in(&folder, &endpoints, &roster, &extra).await;
    assert_eq!(second.code, 4, "{}", second.stderr);
    assert_eq!(
        (second.count("skipped"), second.count("deferred")),
        (10, 20)
    );
    let stats = sandbox.stats();
    assert_eq!(
        (stats.create_requests, stats.rate_limited_daily),
        (11, 1),
        "the day's remainder is zero: nothing was sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_for_quota_sleeps_across_midnight_and_finishes() {
    let sandbox = start(SandboxArgs {
        daily_quota: Some(5),
        rate: Some(200),
        ..sandbox_args()
    })
    .await;
    let endpoints = Endpoints::from(&sandbox);
    let folder = RunFolder::new();
    let clocks = Clocks::before_midnight(&sandbox, 4);
    let flag = clocks.flag();
    let extra = ["--daily-quota", "5", "--wait-for-quota", &flag];

    let roster = roster_of(10);
    let run = run_in(&folder, &endpoints, &roster, &extra);
    // A run that missed midnight would wait a whole day; fail instead.
    let ran = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("the run finishes after one midnight");
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.count("created"), 10);
    assert_ids_are_the_sandboxs(&ran, &sandbox);
    assert!(
        ran.stderr.contains("waiting until 00:00 UTC"),
        "it says what it waits for: {}",
        ran.stderr
    );
    let stats = sandbox.stats();
    assert_eq!((stats.create_requests, stats.users_created), (10, 10));
    assert_eq!(
        stats.rate_limited_daily, 0,
        "it never ran into Zoom's limit"
    );
    assert_eq!(stats.daily_quota_used, 5, "five on the new day");
}

/// Mounts a Zoom that issues tokens and refuses every create with 400 code 1009, expecting
/// exactly `creates` create calls and no look-up.
async fn mount_refusing_zoom(server: &MockServer, creates: u64) {
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "a-token",
            "token_type": "bearer",
            "expires_in": 3599,
            "scope": "user:write:admin user:read:admin",
        })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/users"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 1009,
            "message": "The email domain is not allowed on this account.",
        })))
        .expect(creates)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/v2/users/.+"))
        .respond_with(ResponseTemplate::new(404))
        .expect(0)
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_rows_are_sent_again_only_when_changed_or_asked() {
    let server = MockServer::start().await;
    let endpoints = Endpoints {
        api_url: format!("{}/v2", server.uri()),
        oauth_url: format!("{}/oauth/token", server.uri()),
    };
    let folder = RunFolder::new();
    let roster = "Email,First Name,Last Name\nann@blocked.example,Ann,Lee\n";
    let changed = "Email,First Name,Last Name\nann@blocked.example,Anne,Lee\n";
    let steps: [(&str, &str, &[&str], u64); 5] = [
        ("first run", roster, &[], 1),
        ("unchanged", roster, &[], 0),
        ("--retry-failed", roster, &["--retry-failed"], 1),
        ("changed first name", changed, &[], 1),
        ("changed, then unchanged", changed, &[], 0),
    ];
    for (step, roster, extra, creates) in steps {
        mount_refusing_zoom(&server, creates).await;
        let ran = run_in(&folder, &endpoints, roster, extra).await;
        assert_eq!(ran.code, 3, "{step}: {}", ran.stderr);
        assert_eq!(ran.results.len(), 1, "{step}");
        let line = &ran.results[0];
        assert_eq!(line.status, "failed", "{step}");
        assert_eq!(
            (line.http_status.as_str(), line.zoom_code.as_str()),
            ("400", "1009")
        );
        assert!(
            line.message.contains("email domain is not allowed"),
            "{step}"
        );
        assert_eq!(line.attempts, u32::try_from(creates).unwrap(), "{step}");
        if creates == 0 {
            assert!(
                line.message.contains("not sent again"),
                "{step}: {}",
                line.message
            );
        }
        server.verify().await;
    }
}

/// Leaves `email` in flight in the journal at `path`, as a run killed mid-create would.
fn leave_in_flight(path: &std::path::Path, email: &str, row: u64) {
    let mut journal = Journal::open(path, TEST_CREDENTIAL).unwrap();
    journal
        .record_batch(&[JournalWrite::InFlight {
            email_key: email.to_lowercase(),
            row,
            email: email.to_owned(),
            content_hash: "left by a crashed run".to_owned(),
            at: jiff::Timestamp::now(),
        }])
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hire_left_in_flight_that_exists_is_looked_up_and_not_sent() {
    let folder = RunFolder::new();
    let existing = folder.dir.path().join("existing.txt");
    std::fs::write(&existing, "hire0@example.com\n").unwrap();
    let sandbox = start(SandboxArgs {
        existing: Some(existing),
        ..sandbox_args()
    })
    .await;
    leave_in_flight(&folder.journal(), "hire0@example.com", 2);

    let ran = run_in(&folder, &Endpoints::from(&sandbox), &roster_of(1), &[]).await;
    let stats = sandbox.stats();
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.results.len(), 1);
    let line = &ran.results[0];
    assert_eq!(line.status, "created", "{}", line.message);
    assert_eq!(stats.create_requests, 0, "no create was sent");
    assert_eq!(stats.lookups, 1);
    let id = look_up_id(&sandbox, "hire0@example.com").await;
    assert_eq!(Some(&line.user_id), id.as_ref(), "the looked-up id");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hire_left_in_flight_that_does_not_exist_is_sent_once() {
    let folder = RunFolder::new();
    let sandbox = start(sandbox_args()).await;
    leave_in_flight(&folder.journal(), "hire0@example.com", 2);

    let ran = run_in(&folder, &Endpoints::from(&sandbox), &roster_of(1), &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.count("created"), 1);
    assert_ids_are_the_sandboxs(&ran, &sandbox);
    let stats = sandbox.stats();
    assert_eq!(
        (stats.lookups, stats.lookups_not_found_1001),
        (1, 1),
        "looked up first"
    );
    assert_eq!(stats.create_requests, 1);
    assert_eq!(sandbox.create_requests_for("hire0@example.com"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_on_a_journal_in_use_refuses_and_leaves_the_results_alone() {
    let sandbox = start(sandbox_args()).await;
    let endpoints = Endpoints::from(&sandbox);
    let folder = RunFolder::new();
    let holder = Journal::open(&folder.journal(), TEST_CREDENTIAL).unwrap();
    let holders_results = "row,email,status\n2,someone@example.com,created\n";
    std::fs::write(folder.results(), holders_results).unwrap();

    let output = folder
        .command(&endpoints, &roster_of(3), &[])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "journal {} is in use by another run",
            folder.journal().display()
        )),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(folder.results()).unwrap(),
        holders_results
    );
    assert_eq!(sandbox.stats().create_requests, 0);

    drop(holder);
    let ran = run_in(&folder, &endpoints, &roster_of(3), &[]).await;
    assert_eq!(
        ran.code, 0,
        "free again once the holder is gone: {}",
        ran.stderr
    );
    assert_eq!(ran.count("created"), 3);
}

/// A run of 200 slow rows stopped by `signal` 1.5 s in, then run again to the end.
async fn stop_cleanly_and_resume(signal: &str) {
    let sandbox = start(SandboxArgs {
        latency_ms: 200,
        rate: Some(200),
        ..sandbox_args()
    })
    .await;
    let endpoints = Endpoints::from(&sandbox);
    let folder = RunFolder::new();
    let roster = roster_of(200);

    let child = folder
        .command(&endpoints, &roster, &["--max-rate", "5"])
        .spawn()
        .unwrap();
    wait_for_first_create(&sandbox).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    send_signal(child.id().unwrap(), signal);
    let signalled = Instant::now();
    let output = child.wait_with_output().await.unwrap();
    let stopping_took = signalled.elapsed();
    let stopped = ran(&output, &folder);

    assert_eq!(stopped.code, 4, "SIG{signal}: {}", stopped.stderr);
    assert!(
        stopping_took < STOP_GRACE + Duration::from_secs(10),
        "SIG{signal}: stopped in {stopping_took:?}"
    );
    let rows: Vec<u64> = stopped.results.iter().map(|line| line.row).collect();
    assert_eq!(
        rows,
        (2..=201).collect::<Vec<u64>>(),
        "SIG{signal}: every row has a line"
    );
    let created = stopped.count("created");
    assert!(created > 0, "SIG{signal}: some rows went before the stop");
    assert_eq!(stopped.count("deferred"), 200 - created, "SIG{signal}");
    assert!(
        stopped
            .with_status("deferred")
            .iter()
            .all(|line| line.user_id.is_empty()),
        "SIG{signal}"
    );
    assert_ids_are_the_sandboxs(&stopped, &sandbox);
    assert_eq!(
        sandbox.stats().users_created,
        created as u64,
        "SIG{signal}: every user created has its line"
    );

    let resumed = run_in(&folder, &endpoints, &roster, &[]).await;
    assert_eq!(resumed.code, 0, "SIG{signal}: {}", resumed.stderr);
    assert_eq!(
        (resumed.count("skipped"), resumed.count("created")),
        (created, 200 - created),
        "SIG{signal}"
    );
    assert_ids_are_the_sandboxs(&resumed, &sandbox);
    let stats = sandbox.stats();
    assert_eq!(stats.users_created, 200, "SIG{signal}");
    assert_eq!(stats.conflicts_1005, 0, "SIG{signal}");
    assert_eq!(stats.max_create_requests_per_email, 1, "SIG{signal}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_and_sigterm_stop_cleanly_and_a_rerun_finishes() {
    stop_cleanly_and_resume("INT").await;
    stop_cleanly_and_resume("TERM").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_sigint_quits_at_once_and_the_journal_still_finishes_the_roster() {
    // Answers take 3 s, so the first stop's grace is still running when the second Ctrl-C
    // comes, and the creates in flight at that moment have reached the sandbox unanswered.
    let sandbox = start(SandboxArgs {
        latency_ms: 3000,
        rate: Some(200),
        ..sandbox_args()
    })
    .await;
    let endpoints = Endpoints::from(&sandbox);
    let folder = RunFolder::new();
    let roster = roster_of(20);

    let mut child = folder
        .command(
            &endpoints,
            &roster,
            &["--max-rate", "5", "--concurrency", "3"],
        )
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    wait_for_first_create(&sandbox).await;
    send_signal(pid, "INT");
    let mut seen = String::new();
    while let Some(line) = stderr.next_line().await.unwrap() {
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("stopping:") {
            break;
        }
    }
    assert!(seen.contains("stopping:"), "{seen}");
    // Give the handler a moment to listen for the second Ctrl-C after announcing the stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_signal(pid, "INT");
    while let Some(line) = stderr.next_line().await.unwrap() {
        seen.push_str(&line);
        seen.push('\n');
    }
    let exit = child.wait().await.unwrap();
    assert_eq!(exit.code(), Some(130), "{seen}");
    assert!(seen.contains("quitting at once"), "{seen}");
    let sent_before_quitting = sandbox.stats().create_requests;
    assert!(sent_before_quitting > 0);

    let resumed = run_in(&folder, &endpoints, &roster, &["--concurrency", "20"]).await;
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(resumed.results.len(), 20);
    assert_eq!(
        resumed.count("created") + resumed.count("skipped"),
        20,
        "{:?}",
        resumed.results
    );
    assert_ids_are_the_sandboxs(&resumed, &sandbox);
    let stats = sandbox.stats();
    assert_eq!(stats.users_created, 20, "every user exactly once");
    assert_eq!(stats.conflicts_1005, 0);
    assert_eq!(
        stats.max_create_requests_per_email, 1,
        "the creates cut off by quitting were looked up, not sent again"
    );
}

/// Starts the run `kills` times and SIGKILLs it each time at a random moment (seeded) 0.2 to
/// 1.2 s in. Every kill must land on a run still going.
async fn kill_at_random_moments(
    folder: &RunFolder,
    endpoints: &Endpoints,
    roster: &str,
    extra: &[&str],
    kills: u32,
) {
    let mut moments = StdRng::seed_from_u64(2026);
    for kill in 1..=kills {
        let mut child = folder.command(endpoints, roster, extra).spawn().unwrap();
        let moment = Duration::from_millis(moments.random_range(200..=1200));
        tokio::time::sleep(moment).await;
        if let Some(exit) = child.try_wait().unwrap() {
            panic!("the run ended ({exit}) before kill {kill}: the roster is too short");
        }
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }
}

/// The daily quota the crash test gives both the sandbox and the tool.
const CRASH_TEST_QUOTA: u32 = 1000;

#[tokio::test(flavor = "multi_thread")]
async fn killed_at_random_moments_every_row_still_ends_up_created_exactly_once() {
    const ROWS: usize = 400;
    const KILLS: u32 = 10;
    let sandbox = start(SandboxArgs {
        latency_ms: 20,
        jitter_ms: 10,
        ambiguous_rate: 0.05,
        // Shorter than the request timeout below, so a stalled create is answered with a 504.
        stall_ms: 1000,
        rate: Some(200),
        daily_quota: Some(CRASH_TEST_QUOTA),
        ..sandbox_args()
    })
    .await;
    let endpoints = Endpoints::from(&sandbox);
    let folder = RunFolder::new();
    let roster = roster_of(ROWS);
    let clocks = Clocks::at_noon(&sandbox);
    let flag = clocks.flag();
    let quota = CRASH_TEST_QUOTA.to_string();
    let extra = [
        "--max-rate",
        "40",
        "--request-timeout",
        "3",
        "--daily-quota",
        &quota,
        &flag,
    ];

    kill_at_random_moments(&folder, &endpoints, &roster, &extra, KILLS).await;
    let after_kills = sandbox.stats();
    let mut last = run_in(&folder, &endpoints, &roster, &extra).await;
    for _ in 0..3 {
        if last.code == 0 {
            break;
        }
        last = run_in(&folder, &endpoints, &roster, &extra).await;
    }

    assert_eq!(last.code, 0, "{}", last.stderr);
    assert_eq!(
        last.results.len(),
        ROWS,
        "the last results account for every row"
    );
    assert!(
        last.results.iter().all(
            |line| (line.status == "created" || line.status == "skipped")
                && !line.user_id.is_empty()
        ),
        "{:?}",
        last.results
            .iter()
            .filter(|line| line.user_id.is_empty())
            .collect::<Vec<_>>()
    );
    assert_ids_are_the_sandboxs(&last, &sandbox);

    let stats = sandbox.stats();
    eprintln!(
        "crash test: {KILLS} kills; {} users before the last runs; {stats:?}",
        after_kills.users_created
    );
    let emails: HashSet<String> = sandbox
        .users()
        .into_iter()
        .map(|user| user.email.to_lowercase())
        .collect();
    assert_eq!(emails.len(), ROWS, "every row exists");
    assert_eq!(stats.users_created, ROWS as u64, "exactly once");
    assert_eq!(
        stats.conflicts_1005, 0,
        "no create reached a user already there"
    );
    assert!(
        stats.max_admitted_creates_per_email <= 2,
        "{} admitted creates for one email",
        stats.max_admitted_creates_per_email
    );
    // Nothing turned a create away before the account saw it, so here even the raw count of
    // create requests received per email is bounded.
    assert_eq!(
        (
            stats.rate_limited_qps,
            stats.unauthorized_124,
            stats.faults.dropped
        ),
        (0, 0, 0)
    );
    assert!(
        stats.max_create_requests_per_email <= 2,
        "{} create requests for one email",
        stats.max_create_requests_per_email
    );
    assert_eq!(stats.rate_limited_daily, 0, "never beyond the daily quota");
    assert!(stats.daily_quota_used <= u64::from(CRASH_TEST_QUOTA));
    let journal = Journal::open(&folder.journal(), TEST_CREDENTIAL).unwrap();
    let counted = journal.quota_spent(utc_day(sandbox.now())).unwrap();
    assert!(
        counted >= stats.daily_quota_used,
        "the journal counted {counted} creates today, the sandbox {}",
        stats.daily_quota_used
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_soak_of_5000_rows_loses_nothing_and_creates_each_once() {
    const ROWS: usize = 5000;
    let sandbox = start(SandboxArgs {
        plan: Plan::Business,
        rate: Some(60),
        error_rate: 0.05,
        ambiguous_rate: 0.02,
        drop_rate: 0.02,
        token_ttl: 5,
        revoke_old_tokens: true,
        ..sandbox_args()
    })
    .await;
    let endpoints = Endpoints::from(&sandbox);
    let folder = RunFolder::new();
    let started = Instant::now();
    // About 9% of attempts meet a fault, so with the default four attempts a row in 15,000
    // fails four times running and is, rightly, deferred: one in three soaks would end with a
    // deferred row. Eight attempts make that one in millions, so the soak asks whether any row
    // is lost or doubled rather than how unlucky a row was.
    let ran = run_in(
        &folder,
        &endpoints,
        &roster_of(ROWS),
        &[
            "--plan",
            "business",
            "--request-timeout",
            "2",
            "--max-attempts",
            "8",
        ],
    )
    .await;
    let took = started.elapsed();
    let stats = sandbox.stats();
    eprintln!("fault soak: {ROWS} rows in {took:?}; {stats:?}");

    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rows: Vec<u64> = ran.results.iter().map(|line| line.row).collect();
    assert_eq!(rows, (2..=5001).collect::<Vec<u64>>(), "no row lost");
    let ids = sandbox_ids(&sandbox);
    for line in &ran.results {
        assert!(
            line.status == "created" || line.status == "exists",
            "row {}: {} {}",
            line.row,
            line.status,
            line.message
        );
        assert_eq!(
            Some(&line.user_id),
            ids.get(&line.email),
            "row {}",
            line.row
        );
    }
    assert_eq!(stats.users_created, ROWS as u64);
    assert_eq!(ids.len(), ROWS);
    // The faults were there to meet, and tokens were reissued (revoking the old ones) mid-run.
    assert!(
        stats.faults_injected > 0 && stats.tokens_issued > 1,
        "{stats:?}"
    );
    // The raw per-email count includes refused requests (5xx, drops, 401s, 429s), so the bound
    // is on the creates admitted to the point where they could create a user.
    assert!(
        stats.max_admitted_creates_per_email <= 2,
        "{} admitted creates for one email",
        stats.max_admitted_creates_per_email
    );
    assert_eq!(
        stats.conflicts_1005, 0,
        "no create reached an existing user"
    );
    assert_eq!(ran.count("exists"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn journal_export_lists_each_hire_and_since_tomorrow_lists_none() {
    let sandbox = start(sandbox_args()).await;
    let folder = RunFolder::new();
    let ran = run_in(&folder, &Endpoints::from(&sandbox), &roster_of(5), &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);

    let export = |since: Option<String>| {
        let out = folder.dir.path().join("export.csv");
        let journal = folder.journal();
        async move {
            let mut export = command();
            export
                .args(["journal", "export", "--state"])
                .arg(&journal)
                .arg("--out")
                .arg(&out);
            if let Some(since) = since {
                export.args(["--since", &since]);
            }
            let output = export.output().await.unwrap();
            assert_eq!(
                output.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            std::fs::read_to_string(&out).unwrap()
        }
    };

    let all = export(None).await;
    let mut lines = all.lines();
    assert_eq!(
        lines.next(),
        Some(
            "row,email,status,user_id,http_status,zoom_code,message,attempts,account,\
             submissions,first_seen_at,updated_at,done_at"
        )
    );
    let mut reader = csv::Reader::from_reader(all.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 5, "one line per hire");
    let ids = sandbox_ids(&sandbox);
    for record in &records {
        assert_eq!(&record[2], "created");
        assert_eq!(Some(&record[3].to_owned()), ids.get(&record[1]));
        assert_eq!((&record[8], &record[9]), ("sandbox", "1"));
        assert!(!record[12].is_empty(), "done_at is set");
    }

    let tomorrow = utc_day(jiff::Timestamp::now())
        .tomorrow()
        .unwrap()
        .to_string();
    let none = export(Some(tomorrow)).await;
    assert_eq!(none.lines().count(), 1, "the header alone: {none}");
}

/// Runs `zoom-onboard run` on a two-row roster in `dir` with `state` as the journal and `out` as
/// the results, against `sandbox`.
async fn run_with_state(
    sandbox: &zoom_onboard::sandbox::Sandbox,
    dir: &std::path::Path,
    state: &std::path::Path,
    out: &std::path::Path,
) -> std::process::Output {
    let roster = dir.join("roster.csv");
    if !roster.exists() {
        std::fs::write(&roster, roster_of(2)).unwrap();
    }
    command()
        .arg("run")
        .arg(&roster)
        .arg("--out")
        .arg(out)
        .arg("--state")
        .arg(state)
        .args([
            "--api-url",
            &sandbox.api_url(),
            "--oauth-url",
            &sandbox.token_url(),
        ])
        .env("ZOOM_ACCOUNT_ID", sandbox.account_id())
        .env("ZOOM_CLIENT_ID", sandbox.client_id())
        .env("ZOOM_CLIENT_SECRET", sandbox.client_secret())
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_name_for_a_journal_in_use_is_refused_too() {
    // Regression: the run lock was found by the journal's name, so a hard link to the journal
    // let a second run in, and the two runs damaged it.
    let sandbox = start(sandbox_args()).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.sqlite3");
    let held = Journal::open(&journal, "sandbox").unwrap();
    let other_name = dir.path().join("hard-link.sqlite3");
    std::fs::hard_link(&journal, &other_name).unwrap();

    let output = run_with_state(&sandbox, dir.path(), &other_name, &dir.path().join("r.csv")).await;

    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("in use"));
    assert_eq!(sandbox.stats().create_requests, 0);
    drop(held);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_path_that_is_a_link_or_not_a_journal_is_left_untouched() {
    // Regression: --state set mode 0600 on whatever it named (a device, a link's target, the
    // roster) before finding that it was no journal.
    use std::os::unix::fs::PermissionsExt;
    let sandbox = start(sandbox_args()).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("notes.txt");
    std::fs::write(&target, "not a journal").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.path().join("link.sqlite3");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    for state in [&link, &target] {
        let output = run_with_state(&sandbox, dir.path(), state, &dir.path().join("r.csv")).await;
        assert_eq!(output.status.code(), Some(2), "{state:?}");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{state:?} changed the target's mode");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "not a journal");
    }
    assert!(!dir.path().join("notes.txt.lock").exists());
    assert_eq!(sandbox.stats().create_requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn results_aimed_at_the_journal_are_refused() {
    // Regression: --out naming the journal replaced it with the results.
    let sandbox = start(sandbox_args()).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.sqlite3");
    let first = run_with_state(&sandbox, dir.path(), &journal, &dir.path().join("r.csv")).await;
    assert_eq!(first.status.code(), Some(0));
    let before = std::fs::read(&journal).unwrap();

    let output = run_with_state(&sandbox, dir.path(), &journal, &journal).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("journal"));
    assert_eq!(std::fs::read(&journal).unwrap(), before);

    let export = command()
        .args(["journal", "export", "--state"])
        .arg(&journal)
        .arg("--out")
        .arg(&journal)
        .output()
        .await
        .unwrap();
    assert_eq!(export.status.code(), Some(2));
    assert_eq!(std::fs::read(&journal).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_journal_stops_the_run_before_anything_is_written() {
    // Regression: damage was found part-way, after the results had been truncated.
    let sandbox = start(sandbox_args()).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.sqlite3");
    {
        let mut writes = Vec::new();
        for index in 0..400 {
            writes.push(zoom_onboard::journal::JournalWrite::InFlight {
                email_key: format!("filler{index}@example.com"),
                row: index,
                email: format!("filler{index}@example.com"),
                content_hash: "x".repeat(64),
                at: jiff::Timestamp::now(),
            });
        }
        let mut open = Journal::open(&journal, "sandbox").unwrap();
        open.record_batch(&writes).unwrap();
    }
    let mut bytes = std::fs::read(&journal).unwrap();
    assert!(
        bytes.len() > 12_288,
        "the journal has pages past the first to damage"
    );
    bytes[8_192..12_288].fill(0xff);
    std::fs::write(&journal, bytes).unwrap();
    let out = dir.path().join("r.csv");
    std::fs::write(&out, "earlier results\n").unwrap();

    let output = run_with_state(&sandbox, dir.path(), &journal, &out).await;

    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("damaged"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier results\n");
    assert_eq!(sandbox.stats().create_requests, 0);
}
