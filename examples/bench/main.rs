//! The benchmark harness of issue 7: runs every scenario against sandboxes on this machine and
//! writes `docs/benchmarks.md` with a plot of the pace.
//!
//! ```sh
//! bench/run.sh                  # builds in release, runs everything (about 30 minutes)
//! target/release/examples/bench full  [--out docs/benchmarks.md]
//! target/release/examples/bench quick [--out /tmp/benchmarks.md]   # minutes, small figures
//! target/debug/examples/bench smoke   # CI: seconds; exits 1 on any 429 or efficiency < 0.9
//! ```
//!
//! The scenarios, each in its own module:
//!
//! 1. `pace`: rate efficiency at pro and business, 50, 150 and 400 ms of latency;
//! 2. `overhead`: rows a second and CPU per row with an unlimited, instant sandbox, and a profile;
//! 3. `check`: `zoom-onboard check` against the csv crate alone on a million rows;
//! 4. `memory`: peak memory of `check` and `run` on short and long rosters;
//! 5. `alternatives`: a curl loop, `xargs -P 16 curl` and zoom-onboard side by side.
//!
//! The harness measures the binary from outside (`/usr/bin/time`) and the sandbox from inside
//! (its arrival log and counters). Timing figures live here and in the report, never in tests.

mod alternatives;
mod check;
mod memory;
mod overhead;
mod pace;
mod plot;
mod process;
mod report;

use std::path::{Path, PathBuf};
use std::time::Instant;

use zoom_onboard::sandbox::Plan;

use alternatives::{Approach, SideRun, side_run};
use overhead::{Pace, Profile, UncheckedRun, profile_run, unchecked_run};
use pace::{PaceRun, Setting, pace_run};
use process::{Timed, Tools, write_roster};

/// How much of each scenario to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The mode's name, for the report.
    pub mode: &'static str,
    /// Scenario 1: rows a run.
    pub pace_rows: usize,
    /// Scenario 1: runs of each business cell.
    pub business_repeats: usize,
    /// Scenario 1: runs of each pro cell, the slowest ones.
    pub pro_repeats: usize,
    /// Scenario 1: sandbox latencies, ms.
    pub latencies: Vec<u64>,
    /// Scenario 2: rows of a binary run at the business pace.
    pub overhead_rows: usize,
    /// Scenario 2: rows of a run with the pacer lifted.
    pub unchecked_rows: usize,
    /// Scenario 2: runs of each.
    pub overhead_repeats: usize,
    /// Scenario 2: workers in flight with the pacer lifted (what `run --plan business` uses).
    pub unchecked_workers: usize,
    /// Scenarios 3 and 4: rows of the long roster.
    pub long_rows: usize,
    /// Scenario 4: rows of the short roster.
    pub short_rows: usize,
    /// Scenarios 3 and 4: runs of each.
    pub roster_repeats: usize,
    /// Scenario 5: rows.
    pub side_rows: usize,
    /// Scenario 5: runs of `xargs` and zoom-onboard.
    pub side_repeats: usize,
    /// Scenario 5: runs of the sequential loop, the slowest.
    pub curl_loop_repeats: usize,
}

impl Settings {
    /// The figures the report is made of.
    fn full() -> Settings {
        Settings {
            mode: "full",
            pace_rows: 5_000,
            business_repeats: 3,
            pro_repeats: 1,
            latencies: vec![50, 150, 400],
            overhead_rows: 2_000,
            unchecked_rows: 20_000,
            overhead_repeats: 3,
            unchecked_workers: 40,
            long_rows: 1_000_000,
            short_rows: 10_000,
            roster_repeats: 3,
            side_rows: 2_000,
            side_repeats: 3,
            curl_loop_repeats: 1,
        }
    }

    /// Every scenario, small: to try the harness itself.
    fn quick() -> Settings {
        Settings {
            mode: "quick",
            pace_rows: 300,
            business_repeats: 1,
            pro_repeats: 1,
            latencies: vec![50, 150, 400],
            overhead_rows: 300,
            unchecked_rows: 3_000,
            overhead_repeats: 1,
            unchecked_workers: 40,
            long_rows: 50_000,
            short_rows: 2_000,
            roster_repeats: 1,
            side_rows: 150,
            side_repeats: 1,
            curl_loop_repeats: 1,
        }
    }
}

