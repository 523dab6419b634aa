//! Writes `docs/benchmarks.md` from one harness run's figures.
//!
//! Every number in the document comes from [`Figures`]; the prose around them says how they
//! were taken. A cell's figure is the median of its runs.

use std::fmt::Write as _;
use std::path::Path;

use crate::alternatives::Approach;
use crate::memory::SMALL_QUOTA;
use crate::overhead::Profile;
use crate::pace::plan_name;
use crate::process::{Timed, median};
use crate::{Figures, Settings};

/// Scenario 1's target: the least share of the limit every cell must reach.
pub const EFFICIENCY_TARGET: f64 = 0.97;
/// Scenario 2's target, rows a second.
pub const OVERHEAD_TARGET: f64 = 3_000.0;
/// Scenario 4's targets: the most the long roster's peak may be over the short one's, and the
/// most any peak may be, MiB.
pub const FLATNESS_TARGET: f64 = 1.5;
/// See [`FLATNESS_TARGET`].
pub const MEMORY_CEILING_MIB: f64 = 100.0;

/// The summary's verdict on a target.
fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

/// A count with thousands separators: `1,000,000`.
fn thousands(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The median of one figure over runs.
fn median_of<T>(runs: &[T], figure: impl Fn(&T) -> f64) -> f64 {
    median(&runs.iter().map(figure).collect::<Vec<_>>())
}

/// The smallest and largest of one figure over runs, as `min–max`, or nothing for one run.
fn spread<T>(runs: &[T], figure: impl Fn(&T) -> f64, decimals: usize) -> String {
    if runs.len() < 2 {
        return String::new();
    }
    let values: Vec<f64> = runs.iter().map(figure).collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(" ({low:.decimals$}–{high:.decimals$})")
}

/// Renders the whole document.
pub fn render(settings: &Settings, figures: &Figures, plot: &Path) -> String {
    let mut out = String::new();
    header(&mut out, settings, figures);
    summary(&mut out, figures);
    rate_efficiency(&mut out, settings, figures, plot);
    overhead(&mut out, settings, figures);
    check_speed(&mut out, settings, figures);
    memory(&mut out, settings, figures);
    side_by_side(&mut out, settings, figures);
    out
}

fn command_output(program: &str, arguments: &[&str]) -> String {
    std::process::Command::new(program)
        .args(arguments)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "unknown".to_owned(),
            |output| String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        )
}

fn machine() -> Vec<(&'static str, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or_else(|| "unknown".to_owned(), |(_, name)| name.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0),
        );
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    vec![
        ("CPU", cpu),
        ("cores available", cores.to_string()),
        ("memory", memory),
        (
            "kernel",
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
        ),
        ("rustc", command_output("rustc", &["--version"])),
        (
            "zoom-onboard",
            format!(
                "{} at commit {}",
                env!("CARGO_PKG_VERSION"),
                command_output("git", &["rev-parse", "--short", "HEAD"])
            ),
        ),
        (
            "curl",
            command_output("curl", &["--version"])
                .lines()
                .next()
                .unwrap_or("unknown")
                .to_owned(),
        ),
    ]
}

fn header(out: &mut String, settings: &Settings, figures: &Figures) {
    let _ = writeln!(
        out,
        "# Benchmarks\n\n\
         This file is written by the benchmark harness (issue 7); do not edit it by hand. It was \
         generated on {} by a `{}` run that took {:.0} minutes.\n",
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC"),
        settings.mode,
        figures.total_seconds / 60.0
    );
    out.push_str(
        "## Running it\n\n\
         ```sh\n\
         bench/run.sh\n\
         ```\n\n\
         builds the release binary and examples with `--locked`, runs every scenario against \
         sandboxes on this machine (network to 127.0.0.1 only) and rewrites this file and \
         `benchmarks-pace.svg`. `bench/run.sh quick` runs every scenario small, in a few \
         minutes, and writes to `target/benchmarks-quick.md` instead. The harness is \
         `examples/bench/`; `examples/csv_count.rs` is its helper.\n\n\
         CI (`.ci/run`) runs a seconds-long version of scenario 1 (`target/debug/examples/bench \
         smoke`: 400 rows at business pace, 50 ± 25 ms) and fails on any 429 or an efficiency \
         under 0.9.\n\n\
         Each run gets a fresh sandbox (in the harness's process, or for scenario 2 in its own), \
         a fresh roster and a fresh journal. CPU time and peak memory are measured around the \
         tool's process alone with `/usr/bin/time`; pace and refusals come from the sandbox's \
         own arrival log and counters. Figures are medians over the runs shown; a range after a \
         figure is the lowest and highest run.\n\n## Machine\n\n| | |\n|---|---|\n",
    );
    for (name, value) in machine() {
        let _ = writeln!(out, "| {name} | {value} |");
    }
    out.push('\n');
}

