//! What the operator sees and keeps: the progress bar in a real terminal, the logs, the summary
//! file and the failures file.
//!
//! The terminal is a pseudo-terminal (portable-pty) whose output is fed to a terminal emulator
//! (vt100), so the tests assert on the screen a person would see, with no tmux or other tool to
//! install. The screen is read after every chunk of output, so a line that was drawn only for a
//! moment (a wait) is seen too.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::Path;

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use zoom_onboard::sandbox::{Sandbox, SandboxArgs};

use crate::support::{self, RunFolder, roster_of, sandbox_args, start};

/// The terminal's size: tall enough that the summary and any log lines never scroll away.
const ROWS: u16 = 200;
const COLUMNS: u16 = 120;

/// What a run in a terminal showed.
struct Screen {
    code: u32,
    /// Every distinct screen seen while the run went, in order; the last is the final screen.
    seen: Vec<String>,
    /// Everything written, escape sequences included.
    raw: Vec<u8>,
}

impl Screen {
    fn last(&self) -> &str {
        self.seen.last().map_or("", String::as_str)
    }

    /// Whether any screen seen had a line containing `text`.
    fn ever_showed(&self, text: &str) -> bool {
        self.seen.iter().any(|screen| screen.contains(text))
    }

    /// How many screens were seen, and the last, for an assertion's message.
    fn describe(&self) -> String {
        format!(
            "{} screens seen; the last:\n{}",
            self.seen.len(),
            self.last()
        )
    }

    /// Whether any screen seen had a line for which `test` holds.
    fn ever_had_line(&self, test: impl Fn(&str) -> bool) -> bool {
        self.seen.iter().any(|screen| screen.lines().any(&test))
    }
}

/// Runs `zoom-onboard run` on `roster` against `sandbox`, in a pseudo-terminal, with `extra`
/// arguments and `env` variables, and records what the terminal showed.
async fn run_in_terminal(
    sandbox: &Sandbox,
    folder: &RunFolder,
    roster: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Screen {
    std::fs::write(folder.roster(), roster).unwrap();
    let mut command = CommandBuilder::new(support::binary());
    command.arg("run");
    command.arg(folder.roster());
    command.arg("--out");
    command.arg(folder.results());
    command.arg("--state");
    command.arg(folder.journal());
    command.args(["--api-url", &sandbox.api_url()]);
    command.args(["--oauth-url", &sandbox.token_url()]);
    command.args(extra);
    for name in ["RUST_LOG", "NO_COLOR", "ZOOM_ACCESS_TOKEN"] {
        command.env_remove(name);
    }
    command.env("TERM", "xterm-256color");
    command.env("ZOOM_ACCOUNT_ID", sandbox.account_id());
    command.env("ZOOM_CLIENT_ID", sandbox.client_id());
    command.env("ZOOM_CLIENT_SECRET", sandbox.client_secret());
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || watch(&command))
        .await
        .unwrap()
}

/// Runs `command` in a new pseudo-terminal until it exits, reading its screen as it goes.
fn watch(command: &CommandBuilder) -> Screen {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLUMNS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal opens");
    let mut child = pair.slave.spawn_command(command.clone()).unwrap();
    // Only the child may hold the terminal's other end, so that reading ends when it exits.
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let mut parser = vt100::Parser::new(ROWS, COLUMNS, 0);
    let mut seen: Vec<String> = Vec::new();
    let mut raw = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                raw.extend_from_slice(&buffer[..read]);
                parser.process(&buffer[..read]);
                // Row by row: a bar line fills the width, so `contents` would run it together
                // with the next.
                let rows: Vec<String> = parser
                    .screen()
                    .rows(0, COLUMNS)
                    .map(|row| row.trim_end().to_owned())
                    .collect();
                let screen = rows.join("\n").trim_end().to_owned();
                if seen.last() != Some(&screen) {
                    seen.push(screen);
                }
            }
        }
    }
    let status = child.wait().unwrap();
    Screen {
        code: status.exit_code(),
        seen,
        raw,
    }
}

