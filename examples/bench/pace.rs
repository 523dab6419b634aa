//! Scenario 1, rate efficiency: how close a run comes to the plan's per-second limit, and
//! whether it ever goes over.
//!
//! Each run gets a fresh sandbox in this process and a fresh roster, journal and results file,
//! and runs the binary as a user would. The pace is read from the sandbox's own arrival log:
//! successful creates, first to last.

use std::path::Path;
use std::time::Duration;

use zoom_onboard::sandbox::{Endpoint, Plan, Sandbox, SandboxArgs};

use crate::process::{
    Timed, Tools, run_timed, timed_command, with_sandbox_credentials, write_roster,
};

/// A per-second rate, and a burst, that nothing here reaches.
pub const UNLIMITED_RATE: u32 = 100_000_000;

/// One run of scenario 1.
#[derive(Debug, Clone)]
pub struct PaceRun {
    /// The plan's per-second limit.
    pub limit: f64,
    /// Successful creates a second, from the first to the last arrival at the sandbox.
    pub achieved: f64,
    /// `achieved` as a share of `limit`.
    pub efficiency: f64,
    /// 429s the sandbox sent, of either kind.
    pub rejected_429: u64,
    /// Users the sandbox created.
    pub created: u64,
    /// Roster rows.
    pub rows: usize,
    /// The tool's process, measured.
    pub timed: Timed,
    /// Successful creates arriving in each whole second after the first one.
    pub per_second: Vec<u32>,
}

impl PaceRun {
    /// The tool's CPU time per 1,000 rows, seconds.
    pub fn cpu_per_thousand(&self) -> f64 {
        self.timed.cpu * 1000.0 / self.rows as f64
    }
}

/// The name the command line uses for a plan.
pub fn plan_name(plan: Plan) -> &'static str {
    match plan {
        Plan::Free => "free",
        Plan::Pro => "pro",
        Plan::Business => "business",
    }
}

/// The sandbox a run goes against.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The plan, for both the sandbox and the tool.
    pub plan: Plan,
    /// The sandbox's latency; it is jittered by half of it either way.
    pub latency_ms: u64,
    /// Lift the sandbox's per-second limit out of reach, for the overhead scenario.
    pub unlimited: bool,
}

/// Runs `rows` fresh hires through the binary against a sandbox set up as `setting` says.
///
/// The daily quota is lifted on both sides to at least `rows`, since pro's 1,500 creates a day
/// would otherwise end a 5,000-row run early: this scenario measures the per-second pace.
pub async fn pace_run(
    tools: &Tools,
    setting: Setting,
    rows: usize,
    work: &Path,
    tag: &str,
) -> PaceRun {
    let Setting {
        plan,
        latency_ms,
        unlimited,
    } = setting;
    let quota = (rows as u64).max(plan.daily_create_quota());
    let sandbox = Sandbox::start(SandboxArgs {
        plan,
        latency_ms,
        jitter_ms: latency_ms / 2,
        rate: unlimited.then_some(UNLIMITED_RATE),
        burst: unlimited.then_some(UNLIMITED_RATE),
        daily_quota: Some(u32::try_from(quota).expect("a quota that fits")),
        seed: Some(7),
        ..SandboxArgs::default()
    })
    .await
    .expect("the sandbox starts");
    let folder = work.join(tag);
    std::fs::create_dir_all(&folder).expect("a folder for the run");
    let roster = folder.join("roster.csv");
    write_roster(&roster, rows, &format!("{tag}-"));

    let report = folder.join("time.txt");
    let mut command = timed_command(&tools.binary, &report);
    command
        .arg("run")
        .arg(&roster)
        .arg("--out")
        .arg(folder.join("results.csv"))
        .arg("--state")
        .arg(folder.join("journal.sqlite3"))
        .args(["--plan", plan_name(plan)])
        .args(["--daily-quota", &quota.to_string()])
        .args(["--api-url", &sandbox.api_url()])
        .args(["--oauth-url", &sandbox.token_url()]);
    with_sandbox_credentials(&mut command, &sandbox);
    // A run that hangs is cut off at twice its expected length and a minute.
    let expected = rows as f64 / f64::from(plan.light_per_second());
    let limit = Duration::from_secs_f64(expected * 2.0 + 60.0);
    let timed = run_timed(command, &report, limit).await;

    let run = measure(&sandbox, plan, rows, timed);
    sandbox.shutdown().await;
    run
}

/// Reads the pace and the refusals from the sandbox's log and counters.
fn measure(sandbox: &Sandbox, plan: Plan, rows: usize, timed: Timed) -> PaceRun {
    let successes: Vec<Duration> = sandbox
        .request_log()
        .into_iter()
        .filter(|record| record.endpoint == Endpoint::Create && (200..300).contains(&record.status))
        .map(|record| record.arrived)
        .collect();
    let limit = f64::from(plan.light_per_second());
    let achieved = match (successes.first(), successes.last()) {
        // n arrivals span n - 1 intervals.
        (Some(first), Some(last)) if last > first => {
            (successes.len() - 1) as f64 / last.saturating_sub(*first).as_secs_f64()
        }
        _ => 0.0,
    };
    let mut per_second = Vec::new();
    if let Some(first) = successes.first() {
        for arrived in &successes {
            let second = arrived.saturating_sub(*first).as_secs() as usize;
            if per_second.len() <= second {
                per_second.resize(second + 1, 0);
            }
            per_second[second] += 1;
        }
    }
    let stats = sandbox.stats();
    PaceRun {
        limit,
        achieved,
        efficiency: achieved / limit,
        rejected_429: stats.rate_limited_qps + stats.rate_limited_daily,
        created: stats.users_created,
        rows,
        timed,
        per_second,
    }
}

/// The CI smoke test: a few seconds of scenario 1 at business pace. Returns whether it passed:
/// no 429, every row created, and at least `floor` of the limit.
pub async fn smoke(tools: &Tools, work: &Path, rows: usize, floor: f64) -> bool {
    let setting = Setting {
        plan: Plan::Business,
        latency_ms: 50,
        unlimited: false,
    };
    let run = pace_run(tools, setting, rows, work, "smoke").await;
    let passed = run.rejected_429 == 0 && run.created == rows as u64 && run.efficiency >= floor;
    println!(
        "bench smoke: {rows} rows, business (80/s), 50 ± 25 ms: {:.1} creates/s = {:.3} of the \
         limit (floor {floor}); {} created; {} 429s; exit {}; {:.1} s: {}",
        run.achieved,
        run.efficiency,
        run.created,
        run.rejected_429,
        run.timed.exit,
        run.timed.wall,
        if passed { "ok" } else { "FAILED" },
    );
    if !passed {
        eprintln!("{}", run.timed.stderr);
    }
    passed
}
