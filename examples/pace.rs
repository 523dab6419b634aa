//! Measures how close a run comes to the account's per-second limit.
//!
//! It starts a sandbox in this process with the given plan and latency, writes a roster of
//! fresh hires, runs the release binary against it as a user would, and prints the achieved
//! create rate (from the sandbox's own arrival log) as a share of the plan's limit, with the
//! 429s the sandbox sent.
//!
//! ```sh
//! cargo build --release && cargo run --release --example pace -- 2000 business 100 0
//! ```
//!
//! Arguments, all optional: rows (2000), plan (business), latency in ms (100), jitter in ms (0).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use zoom_onboard::sandbox::{Endpoint, Plan, Sandbox, SandboxArgs};

#[tokio::main]
async fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let argument = |index: usize, default: &str| {
        arguments
            .get(index)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    };
    let rows: usize = argument(0, "2000").parse().expect("rows is a number");
    let plan = match argument(1, "business").as_str() {
        "free" => Plan::Free,
        "pro" => Plan::Pro,
        _ => Plan::Business,
    };
    let latency_ms: u64 = argument(2, "100").parse().expect("latency is a number");
    let jitter_ms: u64 = argument(3, "0").parse().expect("jitter is a number");

    let sandbox = Sandbox::start(SandboxArgs {
        listen: "127.0.0.1:0".parse().expect("an address"),
        plan,
        latency_ms,
        jitter_ms,
        seed: Some(1),
        ..SandboxArgs::default()
    })
    .await
    .expect("the sandbox starts");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let roster = dir.path().join("roster.csv");
    let mut text = String::from("email,first_name,last_name\n");
    for index in 0..rows {
        let _ = writeln!(text, "pace{index}@example.com,Pace,Hire{index}");
    }
    std::fs::write(&roster, text).expect("the roster is written");

    let started = Instant::now();
    let exit = tokio::process::Command::new(binary())
        .arg("run")
        .arg(&roster)
        .arg("--out")
        .arg(dir.path().join("results.csv"))
        .arg("--state")
        .arg(dir.path().join("journal.sqlite3"))
        .args(["--plan", plan_name(plan)])
        .args([
            "--api-url",
            &sandbox.api_url(),
            "--oauth-url",
            &sandbox.token_url(),
        ])
        .env("ZOOM_ACCOUNT_ID", sandbox.account_id())
        .env("ZOOM_CLIENT_ID", sandbox.client_id())
        .env("ZOOM_CLIENT_SECRET", sandbox.client_secret())
        .status()
        .await
        .expect("the binary runs");
    let wall = started.elapsed().as_secs_f64();

    let creates: Vec<_> = sandbox
        .request_log()
        .into_iter()
        .filter(|record| record.endpoint == Endpoint::Create)
        .collect();
    let (Some(first), Some(last)) = (creates.first(), creates.last()) else {
        eprintln!("no creates arrived; exit status {exit}");
        return;
    };
    let span = last.arrived.saturating_sub(first.arrived).as_secs_f64();
    // n arrivals span n - 1 intervals.
    let achieved = (creates.len() - 1) as f64 / span;
    let limit = f64::from(plan.light_per_second());
    let stats = sandbox.stats();
    println!(
        "rows {rows}, plan {}, latency {latency_ms}±{jitter_ms} ms: {achieved:.1} creates/s = \
         {:.3} of the limit {limit}/s; {} created; {} 429s; wall {wall:.1} s; exit {}",
        plan_name(plan),
        achieved / limit,
        stats.users_created,
        stats.rate_limited_qps + stats.rate_limited_daily,
        exit.code().unwrap_or(-1),
    );
    sandbox.shutdown().await;
}

fn plan_name(plan: Plan) -> &'static str {
    match plan {
        Plan::Free => "free",
        Plan::Pro => "pro",
        Plan::Business => "business",
    }
}

/// The release binary beside this example: `target/release/zoom-onboard`.
fn binary() -> PathBuf {
    let example = std::env::current_exe().expect("the example's own path");
    let release = example
        .parent()
        .and_then(|examples| examples.parent())
        .expect("target/release");
    release.join("zoom-onboard")
}