/// Every figure of one harness run.
#[derive(Debug, Default)]
pub struct Figures {
    /// Scenario 1: each cell's runs.
    pub pace: Vec<(Setting, Vec<PaceRun>)>,
    /// Scenario 2: the binary at the business pace, unlimited sandbox.
    pub overhead_binary: Vec<PaceRun>,
    /// Scenario 2: the binary with the pacer lifted.
    pub overhead_unchecked: Vec<UncheckedRun>,
    /// Scenario 2: where the time goes at the business pace.
    pub profile_paced: Option<Profile>,
    /// Scenario 2: where the time goes with the pacer lifted.
    pub profile_unchecked: Option<Profile>,
    /// Scenario 3: whether this build has `check`.
    pub check_available: bool,
    /// Scenario 3 and 4: `check` on the long roster.
    pub check_long: Vec<Timed>,
    /// Scenario 3: the csv crate on the long roster.
    pub csv_long: Vec<Timed>,
    /// Scenario 4: `check` on the short roster.
    pub check_short: Vec<Timed>,
    /// Scenario 4: `run` on the short roster, most rows deferred.
    pub run_short: Vec<Timed>,
    /// Scenario 4: `run` on the long roster, most rows deferred.
    pub run_long: Vec<Timed>,
    /// Scenario 4: `run` on the short roster, every row deferred.
    pub run_short_none_sent: Vec<Timed>,
    /// Scenario 4: `run` on the long roster, every row deferred.
    pub run_long_none_sent: Vec<Timed>,
    /// Scenario 5: each approach's runs.
    pub side: Vec<(Approach, Vec<SideRun>)>,
    /// The harness's own wall time, seconds.
    pub total_seconds: f64,
}