/// The worst cell of scenario 1: its median efficiency, and the 429s over every run.
fn pace_headline(figures: &Figures) -> (f64, u64) {
    let worst = figures
        .pace
        .iter()
        .map(|(_, runs)| median_of(runs, |run| run.efficiency))
        .fold(f64::INFINITY, f64::min);
    let refused = figures
        .pace
        .iter()
        .flat_map(|(_, runs)| runs)
        .map(|run| run.rejected_429)
        .sum();
    (worst, refused)
}

/// Whether any of the runs hung and was killed.
fn any_hung(runs: &[Timed]) -> bool {
    runs.iter().any(|timed| timed.hung)
}

fn summary(out: &mut String, figures: &Figures) {
    out.push_str("## Summary\n\n| scenario | target | measured | |\n|---|---|---|---|\n");
    let (worst, refused) = pace_headline(figures);
    let _ = writeln!(
        out,
        "| 1. rate efficiency | ≥ {EFFICIENCY_TARGET} of the limit in every cell, zero 429s | \
         worst cell {worst:.3}, {refused} 429s | {} |",
        verdict(worst >= EFFICIENCY_TARGET && refused == 0)
    );
    let unchecked = median_of(&figures.overhead_unchecked, |run| run.rows_per_second);
    let unchecked_cpu = median_of(
        &figures.overhead_unchecked,
        super::overhead::UncheckedRun::cpu_per_thousand,
    );
    let paced_cpu = median_of(
        &figures.overhead_binary,
        super::pace::PaceRun::cpu_per_thousand,
    );
    let _ = writeln!(
        out,
        "| 2. overhead | ≥ {OVERHEAD_TARGET:.0} rows/s, and a profile | {unchecked:.0} rows/s with \
         the pacer lifted ({unchecked_cpu:.3} CPU-s per 1,000 rows); at the 80/s business pace \
         {paced_cpu:.3} CPU-s per 1,000 rows | {} |",
        verdict(unchecked >= OVERHEAD_TARGET)
    );
    if figures.check_available {
        let check = median_of(&figures.check_long, |timed| timed.wall);
        let csv = median_of(&figures.csv_long, |timed| timed.wall);
        let _ = writeln!(
            out,
            "| 3. check speed | a ratio to the csv crate | `check` takes {:.1}× the time of a \
             bare csv parse | — |",
            check / csv
        );
    } else {
        out.push_str("| 3. check speed | a ratio to the csv crate | not measured: this build has no `check` | — |\n");
    }
    let peak = |runs: &[Timed]| median_of(runs, Timed::max_rss_mib);
    let hung = any_hung(&figures.run_short) || any_hung(&figures.run_long);
    let (run_short, run_long, run_label) = if hung {
        (
            &figures.run_short_none_sent,
            &figures.run_long_none_sent,
            "`run --daily-quota 0`",
        )
    } else {
        (&figures.run_short, &figures.run_long, "`run`")
    };
    let run_ratio = peak(run_long) / peak(run_short);
    let check_ratio = peak(&figures.check_long) / peak(&figures.check_short);
    let highest = [
        peak(&figures.check_short),
        peak(&figures.check_long),
        peak(run_short),
        peak(run_long),
    ]
    .into_iter()
    .filter(|peak| peak.is_finite())
    .fold(0.0, f64::max);
    let flat = run_ratio <= FLATNESS_TARGET && check_ratio <= FLATNESS_TARGET;
    let hung_note = if hung {
        format!("; **`run --daily-quota {SMALL_QUOTA}` hung** on rosters over 4,096 rows")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "| 4. memory | long/short peak ≤ {FLATNESS_TARGET}×, every peak < {MEMORY_CEILING_MIB:.0} \
         MB | {run_label} {run_ratio:.2}×, `check` {check_ratio:.2}×; highest peak \
         {highest:.1} MiB{hung_note} | {} |",
        verdict(flat && highest < MEMORY_CEILING_MIB && !hung)
    );
    out.push_str("| 5. side by side | figures only | see below | — |\n\n");
}