/// The bar's first line: `[===>   ] 12/40 rows · 9.8 rows/s · ETA 3s`.
fn is_bar_line(line: &str, total: usize) -> bool {
    line.starts_with('[')
        && line.contains(&format!("/{total} rows · "))
        && line.contains(" rows/s · ETA ")
}

/// The summary's count line for `status`, e.g. `  created         40`.
fn count_line(status: &str, count: usize) -> String {
    format!("  {status:<10} {count:>7}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_normal_run_shows_the_bar_the_counts_and_an_intact_summary() {
    let sandbox = start(sandbox_args()).await;
    let folder = RunFolder::new();
    // The bad row near the top, so that its count shows for most of the run. (Right under the
    // header it would be taken for a second label row.)
    let roster = roster_of(60).replacen("hire1@", "not-an-email,Bad,Row\nhire1@", 1);
    // Debug logs are on (RUST_LOG, not -v, so the bar stays) to show that they do not tear it.
    let screen = run_in_terminal(
        &sandbox,
        &folder,
        &roster,
        &["--max-rate", "30"],
        &[("RUST_LOG", "zoom_onboard=debug")],
    )
    .await;

    assert_eq!(screen.code, 3, "{}", screen.last());
    assert!(
        screen.ever_had_line(|line| is_bar_line(line, 61) && !line.contains("61/61")),
        "the bar part-way: {}",
        screen.describe()
    );
    assert!(
        screen.ever_had_line(|line| line.starts_with("created ") && line.ends_with(" · invalid 1")),
        "the counts by status: {}",
        screen.describe()
    );
    let last = screen.last();
    assert!(
        !last.lines().any(|line| is_bar_line(line, 61)),
        "the bar is cleared before the summary:\n{last}"
    );
    for expected in [
        "zoom-onboard: 61 rows in ".to_owned(),
        count_line("created", 60),
        count_line("invalid", 1),
        format!("  results    {}", folder.results().display()),
        format!(
            "  failures   {}",
            folder.dir.path().join("results.failures.csv").display()
        ),
        "next: 1 row needs fixing".to_owned(),
    ] {
        assert!(
            last.lines().any(|line| line.starts_with(&expected)),
            "{expected:?} in the summary:\n{last}"
        );
    }
    // Every log line starts a line of its own: none is written into the bar.
    for line in last.lines().filter(|line| line.contains("sending create")) {
        assert!(
            line.trim_start().starts_with("20") || line.contains("DEBUG"),
            "a log line on a line of its own: {line:?}"
        );
        assert!(!line.contains("rows/s"), "a torn line: {line:?}");
    }
    assert!(
        last.contains("sending create"),
        "the debug log was shown:\n{last}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_run_says_it_waits_for_zooms_per_second_limit() {
    let sandbox = start(SandboxArgs {
        rate: Some(5),
        ..sandbox_args()
    })
    .await;
    let folder = RunFolder::new();
    let screen = run_in_terminal(
        &sandbox,
        &folder,
        &roster_of(30),
        &["--max-rate", "20"],
        &[],
    )
    .await;

    assert_eq!(screen.code, 0, "{}", screen.last());
    assert!(sandbox.stats().rate_limited_qps > 0, "the sandbox refused");
    assert!(
        screen.ever_had_line(|line| {
            line.starts_with("waiting ") && line.ends_with("s (Zoom per-second limit)")
        }),
        "the wait, in plain words: {}",
        screen.describe()
    );
    let last = screen.last();
    assert!(
        !last.contains("Zoom per-second limit"),
        "the wait is gone once over:\n{last}"
    );
    assert!(
        last.lines().any(|line| line == count_line("created", 30)),
        "{last}"
    );
    assert!(last.contains("done: nothing left to do"), "{last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quota_deferred_run_says_how_many_rows_wait_for_midnight() {
    let sandbox = start(sandbox_args()).await;
    let folder = RunFolder::new();
    let screen = run_in_terminal(
        &sandbox,
        &folder,
        &roster_of(8),
        &["--daily-quota", "3", "--concurrency", "1"],
        &[],
    )
    .await;

    assert_eq!(screen.code, 4, "{}", screen.last());
    let last = screen.last();
    assert!(
        last.lines()
            .any(|line| line == "daily create quota reached: 5 rows deferred to 00:00 UTC"),
        "the quota line stays above the summary:\n{last}"
    );
    for expected in [
        count_line("created", 3),
        count_line("deferred", 5),
        "  quota      3 of 3 create attempts counted on ".to_owned(),
        "next: run again for 5 deferred rows".to_owned(),
    ] {
        assert!(
            last.lines().any(|line| line.starts_with(&expected)),
            "{expected:?} in the summary:\n{last}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_for_the_quota_says_so_until_midnight() {
    let sandbox = start(sandbox_args()).await;
    let folder = RunFolder::new();
    // Shift the tool's clock to three seconds before the next UTC midnight.
    let now = jiff::Timestamp::now().as_second();
    let offset = (86_400 - now.rem_euclid(86_400) - 3).to_string();
    let screen = run_in_terminal(
        &sandbox,
        &folder,
        &roster_of(4),
        &[
            "--daily-quota",
            "2",
            "--concurrency",
            "1",
            "--wait-for-quota",
            "--clock-offset-seconds",
            &offset,
        ],
        &[],
    )
    .await;

    assert_eq!(screen.code, 0, "{}", screen.last());
    assert!(
        screen.ever_had_line(|line| {
            line.starts_with("waiting until 00:00 UTC for the daily quota (")
        }),
        "the quota wait: {}",
        screen.describe()
    );
    assert!(
        screen
            .last()
            .lines()
            .any(|line| line == count_line("created", 4)),
        "{}",
        screen.last()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_and_verbose_runs_in_a_terminal_show_no_bar() {
    let sandbox = start(sandbox_args()).await;
    for flag in ["--quiet", "-q", "-v"] {
        let folder = RunFolder::new();
        let screen = run_in_terminal(&sandbox, &folder, &roster_of(10), &[flag], &[]).await;
        assert_eq!(screen.code, 0, "{flag}: {}", screen.last());
        assert!(
            !screen.ever_showed(" rows/s · ETA "),
            "{flag}: no bar: {:#?}",
            screen.seen
        );
        assert!(
            screen.last().contains("done: nothing left to do"),
            "{flag}: the summary still shows:\n{}",
            screen.last()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_color_keeps_colour_out_of_the_terminal() {
    let sandbox = start(sandbox_args()).await;
    let folder = RunFolder::new();
    let mut roster = roster_of(5);
    roster.push_str("not-an-email,Bad,Row\n");
    let screen = run_in_terminal(
        &sandbox,
        &folder,
        &roster,
        &[],
        &[("NO_COLOR", "1"), ("RUST_LOG", "zoom_onboard=debug")],
    )
    .await;
    assert_eq!(screen.code, 3, "{}", screen.last());
    let raw = String::from_utf8_lossy(&screen.raw);
    assert!(raw.contains("sending create"), "logs were written");
    assert!(
        !raw.contains("\u{1b}[3") && !raw.contains("\u{1b}[1m") && !raw.contains("\u{1b}[2m"),
        "no colour or bold: {raw:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stderr_that_is_not_a_terminal_gets_no_bar_and_no_escapes() {
    let sandbox = start(sandbox_args()).await;
    let folder = RunFolder::new();
    let ran = support::run_in(
        &folder,
        &(&sandbox).into(),
        &roster_of(10),
        &["--log-format", "text"],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(!ran.stderr.contains("rows/s"), "{}", ran.stderr);
    assert!(!ran.stderr.contains('\u{1b}'), "{:?}", ran.stderr);
    assert!(ran.stderr.contains("done: nothing left to do"));
}

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_one_object_a_line_with_the_row_span() {
    let sandbox = start(SandboxArgs {
        rate: Some(5),
        ..sandbox_args()
    })
    .await;
    let folder = RunFolder::new();
    let log = folder.dir.path().join("run.log");
    let ran = support::run_in(
        &folder,
        &(&sandbox).into(),
        &roster_of(20),
        &[
            "-v",
            "--max-rate",
            "20",
            "--log-format",
            "json",
            "--log-file",
            log.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        !ran.stderr.contains("\"level\""),
        "logs go to the file: {}",
        ran.stderr
    );
    #[cfg(unix)]
    assert_eq!(mode_of(&log), 0o600);

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}")))
        .collect();
    assert!(lines.len() > 20, "debug lines: {text}");
    for line in &lines {
        assert!(line["level"].is_string(), "{line}");
        assert!(line["fields"]["message"].is_string(), "{line}");
        assert!(line["timestamp"].is_string(), "{line}");
    }
    let creates: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|line| line["fields"]["message"] == "sending create")
        .collect();
    assert!(creates.len() >= 20, "{text}");
    let mut rows = BTreeSet::new();
    for line in &creates {
        assert_eq!(line["span"]["name"], "row", "{line}");
        assert!(line["span"]["attempt"].as_u64().unwrap() >= 1, "{line}");
        rows.insert(line["span"]["row"].as_u64().unwrap());
    }
    assert_eq!(rows, (2..=21).collect(), "every row's span");
    assert!(
        lines.iter().any(|line| {
            line["fields"]["message"] == "per-second limit reached at zoom: pausing the pool"
                && line["span"]["row"].is_u64()
        }),
        "the decision to wait, in its row's span: {text}"
    );
    assert!(
        !text.contains("@example.com") || lines.iter().all(|line| line["level"] != "WARN"),
        "no email at warn"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_summary_file_holds_the_same_facts_as_the_summary() {
    let sandbox = start(sandbox_args()).await;
    let folder = RunFolder::new();
    let summary = folder.dir.path().join("summary.json");
    let mut roster = roster_of(6);
    roster.push_str("not-an-email,Bad,Row\nhire0@example.com,Hire,Again\n");
    let ran = support::run_in(
        &folder,
        &(&sandbox).into(),
        &roster,
        &[
            "--daily-quota",
            "4",
            "--concurrency",
            "1",
            "--summary-json",
            summary.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    #[cfg(unix)]
    assert_eq!(mode_of(&summary), 0o600);

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["rows"], 8);
    assert_eq!(
        json["counts"],
        serde_json::json!({
            "created": 4, "exists": 0, "skipped": 0, "duplicate": 1,
            "invalid": 1, "failed": 0, "deferred": 2
        })
    );
    assert_eq!(json["exit_code"], 3);
    assert_eq!(json["quota"]["used"], 4);
    assert_eq!(json["quota"]["limit"], 4);
    assert_eq!(json["quota"]["left"], 0);
    assert_eq!(json["create_requests"], 4);
    assert_eq!(json["rate_limit"], 30);
    assert!(json["elapsed_seconds"].is_number());
    assert!(json["stop"].is_null());
    assert_eq!(json["results"], folder.results().to_str().unwrap());
    assert_eq!(
        json["failures"],
        folder
            .dir
            .path()
            .join("results.failures.csv")
            .to_str()
            .unwrap()
    );
    assert_eq!(json["journal"], folder.journal().to_str().unwrap());
    let next: Vec<&str> = json["next"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    assert_eq!(next.len(), 2, "{next:?}");
    for line in next {
        assert!(ran.stderr.contains(line), "{line:?} in {}", ran.stderr);
    }
    assert!(
        ran.stderr.contains(&format!(
            "  failures   {}",
            folder.dir.path().join("results.failures.csv").display()
        )),
        "{}",
        ran.stderr
    );
}

/// A roster with a password column: two good `autoCreate` rows and three that need fixing, one
/// of them with a cell a spreadsheet would run.
fn mixed_roster() -> String {
    let long_name = "N".repeat(65);
    format!(
        "Employee Id,Email,First Name,Last Name,Password,Action\n\
         7,good1@example.com,Ann,Lee,Pa55word-one,autoCreate\n\
         =1+2,not-an-email,Bob,Ray,Pa55word-two,autoCreate\n\
         9,good2@example.com,Cy,Vo,Pa55word-three,autoCreate\n\
         10,dee@example.com,{long_name},Wu,Pa55word-four,autoCreate\n\
         11,eve@example.com,Eve,Ox,short,autoCreate\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fixed_failures_file_runs_again_unchanged_and_sends_only_its_rows() {
    let sandbox = start(sandbox_args()).await;
    let endpoints = (&sandbox).into();
    let folder = RunFolder::new();
    let failures = folder.dir.path().join("to-fix.csv");
    let first = support::run_in(
        &folder,
        &endpoints,
        &mixed_roster(),
        &["--failures", failures.to_str().unwrap()],
    )
    .await;
    assert_eq!(first.code, 3, "{}", first.stderr);
    assert_eq!(first.count("created"), 2);
    assert_eq!(first.count("invalid"), 3);
    #[cfg(unix)]
    assert_eq!(mode_of(&failures), 0o600);

    let written = std::fs::read_to_string(&failures).unwrap();
    let results = std::fs::read_to_string(folder.results()).unwrap();
    for password in ["Pa55word", "short"] {
        assert!(!written.contains(password), "blanked: {written}");
        assert!(!results.contains(password), "not in the results: {results}");
    }
    let mut reader = csv::Reader::from_reader(written.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "Employee Id",
            "Email",
            "First Name",
            "Last Name",
            "Password",
            "Action",
            "error"
        ]
    );
    let lines: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(&lines[0][0], "'=1+2", "defused");
    assert_eq!(&lines[0][1], "not-an-email");
    assert_eq!(&lines[0][4], "", "password blanked");
    assert!(lines[0][6].starts_with("row 3: email"), "{:?}", &lines[0]);
    assert!(
        lines[1][6].starts_with("row 5: first_name"),
        "{:?}",
        &lines[1]
    );
    assert!(
        lines[2][6].starts_with("row 6: password"),
        "{:?}",
        &lines[2]
    );

    // A person fixes the three rows in a spreadsheet and saves: nothing else changes.
    let fixed = written
        .replace(
            "'=1+2,not-an-email,Bob,Ray,,",
            "8,bob@example.com,Bob,Ray,Pa55word-two,",
        )
        .replace(&"N".repeat(65), "Dee")
        .replace(",Dee,Wu,,", ",Dee,Wu,Pa55word-four,")
        .replace(",Eve,Ox,,", ",Eve,Ox,Pa55word-five,");
    assert_eq!(fixed.matches("Pa55word").count(), 3, "{fixed}");
    std::fs::write(&failures, &fixed).unwrap();
    let again_results = folder.dir.path().join("again.csv");
    let again = support::command()
        .arg("run")
        .arg(&failures)
        .arg("--out")
        .arg(&again_results)
        .arg("--state")
        .arg(folder.journal())
        .args(["--api-url", &sandbox.api_url()])
        .args(["--oauth-url", &sandbox.token_url()])
        .env("ZOOM_ACCOUNT_ID", support::TEST_CREDENTIAL)
        .env("ZOOM_CLIENT_ID", support::TEST_CREDENTIAL)
        .env("ZOOM_CLIENT_SECRET", support::TEST_CREDENTIAL)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    let lines = support::read_results(&again_results);
    let emails: Vec<&str> = lines.iter().map(|line| line.email.as_str()).collect();
    assert_eq!(
        emails,
        ["bob@example.com", "dee@example.com", "eve@example.com"]
    );
    assert!(
        lines.iter().all(|line| line.status == "created"),
        "{lines:?}"
    );
    assert_eq!(
        sandbox.stats().users_created,
        5,
        "the two first, then the three fixed"
    );
    let second_failures = folder.dir.path().join("again.failures.csv");
    let text = std::fs::read_to_string(&second_failures).unwrap();
    assert_eq!(
        text, "\u{feff}Employee Id,Email,First Name,Last Name,Password,Action,error\n",
        "the error column is reused, and no row needs fixing"
    );
}