#[tokio::main]
async fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let mode = arguments.first().map_or("full", String::as_str);
    let out = arguments
        .iter()
        .position(|argument| argument == "--out")
        .and_then(|index| arguments.get(index + 1))
        .map_or_else(|| PathBuf::from("docs/benchmarks.md"), PathBuf::from);
    let tools = Tools::beside_this_program();
    assert!(
        tools.binary.exists(),
        "{} is missing: build it first (cargo build --release --bins --examples)",
        tools.binary.display()
    );
    let work = tempfile::tempdir().expect("a temporary folder");

    let settings = match mode {
        "smoke" => {
            let passed = pace::smoke(&tools, work.path(), 400, 0.9).await;
            std::process::exit(i32::from(!passed));
        }
        "quick" => Settings::quick(),
        "full" => Settings::full(),
        other => {
            eprintln!("usage: bench [full|quick|smoke] [--out PATH]; got {other:?}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let mut figures = Figures::default();
    rate_efficiency(&tools, &settings, work.path(), &mut figures).await;
    overheads(&tools, &settings, work.path(), &mut figures).await;
    long_rosters(&tools, &settings, work.path(), &mut figures).await;
    side_by_side(&tools, &settings, work.path(), &mut figures).await;
    figures.total_seconds = started.elapsed().as_secs_f64();

    let plot = out.with_file_name("benchmarks-pace.svg");
    plot::pace_over_time(&figures, &plot);
    let text = report::render(&settings, &figures, &plot);
    std::fs::write(&out, text).expect("the report is written");
    eprintln!(
        "bench: wrote {} and {} in {:.0} s",
        out.display(),
        plot.display(),
        figures.total_seconds
    );
}

/// Progress on stderr, so that a long harness run shows it is alive.
fn progress(started: Instant, what: &str) {
    eprintln!("[{:>6.0} s] {what}", started.elapsed().as_secs_f64());
}

/// Scenario 1.
async fn rate_efficiency(tools: &Tools, settings: &Settings, work: &Path, figures: &mut Figures) {
    let started = Instant::now();
    for plan in [Plan::Pro, Plan::Business] {
        let repeats = match plan {
            Plan::Pro => settings.pro_repeats,
            _ => settings.business_repeats,
        };
        for &latency_ms in &settings.latencies {
            let setting = Setting {
                plan,
                latency_ms,
                unlimited: false,
            };
            let mut runs = Vec::new();
            for repeat in 0..repeats {
                let tag = format!("pace-{}-{latency_ms}-{repeat}", pace::plan_name(plan));
                let run = pace_run(tools, setting, settings.pace_rows, work, &tag).await;
                progress(
                    started,
                    &format!(
                        "{tag}: {:.2}/s = {:.3} of {}/s, {} 429s",
                        run.achieved, run.efficiency, run.limit, run.rejected_429
                    ),
                );
                runs.push(run);
            }
            figures.pace.push((setting, runs));
        }
    }
}

/// Scenario 2.
async fn overheads(tools: &Tools, settings: &Settings, work: &Path, figures: &mut Figures) {
    let started = Instant::now();
    let setting = Setting {
        plan: Plan::Business,
        latency_ms: 0,
        unlimited: true,
    };
    for repeat in 0..settings.overhead_repeats {
        let tag = format!("overhead-binary-{repeat}");
        let run = pace_run(tools, setting, settings.overhead_rows, work, &tag).await;
        progress(
            started,
            &format!("{tag}: {:.3} CPU-s per 1,000 rows", run.cpu_per_thousand()),
        );
        figures.overhead_binary.push(run);
    }
    for repeat in 0..settings.overhead_repeats {
        let tag = format!("overhead-unchecked-{repeat}");
        let run = unchecked_run(
            tools,
            settings.unchecked_rows,
            settings.unchecked_workers,
            work,
            &tag,
        )
        .await;
        progress(
            started,
            &format!(
                "{tag}: {:.0} rows/s, {:.3} CPU-s per 1,000 rows, exit {}",
                run.rows_per_second,
                run.cpu_per_thousand(),
                run.timed.exit
            ),
        );
        figures.overhead_unchecked.push(run);
    }
    figures.profile_paced = profile_run(tools, settings.overhead_rows, Pace::Business, work).await;
    let unchecked = Pace::Unchecked {
        workers: settings.unchecked_workers,
    };
    figures.profile_unchecked = profile_run(tools, settings.unchecked_rows, unchecked, work).await;
    progress(started, "profile recorded");
}

/// Scenarios 3 and 4.
async fn long_rosters(tools: &Tools, settings: &Settings, work: &Path, figures: &mut Figures) {
    let started = Instant::now();
    let short = work.join("short-roster.csv");
    let long = work.join("long-roster.csv");
    write_roster(&short, settings.short_rows, "short-");
    write_roster(&long, settings.long_rows, "long-");
    figures.check_available = check::check_available(tools).await;
    for _ in 0..settings.roster_repeats {
        if figures.check_available {
            figures
                .check_short
                .push(check::check_once(tools, &short, work).await);
            figures
                .check_long
                .push(check::check_once(tools, &long, work).await);
        }
        figures
            .csv_long
            .push(check::csv_count_once(tools, &long, settings.long_rows, work).await);
        progress(started, "check and csv_count on the long roster");
    }
    for repeat in 0..settings.roster_repeats {
        let folder = work.join(format!("memory-{repeat}"));
        for (quota, short_runs, long_runs) in [
            (
                memory::SMALL_QUOTA,
                &mut figures.run_short,
                &mut figures.run_long,
            ),
            (
                0,
                &mut figures.run_short_none_sent,
                &mut figures.run_long_none_sent,
            ),
        ] {
            // One hang is the finding; repeating it would only spend minutes.
            if short_runs
                .iter()
                .chain(long_runs.iter())
                .any(|timed| timed.hung)
            {
                continue;
            }
            let folder = folder.join(format!("quota-{quota}"));
            let short_run =
                memory::run_deferring(tools, &short, &folder.join("short"), quota).await;
            let long_run = memory::run_deferring(tools, &long, &folder.join("long"), quota).await;
            progress(
                started,
                &format!(
                    "run --daily-quota {quota}: short exit {} ({:.1} s), long exit {} ({:.1} s){}",
                    short_run.exit,
                    short_run.wall,
                    long_run.exit,
                    long_run.wall,
                    if long_run.hung || short_run.hung {
                        ", HUNG and killed"
                    } else {
                        ""
                    }
                ),
            );
            short_runs.push(short_run);
            long_runs.push(long_run);
        }
    }
}

/// Scenario 5.
async fn side_by_side(tools: &Tools, settings: &Settings, work: &Path, figures: &mut Figures) {
    let started = Instant::now();
    for approach in Approach::ALL {
        let repeats = match approach {
            Approach::CurlLoop => settings.curl_loop_repeats,
            _ => settings.side_repeats,
        };
        let mut runs = Vec::new();
        for repeat in 0..repeats {
            let tag = format!("side-{approach:?}-{repeat}").to_lowercase();
            let run = side_run(tools, approach, settings.side_rows, work, &tag).await;
            progress(
                started,
                &format!(
                    "{tag}: {:.1} rows/s, {} 429s, {} not created, {} with no record",
                    run.rows_per_second, run.rejected_429, run.not_created, run.no_record
                ),
            );
            runs.push(run);
        }
        figures.side.push((approach, runs));
    }
}