fn rate_efficiency(out: &mut String, settings: &Settings, figures: &Figures, plot: &Path) {
    let _ = writeln!(
        out,
        "## 1. Rate efficiency\n\n\
         {} fresh hires a run, at plans pro (30 requests a second) and business (80), against \
         sandbox latencies of {} ms, each jittered uniformly by ±50%. The achieved rate is \
         successful creates a second, first to last arrival at the sandbox; efficiency is that \
         rate over the plan's limit. Business cells ran {} times each, pro cells {} time(s): a \
         pro run takes nearly three minutes, and the business cells show how little runs \
         differ.\n\n\
         Pro's daily quota is 1,500 creates, which would end a 5,000-row run after 1,500 rows, so \
         this scenario lifts it on both sides (`--daily-quota` of the sandbox and of the tool) to \
         the roster's length. The daily quota is exercised by scenario 4 and the test suite.\n\n\
         ```sh\n\
         zoom-onboard run roster.csv --out results.csv --state journal.sqlite3 --plan pro \\\n    \
         --daily-quota 5000 --api-url http://127.0.0.1:PORT/v2 \\\n    \
         --oauth-url http://127.0.0.1:PORT/oauth/token\n\
         # sandbox (in the harness): plan pro, --latency-ms 150 --jitter-ms 75 --daily-quota 5000\n\
         ```\n\n\
         | plan | latency | runs | creates/s | efficiency | 429s | wall s | CPU-s / 1,000 rows | peak RSS MiB |\n\
         |---|---|---|---|---|---|---|---|---|",
        thousands(settings.pace_rows),
        settings
            .latencies
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        settings.business_repeats,
        settings.pro_repeats,
    );
    for (setting, runs) in &figures.pace {
        let refused: u64 = runs.iter().map(|run| run.rejected_429).sum();
        let _ = writeln!(
            out,
            "| {} | {} ± {} ms | {} | {:.2}{} | {:.3}{} | {refused} | {:.1} | {:.3} | {:.1} |",
            plan_name(setting.plan),
            setting.latency_ms,
            setting.latency_ms / 2,
            runs.len(),
            median_of(runs, |run| run.achieved),
            spread(runs, |run| run.achieved, 2),
            median_of(runs, |run| run.efficiency),
            spread(runs, |run| run.efficiency, 3),
            median_of(runs, |run| run.timed.wall),
            median_of(runs, super::pace::PaceRun::cpu_per_thousand),
            median_of(runs, |run| run.timed.max_rss_mib()),
        );
    }
    let name = plot
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    let _ = writeln!(
        out,
        "\n![Successful creates per second over time, one line per cell]({name})\n\n\
         Each line is a cell's median run. The tool starts with a burst of a twentieth of the \
         limit and then keeps to it; the last second of each line is a partial second.\n"
    );
}

fn overhead(out: &mut String, settings: &Settings, figures: &Figures) {
    let paced = &figures.overhead_binary;
    let unchecked = &figures.overhead_unchecked;
    let _ = writeln!(
        out,
        "## 2. Overhead\n\n\
         A sandbox with no per-second limit, no daily quota in reach and no latency; the \
         journal on. `run` never sends faster than the plan allows (`--max-rate` only lowers \
         it), so the binary is measured twice: at the business pace, 80 a second, which is what \
         it costs on a real account; and with the hidden bench-only option `--unchecked-rate`, \
         which lifts the pacer, with the {} workers that `--plan business` uses. For the second, \
         the sandbox runs in its own process, so its CPU is not counted as the tool's; rows a \
         second are roster rows over the process's whole life, start-up and journal included.\n\n\
         ```sh\n\
         zoom-onboard sandbox --listen 127.0.0.1:0 --plan business --rate 100000000 \\\n    \
         --burst 100000000 --daily-quota 4000000000 --seed 7\n\
         zoom-onboard run roster.csv --out results.csv --state journal.sqlite3 --plan business \\\n    \
         --daily-quota 4000000000 --unchecked-rate 100000000 --concurrency {} \\\n    \
         --api-url http://127.0.0.1:PORT/v2 --oauth-url http://127.0.0.1:PORT/oauth/token\n\
         ```\n\n\
         | pace | rows | runs | rows/s | wall s | CPU-s / 1,000 rows | sandbox CPU-s / 1,000 rows | exit |\n\
         |---|---|---|---|---|---|---|---|",
        settings.unchecked_workers, settings.unchecked_workers,
    );
    let _ = writeln!(
        out,
        "| business, 80/s | {} | {} | {:.1} | {:.1} | {:.3}{} | (in the harness) | {} |",
        thousands(settings.overhead_rows),
        paced.len(),
        median_of(paced, |run| run.rows as f64 / run.timed.wall),
        median_of(paced, |run| run.timed.wall),
        median_of(paced, super::pace::PaceRun::cpu_per_thousand),
        spread(paced, super::pace::PaceRun::cpu_per_thousand, 3),
        exits(paced.iter().map(|run| &run.timed)),
    );
    let _ = writeln!(
        out,
        "| `--unchecked-rate` | {} | {} | {:.0}{} | {:.2} | {:.3}{} | {:.3} | {} |\n",
        thousands(settings.unchecked_rows),
        unchecked.len(),
        median_of(unchecked, |run| run.rows_per_second),
        spread(unchecked, |run| run.rows_per_second, 0),
        median_of(unchecked, |run| run.timed.wall),
        median_of(unchecked, super::overhead::UncheckedRun::cpu_per_thousand),
        spread(
            unchecked,
            super::overhead::UncheckedRun::cpu_per_thousand,
            3
        ),
        median_of(unchecked, |run| run.sandbox_cpu * 1000.0 / run.rows as f64),
        exits(unchecked.iter().map(|run| &run.timed)),
    );
    for (title, profile) in [
        ("at the business pace", &figures.profile_paced),
        ("with the pacer lifted", &figures.profile_unchecked),
    ] {
        profile_section(out, title, profile.as_ref());
    }
}

