//! `zoom-onboard run` end to end: the real binary against the sandbox over HTTP.

use std::fmt::Write as _;
use std::time::Duration;

use crate::support::{self, Finished, roster_of, run_against, sandbox_args, sandbox_ids, start};
use zoom_onboard::sandbox::Endpoint;

/// Every `created` line carries the id the sandbox gave that email.
fn assert_ids_match(finished: &Finished, sandbox: &zoom_onboard::sandbox::Sandbox) {
    let ids = sandbox_ids(sandbox);
    for line in finished.with_status("created") {
        assert_eq!(
            Some(&line.user_id),
            ids.get(&line.email.to_lowercase()),
            "row {} has the sandbox's id",
            line.row
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_valid_row_is_created_with_its_id() {
    let sandbox = start(sandbox_args()).await;
    let finished = run_against(&sandbox, &roster_of(25), &[]).await;

    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(finished.results.len(), 25);
    assert_eq!(finished.count("created"), 25);
    let rows: Vec<u64> = finished.results.iter().map(|line| line.row).collect();
    assert_eq!(
        rows,
        (2..=26).collect::<Vec<u64>>(),
        "roster order, header is row 1"
    );
    assert!(
        finished
            .results
            .iter()
            .all(|line| line.http_status == "201" && line.attempts == 1)
    );
    assert_ids_match(&finished, &sandbox);
    let stats = sandbox.stats();
    assert_eq!(stats.users_created, 25);
    assert_eq!(stats.create_requests, 25);
    assert_eq!(stats.tokens_issued, 1, "one token shared by the whole pool");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_and_duplicate_rows_are_never_sent() {
    let sandbox = start(sandbox_args()).await;
    let long_name = "N".repeat(65);
    let roster = format!(
        "Email,First Name,Last Name,User Type\n\
         good@example.com,Ann,Lee,1\n\
         not-an-email,Bob,Ray,1\n\
         GOOD@example.com ,Ann,Lee,1\n\
         long@example.com,{long_name},X,1\n\
         typed@example.com,Cy,Vo,7\n\
         sso@example.com,Di,Wu,99\n\
         fine@example.com,Ed,Ox,2\n"
    );
    let finished = run_against(&sandbox, &roster, &[]).await;

    assert_eq!(finished.code, 3, "{}", finished.stderr);
    let statuses: Vec<&str> = finished
        .results
        .iter()
        .map(|line| line.status.as_str())
        .collect();
    assert_eq!(
        statuses,
        [
            "created",
            "invalid",
            "duplicate",
            "invalid",
            "invalid",
            "invalid",
            "created"
        ]
    );
    for line in finished.with_status("invalid") {
        assert!(line.http_status.is_empty() && line.zoom_code.is_empty() && line.attempts == 0);
    }
    assert!(
        finished.results[1].message.contains("email"),
        "{:?}",
        finished.results[1]
    );
    assert!(
        finished.results[3].message.contains("64"),
        "{:?}",
        finished.results[3]
    );
    assert!(
        finished.results[4].message.contains("type"),
        "{:?}",
        finished.results[4]
    );
    assert!(
        finished.results[2].message.contains("row 2"),
        "{:?}",
        finished.results[2]
    );
    let stats = sandbox.stats();
    assert_eq!(stats.create_requests, 2);
    assert_eq!(stats.users_created, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_already_in_the_account_is_exists_with_its_id() {
    let (sandbox, _existing) = support::start_with_existing(&["taken@example.com"]).await;
    let roster = "Email\nTaken@Example.com\nnew@example.com\n";
    let finished = run_against(&sandbox, roster, &[]).await;

    assert_eq!(finished.code, 0, "{}", finished.stderr);
    let taken = &finished.results[0];
    assert_eq!(taken.status, "exists");
    assert_eq!(taken.http_status, "409");
    assert_eq!(taken.zoom_code, "1005");
    assert!(!taken.user_id.is_empty());
    assert_eq!(
        Some(taken.user_id.clone()),
        support::look_up_id(&sandbox, "taken@example.com").await
    );
    assert_eq!(finished.results[1].status, "created");
    assert_eq!(sandbox.stats().conflicts_1005, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_quota_met_mid_roster_defers_the_rest_and_sends_nothing_after() {
    let sandbox = start(zoom_onboard::sandbox::SandboxArgs {
        daily_quota: Some(5),
        ..sandbox_args()
    })
    .await;
    let finished = run_against(&sandbox, &roster_of(12), &["--concurrency", "1"]).await;

    assert_eq!(finished.code, 4, "{}", finished.stderr);
    assert_eq!(finished.count("created"), 5);
    assert_eq!(finished.count("deferred"), 7);
    assert!(
        finished
            .with_status("deferred")
            .iter()
            .all(|line| line.message.contains("00:00 UTC"))
    );
    let stats = sandbox.stats();
    assert_eq!(stats.users_created, 5);
    assert_eq!(stats.rate_limited_daily, 1);
    assert_eq!(
        stats.create_requests, 6,
        "the five creates and the one refused: nothing after"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clients_own_daily_budget_stops_before_zoom_has_to() {
    let sandbox = start(sandbox_args()).await;
    let finished = run_against(&sandbox, &roster_of(8), &["--daily-quota", "3"]).await;

    assert_eq!(finished.code, 4, "{}", finished.stderr);
    assert_eq!(finished.count("created"), 3);
    assert_eq!(finished.count("deferred"), 5);
    assert_eq!(sandbox.stats().create_requests, 3);
    assert_eq!(sandbox.stats().rate_limited_daily, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn per_second_429s_pause_the_pool_and_every_row_is_created() {
    let sandbox = start(zoom_onboard::sandbox::SandboxArgs {
        rate: Some(5),
        ..sandbox_args()
    })
    .await;
    let finished = run_against(&sandbox, &roster_of(30), &["--max-rate", "20"]).await;

    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(finished.count("created"), 30);
    assert_ids_match(&finished, &sandbox);
    let stats = sandbox.stats();
    assert!(
        stats.rate_limited_qps > 0,
        "the sandbox was slower than the client"
    );
    assert_eq!(stats.users_created, 30);
    // After each 429 the pool waits out its Retry-After, which the sandbox gives in whole
    // seconds, so at least 1 s. A request already on the wire when the 429 was sent may still
    // arrive; allow 50 ms for those.
    let creates: Vec<_> = sandbox
        .request_log()
        .into_iter()
        .filter(|record| record.endpoint == Endpoint::Create)
        .collect();
    for refused in creates.iter().filter(|record| record.status == 429) {
        let quiet_from = refused.arrived + Duration::from_millis(50);
        let quiet_until = refused.arrived + Duration::from_millis(990);
        let inside = creates
            .iter()
            .filter(|record| record.arrived > quiet_from && record.arrived < quiet_until)
            .count();
        assert_eq!(
            inside, 0,
            "no request inside the Retry-After pause of {refused:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn short_lived_tokens_revoked_on_reissue_are_renewed_and_shared() {
    let sandbox = start(zoom_onboard::sandbox::SandboxArgs {
        token_ttl: 2,
        revoke_old_tokens: true,
        ..sandbox_args()
    })
    .await;
    let started = std::time::Instant::now();
    let finished = run_against(&sandbox, &roster_of(60), &["--max-rate", "10"]).await;
    let seconds = started.elapsed().as_secs_f64();

    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(finished.count("created"), 60);
    let issued = sandbox.stats().tokens_issued as f64;
    let expected = seconds / 2.0;
    assert!(
        issued >= expected.floor() && issued <= expected.ceil() + 2.0,
        "{issued} tokens for a {seconds:.1} s run with 2 s tokens"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected_credentials_exit_5_and_create_nothing() {
    let sandbox = start(sandbox_args()).await;
    let finished = support::run_with_credentials(
        &sandbox,
        &roster_of(4),
        &[],
        (sandbox.account_id(), sandbox.client_id(), "wrong-secret"),
    )
    .await;

    assert_eq!(finished.code, 5, "{}", finished.stderr);
    assert_eq!(finished.count("deferred"), 4);
    assert!(
        finished.results[0].message.contains("rejected"),
        "{:?}",
        finished.results[0]
    );
    assert!(!finished.stderr.contains("wrong-secret"));
    let stats = sandbox.stats();
    assert_eq!(stats.create_requests, 0);
    assert_eq!(stats.users_created, 0);
    assert_eq!(stats.tokens_refused, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn ambiguous_creates_end_created_with_the_right_id_and_are_not_resent() {
    let sandbox = start(zoom_onboard::sandbox::SandboxArgs {
        ambiguous_rate: 0.3,
        stall_ms: 3_000,
        ..sandbox_args()
    })
    .await;
    let finished = run_against(
        &sandbox,
        &roster_of(40),
        &["--request-timeout", "1", "--max-rate", "30"],
    )
    .await;

    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(finished.count("created"), 40);
    assert_ids_match(&finished, &sandbox);
    let stats = sandbox.stats();
    assert!(stats.faults_injected > 0);
    assert_eq!(stats.users_created, 40);
    assert!(stats.max_create_requests_per_email <= 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_and_dropped_connections_are_retried_until_created() {
    let sandbox = start(zoom_onboard::sandbox::SandboxArgs {
        error_rate: 0.2,
        drop_rate: 0.1,
        ..sandbox_args()
    })
    .await;
    let finished = run_against(&sandbox, &roster_of(40), &["--max-attempts", "8"]).await;

    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_eq!(finished.count("created"), 40);
    assert_ids_match(&finished, &sandbox);
    let stats = sandbox.stats();
    assert!(stats.faults_injected > 0);
    assert_eq!(stats.users_created, 40);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_sample_runs_against_the_built_in_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.csv");
    let output = support::command()
        .args([
            "run",
            "samples/new_hires.csv",
            "--sandbox",
            "--plan",
            "business",
            "--out",
        ])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .await
        .unwrap();
    let finished = support::finished(&output, &out, dir);

    assert_eq!(finished.code, 3, "{}", finished.stderr);
    let sample_rows = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/new_hires.csv"),
    )
    .unwrap()
    .lines()
    .count()
        - 1;
    assert_eq!(finished.results.len(), sample_rows);
    assert_eq!(
        finished.count("invalid"),
        4,
        "two emails, a long name, a type"
    );
    assert_eq!(finished.count("duplicate"), 1);
    assert_eq!(finished.count("created"), sample_rows - 5);
    assert!(
        finished
            .with_status("created")
            .iter()
            .all(|line| !line.user_id.is_empty())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_row_followed_by_thousands_of_finished_rows_does_not_hang() {
    // Regression: the reorder window filled with rows finished behind one slow row, and the
    // loop that waited for room was the only one that could forward the slow row's outcome.
    let sandbox = start(zoom_onboard::sandbox::SandboxArgs {
        latency_ms: 1_500,
        ..sandbox_args()
    })
    .await;
    let mut roster = String::from("Email,First Name\nslow@example.com,Slow\n");
    for index in 0..5_000 {
        let _ = writeln!(roster, "not-an-email-{index},Quick");
    }
    let finished = tokio::time::timeout(
        Duration::from_secs(120),
        run_against(&sandbox, &roster, &[]),
    )
    .await
    .expect("the run finishes");

    assert_eq!(finished.code, 3, "{}", finished.stderr);
    assert_eq!(finished.results.len(), 5_001);
    assert_eq!(finished.results[0].status, "created");
    assert_eq!(finished.count("invalid"), 5_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_daily_429_no_worker_sends_another_create() {
    // Regression: workers already waiting at the rate limiter sent their creates after the
    // daily 429 had arrived.
    let sandbox = start(zoom_onboard::sandbox::SandboxArgs {
        daily_quota: Some(5),
        ..sandbox_args()
    })
    .await;
    let finished = run_against(&sandbox, &roster_of(60), &[]).await;

    assert_eq!(finished.code, 4, "{}", finished.stderr);
    assert_eq!(finished.count("created"), 5);
    assert_eq!(finished.count("deferred"), 55);
    let stats = sandbox.stats();
    assert_eq!(
        stats.rate_limited_daily, 1,
        "one daily 429, then nothing more was sent"
    );
    assert_eq!(stats.create_requests, 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn results_aimed_at_the_roster_itself_are_refused_and_the_roster_kept() {
    // Regression: --out naming the roster (directly or through a link) truncated it and the
    // run then read its own results.
    let sandbox = start(sandbox_args()).await;
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    let text = roster_of(3);
    std::fs::write(&roster, &text).unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&roster, &link).unwrap();

    for out in [&roster, &link] {
        let output = support::command()
            .arg("run")
            .arg(&roster)
            .arg("--out")
            .arg(out)
            .arg("--state")
            .arg(dir.path().join("journal.sqlite3"))
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
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{out:?}");
        assert_eq!(std::fs::read_to_string(&roster).unwrap(), text);
    }
    assert_eq!(sandbox.stats().create_requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_setup_error_leaves_the_previous_results_alone() {
    // Regression: a run that stopped on its setup truncated the results of the run before.
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    std::fs::write(&roster, roster_of(2)).unwrap();
    let out = dir.path().join("results.csv");
    std::fs::write(&out, "earlier results\n").unwrap();
    let output = support::command()
        .arg("run")
        .arg(&roster)
        .arg("--out")
        .arg(&out)
        .arg("--state")
        .arg(dir.path().join("journal.sqlite3"))
        .args(["--oauth-url", "http://127.0.0.1:9/oauth/token"])
        .args(["--api-url", "http://127.0.0.1:9/v2"])
        .env("ZOOM_ACCOUNT_ID", "a")
        .env("ZOOM_CLIENT_ID", "b")
        .env("ZOOM_CLIENT_SECRET", "c")
        .output()
        .await
        .unwrap();

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nothing was sent"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier results\n");
}