/// The exit codes of some runs, as `0, 0, 0`; a run that hung shows as `hung`.
fn exits<'a>(runs: impl Iterator<Item = &'a Timed>) -> String {
    runs.map(|timed| {
        if timed.hung {
            "hung".to_owned()
        } else {
            timed.exit.to_string()
        }
    })
    .collect::<Vec<_>>()
    .join(", ")
}

fn profile_section(out: &mut String, title: &str, profile: Option<&Profile>) {
    let Some(profile) = profile else {
        let _ = writeln!(
            out,
            "No profile {title}: `perf` is missing or cannot record on this machine.\n"
        );
        return;
    };
    let _ = writeln!(
        out,
        "### Where the time goes, {title}\n\n\
         `{}`: {} samples of the tool's process (the sandbox is another process). Share of \
         samples by component, by the function each sample was in:\n\n\
         | component | share |\n|---|---|",
        profile.command, profile.samples
    );
    for (component, share) in &profile.components {
        let _ = writeln!(out, "| {component} | {share:.1}% |");
    }
    out.push_str(
        "\nThe functions with the most samples of their own:\n\n| function | share |\n|---|---|\n",
    );
    for (function, share) in &profile.functions {
        let shown: String = function.chars().take(110).collect();
        let _ = writeln!(out, "| `{}` | {share:.1}% |", shown.replace('|', "\\|"));
    }
    out.push('\n');
}

fn check_speed(out: &mut String, settings: &Settings, figures: &Figures) {
    let rows = thousands(settings.long_rows);
    let _ = writeln!(
        out,
        "## 3. Check speed\n\n\
         A {rows}-row roster (email, first and last name, type and department: about 70 bytes \
         a row) read by `zoom-onboard check`, against `examples/csv_count.rs`, which counts the \
         same file's records with the csv crate into one reused `ByteRecord` and does nothing \
         else. Both are timed from outside, start to exit.\n\n\
         ```sh\n\
         zoom-onboard check roster.csv\n\
         target/release/examples/csv_count roster.csv\n\
         ```\n"
    );
    if !figures.check_available {
        out.push_str(
            "`check` is not in the build this report was made from, so only the csv crate's \
             figure is given.\n\n",
        );
    }
    out.push_str(
        "| program | runs | wall s | rows/s | CPU-s | peak RSS MiB |\n|---|---|---|---|---|---|\n",
    );
    let row = |out: &mut String, name: &str, runs: &[Timed]| {
        if runs.is_empty() {
            return;
        }
        let wall = median_of(runs, |timed| timed.wall);
        let _ = writeln!(
            out,
            "| {name} | {} | {wall:.2}{} | {:.0} | {:.2} | {:.1} |",
            runs.len(),
            spread(runs, |timed| timed.wall, 2),
            settings.long_rows as f64 / wall,
            median_of(runs, |timed| timed.cpu),
            median_of(runs, Timed::max_rss_mib),
        );
    };
    row(out, "`zoom-onboard check`", &figures.check_long);
    row(out, "csv crate alone", &figures.csv_long);
    if figures.check_available {
        let _ = writeln!(
            out,
            "\n`check` takes **{:.1}×** the time of the bare parse.",
            median_of(&figures.check_long, |timed| timed.wall)
                / median_of(&figures.csv_long, |timed| timed.wall)
        );
    }
    out.push('\n');
}

fn memory(out: &mut String, settings: &Settings, figures: &Figures) {
    let _ = writeln!(
        out,
        "## 4. Memory\n\n\
         Peak resident set size (`/usr/bin/time -f %M`) of `check`, and of `run` against a \
         business sandbox with no latency, with most rows deferred by a small daily quota: \
         `--daily-quota {SMALL_QUOTA}` as the issue asks (a hundred created, every other row \
         read, looked up in the journal, deferred, journaled and written to the results), and \
         `--daily-quota 0` (every row deferred, nothing sent). Rosters of {} and {} rows, as in \
         scenario 3. A run still going after {} s is killed and shown as hung.\n\n\
         ```sh\n\
         zoom-onboard check roster.csv\n\
         zoom-onboard run roster.csv --out results.csv --state journal.sqlite3 --plan business \\\n    \
         --daily-quota {SMALL_QUOTA} --api-url http://127.0.0.1:PORT/v2 \\\n    \
         --oauth-url http://127.0.0.1:PORT/oauth/token\n\
         ```\n\n\
         | command | {} rows | {} rows | long ÷ short | wall s, short / long | exit, short / long |\n\
         |---|---|---|---|---|---|",
        thousands(settings.short_rows),
        thousands(settings.long_rows),
        crate::memory::LIMIT.as_secs(),
        thousands(settings.short_rows),
        thousands(settings.long_rows),
    );
    let row = |out: &mut String, name: &str, short: &[Timed], long: &[Timed]| {
        if short.is_empty() || long.is_empty() {
            let _ = writeln!(out, "| {name} | not measured | | | | |");
            return;
        }
        let peak = |runs: &[Timed]| {
            if runs.iter().any(|timed| timed.hung) {
                "hung".to_owned()
            } else {
                format!("{:.1} MiB", median_of(runs, Timed::max_rss_mib))
            }
        };
        let (small, large) = (
            median_of(short, Timed::max_rss_mib),
            median_of(long, Timed::max_rss_mib),
        );
        let ratio = if small > 0.0 && large > 0.0 {
            format!("{:.2}×", large / small)
        } else {
            "—".to_owned()
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {ratio} | {:.1} / {:.1} | {} / {} |",
            peak(short),
            peak(long),
            median_of(short, |timed| timed.wall),
            median_of(long, |timed| timed.wall),
            exits(short.iter()),
            exits(long.iter()),
        );
    };
    row(out, "`check`", &figures.check_short, &figures.check_long);
    row(
        out,
        &format!("`run --daily-quota {SMALL_QUOTA}`"),
        &figures.run_short,
        &figures.run_long,
    );
    row(
        out,
        "`run --daily-quota 0`",
        &figures.run_short_none_sent,
        &figures.run_long_none_sent,
    );
    out.push('\n');
}

fn side_by_side(out: &mut String, settings: &Settings, figures: &Figures) {
    let _ = writeln!(
        out,
        "## 5. Side by side\n\n\
         The same {}-row roster, each approach against a fresh sandbox at the business plan \
         (80 requests a second) with 150 ± 75 ms of latency. *Not created* counts roster rows \
         that are not users at the end. *No record* counts rows whose fate cannot be told from \
         what the approach kept: the shell loops' captured output (a successful create's \
         answer names the email; a 429's answer does not say which row it refused), or \
         zoom-onboard's results file. Rows a second are roster rows over wall time, start \
         (token included) to finish. The sequential loop ran {} time(s), since one run takes \
         minutes; the others {} times.\n\n\
         | approach | runs | rows/s | 429s received | rows not created | rows with no record |\n\
         |---|---|---|---|---|---|",
        thousands(settings.side_rows),
        settings.curl_loop_repeats,
        settings.side_repeats,
    );
    for (approach, runs) in &figures.side {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1}{} | {:.0} | {:.0} | {:.0} |",
            approach.name(),
            runs.len(),
            median_of(runs, |run| run.rows_per_second),
            spread(runs, |run| run.rows_per_second, 1),
            median_of(runs, |run| run.rejected_429 as f64),
            median_of(runs, |run| run.not_created as f64),
            median_of(runs, |run| run.no_record as f64),
        );
    }
    out.push_str("\nThe scripts, run with `bash -c` in the run's folder with the sandbox's URLs and credentials in `ZOOM_API_URL`, `ZOOM_OAUTH_URL`, `ZOOM_ACCOUNT_ID`, `ZOOM_CLIENT_ID` and `ZOOM_CLIENT_SECRET`:\n\n");
    for approach in Approach::ALL {
        if let Some(script) = approach.script() {
            let _ = writeln!(out, "{}:\n\n```sh\n{script}\n```\n", approach.name());
        }
    }
    out.push_str(
        "zoom-onboard: `zoom-onboard run roster.csv --out results.csv --state journal.sqlite3 \
         --plan business --api-url ... --oauth-url ...`, credentials from the same variables.\n",
    );
}
