//! The run: roster rows in, a bounded pool of submissions, outcomes out in roster order.
//!
//! Three parts, each with one job:
//!
//! - the **reader**, a blocking thread, streams checked rows, asks the journal what earlier runs
//!   did with each hire, and sends each row on as a [`Step`]: an outcome already known, or a
//!   submission to make;
//! - the **dispatcher**, this module's async loop, hands submissions to worker tasks and every
//!   outcome to the recorder;
//! - the **recorder** (see [`super::recorder`]), a blocking thread, writes the journal and the
//!   results.
//!
//! Memory stays flat however long the roster: the reader runs at most [`READ_AHEAD`] rows
//! ahead, a worker permit is taken *before* the next row is received, and the recorder holds at
//! most [`REORDER_WINDOW`] finished rows waiting for a slower row before them. A row's roster
//! cells, which the failures file needs, travel with it only while it is read ahead or in
//! flight, and past that only for rows that need fixing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::prior::{self, Decision};
use super::recorder::{JournalNote, Record, Recorder};
use super::stop::StopReason;
use super::submission::{Submission, Submitted, Submitter};
use crate::failures::{FailuresWriter, needs_fixing};
use crate::journal::{Journal, JournalError, JournalReader};
use crate::outcome::{Outcome, Status};
use crate::results::ResultsWriter;
use crate::roster::{RosterError, RosterRow, RosterRows, Verdict};

/// How many prepared rows the reader may hold ready ahead of the dispatcher.
const READ_AHEAD: usize = 256;

/// How many rows may be finished but not yet written because an earlier row is still in flight.
const REORDER_WINDOW: usize = 4096;

/// How long submissions in flight may run on after a stop before they are cut short.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Outcomes by status.
    pub counts: BTreeMap<Status, u64>,
    /// Data rows accounted for: the sum of `counts`.
    pub rows: u64,
    /// Wall time from the first row to the last outcome.
    pub elapsed: Duration,
    /// Why the run stopped early, if it did.
    pub stop: Option<StopReason>,
    /// Create calls sent.
    pub create_requests: u64,
    /// From the first create sent to the last, when any were.
    pub sending: Option<Duration>,
    /// Look-ups sent.
    pub lookups: u64,
    /// 429s received.
    pub rate_limited: u64,
    /// The first failure to write the journal, if any.
    pub journal_error: Option<String>,
}

impl RunReport {
    /// How many rows ended with `status`.
    #[must_use]
    pub fn count(&self, status: Status) -> u64 {
        self.counts.get(&status).copied().unwrap_or(0)
    }
}

/// Why a run could not account for every row.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The roster turned out unreadable part-way (it changed since it was checked).
    #[error(transparent)]
    Roster(#[from] RosterError),
    /// The journal could not be read, so it is unknown what earlier runs did.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The results file could not be written.
    #[error("cannot write the results file {path}")]
    Results {
        /// The results file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The failures file could not be written.
    #[error("cannot write the failures file {path}")]
    Failures {
        /// The failures file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Earlier runs' records, read by the reader thread beside the run's own journal.
pub struct History {
    /// A read connection to the run's journal.
    pub reader: JournalReader,
    /// The account the run's records are kept under.
    pub account: String,
    /// Send `failed` hires again even when their rows have not changed.
    pub retry_failed: bool,
}

/// Everything one run needs.
pub struct Pipeline {
    /// The roster's checked rows.
    pub rows: RosterRows,
    /// The shared submission machinery; its record sender feeds `records`.
    pub submitter: Arc<Submitter>,
    /// The receiving end of the submitter's record sender.
    pub records: mpsc::UnboundedReceiver<Record>,
    /// Where the results go.
    pub results: ResultsWriter,
    /// Where rows that need fixing go as well, when anywhere.
    pub failures: Option<FailuresWriter>,
    /// How many data rows the roster holds, when the caller counted them, for progress.
    pub expected_rows: Option<u64>,
    /// The run's journal, when it keeps one.
    pub journal: Option<Journal>,
    /// What earlier runs recorded, when there is a journal.
    pub history: Option<History>,
    /// Submissions in flight at once.
    pub concurrency: usize,
}

/// A row, ready for the dispatcher.
enum Step {
    /// Its outcome is known without sending anything; the cells come along when it needs
    /// fixing.
    Known(Outcome, Option<Vec<String>>),
    /// It is to be submitted. Its cells come along, since Zoom may refuse it.
    Submit(Submission, Vec<String>),
}

impl Pipeline {
    /// Runs every row, returning once each has its line in the results.
    pub async fn run(self) -> Result<RunReport, PipelineError> {
        let started = Instant::now();
        let Pipeline {
            rows,
            submitter,
            records,
            results,
            failures,
            expected_rows,
            journal,
            history,
            concurrency,
        } = self;
        submitter.progress.started(expected_rows);
        // Rows prepared but not yet dispatched. Bounded, so the reader waits for the pool.
        let (step_sender, step_receiver) = mpsc::channel(READ_AHEAD);
        // Rows dispatched but not yet written. The recorder returns a permit per row written.
        let window = Arc::new(Semaphore::new(REORDER_WINDOW));

        let reader =
            tokio::task::spawn_blocking(move || read_steps(rows, history.as_ref(), &step_sender));
        let recording = Recorder::new(results, journal, Arc::clone(&window))
            .with_failures(failures)
            .with_progress(Arc::clone(&submitter.progress))
            .spawn(records);

        let mut dispatcher = Dispatcher {
            submitter: Arc::clone(&submitter),
            workers: Arc::new(Semaphore::new(concurrency.max(1))),
            window,
            in_flight: JoinSet::new(),
            in_flight_rows: HashMap::new(),
            next_sequence: 0,
        };
        let failure = dispatcher.dispatch_all(step_receiver).await;
        let _ = reader.await;
        dispatcher.drain().await;
        submitter.record.finish();
        drop(dispatcher);

        let recorded = recording
            .await
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))?;
        submitter.progress.finished();
        if let Some(error) = failure {
            return Err(error);
        }
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Ok(RunReport {
            rows: recorded.counts.values().sum(),
            counts: recorded.counts,
            elapsed: started.elapsed(),
            stop: submitter.stop.reason(),
            create_requests: load(&submitter.tally.create_requests),
            sending: submitter.tally.sending(),
            lookups: load(&submitter.tally.lookups),
            rate_limited: load(&submitter.tally.rate_limited),
            journal_error: recorded.journal_error,
        })
    }
}

/// The reader thread: rows in, steps out, until the roster ends or the dispatcher hangs up.
fn read_steps(
    rows: RosterRows,
    history: Option<&History>,
    steps: &mpsc::Sender<Result<Step, PipelineError>>,
) {
    for row in rows {
        let step = row
            .map_err(PipelineError::from)
            .and_then(|row| prepare(row, history));
        let failed = step.is_err();
        if steps.blocking_send(step).is_err() || failed {
            return;
        }
    }
}

/// Turns a checked row into a step, asking the journal about a ready hire.
fn prepare(row: RosterRow, history: Option<&History>) -> Result<Step, PipelineError> {
    if let Some(outcome) = Outcome::of_unsent_row(&row) {
        let cells = needs_fixing(outcome.status).then_some(row.cells);
        return Ok(Step::Known(outcome, cells));
    }
    let Verdict::Ready(hire) = row.verdict else {
        unreachable!("every verdict but ready has an unsent outcome");
    };
    let content_hash = prior::content_hash(&hire);
    let (entry, retry_failed) = match history {
        Some(history) => (
            history.reader.hire(&history.account, &hire.email_key)?,
            history.retry_failed,
        ),
        None => (None, false),
    };
    Ok(
        match prior::decide(&hire, entry.as_ref(), &content_hash, retry_failed) {
            Decision::Settled(outcome) => {
                let cells = needs_fixing(outcome.status).then_some(row.cells);
                Step::Known(outcome, cells)
            }
            Decision::Submit { unsure } => Step::Submit(
                Submission {
                    hire,
                    content_hash,
                    unsure,
                },
                row.cells,
            ),
        },
    )
}

/// What the dispatcher remembers of a submission in flight, to write its line if it is cut
/// short.
struct InFlight {
    sequence: u64,
    row: u64,
    email: String,
    note: JournalNote,
    /// The roster cells, for the failures file should Zoom refuse the row.
    cells: Vec<String>,
}

/// Hands rows to workers in roster order and forwards every outcome to the recorder.
struct Dispatcher {
    submitter: Arc<Submitter>,
    /// Submissions in flight. A permit is taken before the next row is received, which is
    /// what gives the reader backpressure.
    workers: Arc<Semaphore>,
    /// Rows dispatched but not yet written; see [`REORDER_WINDOW`].
    window: Arc<Semaphore>,
    in_flight: JoinSet<(u64, Submitted)>,
    in_flight_rows: HashMap<tokio::task::Id, InFlight>,
    next_sequence: u64,
}

impl Dispatcher {
    /// Dispatches rows until the roster ends, returning a failure met on the way.
    async fn dispatch_all(
        &mut self,
        mut steps: mpsc::Receiver<Result<Step, PipelineError>>,
    ) -> Option<PipelineError> {
        loop {
            self.wait_for_window().await;
            match steps.recv().await {
                None => return None,
                Some(Err(error)) => {
                    self.submitter.stop.stop(StopReason::Interrupted);
                    return Some(error);
                }
                Some(Ok(step)) => self.dispatch(step).await,
            }
            while let Some(done) = self.in_flight.try_join_next_with_id() {
                self.forward(done);
            }
        }
    }

    /// Waits until the reorder window has room for one more row.
    ///
    /// The window fills when many rows finish behind a slow one. Only that slow row's outcome
    /// can make room, and only this loop forwards outcomes, so finished submissions are
    /// forwarded while waiting; waiting on the window alone would never end.
    async fn wait_for_window(&mut self) {
        let window = Arc::clone(&self.window);
        let permit = window.acquire_owned();
        tokio::pin!(permit);
        loop {
            tokio::select! {
                permit = &mut permit => {
                    if let Ok(permit) = permit {
                        permit.forget();
                    }
                    return;
                }
                Some(done) = self.in_flight.join_next_with_id() => self.forward(done),
            }
        }
    }

    /// Writes a known outcome at once, or starts the submission.
    async fn dispatch(&mut self, step: Step) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let (submission, cells) = match step {
            Step::Known(outcome, cells) => {
                self.submitter
                    .record
                    .outcome(sequence, outcome, None, cells);
                return;
            }
            Step::Submit(submission, cells) => (submission, cells),
        };
        let note = JournalNote {
            email_key: submission.hire.email_key.clone(),
            content_hash: submission.content_hash.clone(),
            leave_in_flight: submission.unsure,
        };
        let permit = tokio::select! {
            permit = Arc::clone(&self.workers).acquire_owned() => permit.ok(),
            () = self.submitter.stop.stopped() => None,
        };
        let Some(permit) = permit else {
            let reason = self
                .submitter
                .stop
                .reason()
                .unwrap_or(StopReason::Interrupted);
            let hire = &submission.hire;
            let outcome = Outcome::unsent(
                hire.row,
                hire.user_info.email.clone(),
                Status::Deferred,
                reason.unsent_message(),
            );
            self.submitter
                .record
                .outcome(sequence, outcome, Some(note), None);
            return;
        };
        let submitter = Arc::clone(&self.submitter);
        let remembered = InFlight {
            sequence,
            row: submission.hire.row,
            email: submission.hire.user_info.email.clone(),
            note,
            cells,
        };
        let handle = self.in_flight.spawn(async move {
            let ended = submitter.submit(&submission).await;
            drop(permit);
            (sequence, ended)
        });
        self.in_flight_rows.insert(handle.id(), remembered);
    }

    /// Waits for the submissions still in flight. After a stop they get [`STOP_GRACE`] to
    /// finish; those still running then are cut short and written as `deferred`.
    async fn drain(&mut self) {
        let submitter = Arc::clone(&self.submitter);
        let grace_over = async {
            submitter.stop.stopped().await;
            tokio::time::sleep(STOP_GRACE).await;
        };
        tokio::pin!(grace_over);
        let mut cut_short = false;
        loop {
            let next = if cut_short {
                self.in_flight.join_next_with_id().await
            } else {
                tokio::select! {
                    next = self.in_flight.join_next_with_id() => next,
                    () = &mut grace_over => {
                        cut_short = true;
                        self.in_flight.abort_all();
                        continue;
                    }
                }
            };
            let Some(done) = next else {
                return;
            };
            self.forward(done);
        }
    }

    /// Sends a finished submission's outcome to the recorder. A submission that was cut short
    /// or panicked still gets a line: `deferred`, and the journal keeps it in flight, since its
    /// create may have gone out.
    fn forward(
        &mut self,
        done: Result<(tokio::task::Id, (u64, Submitted)), tokio::task::JoinError>,
    ) {
        let id = match &done {
            Ok((id, _)) => *id,
            Err(error) => error.id(),
        };
        let Some(remembered) = self.in_flight_rows.remove(&id) else {
            return;
        };
        let (outcome, may_exist) = match done {
            Ok((_, (_, submitted))) => (submitted.outcome, submitted.may_exist),
            Err(error) => {
                let message = if error.is_cancelled() {
                    "stopped while in flight: it may have been created; the next run looks it \
                     up before sending"
                } else {
                    "internal error while submitting: it may have been created; the next run \
                     looks it up before sending"
                };
                let outcome = Outcome::unsent(
                    remembered.row,
                    remembered.email,
                    Status::Deferred,
                    message.to_owned(),
                );
                (outcome, true)
            }
        };
        let note = JournalNote {
            leave_in_flight: may_exist,
            ..remembered.note
        };
        let cells = needs_fixing(outcome.status).then_some(remembered.cells);
        self.submitter
            .record
            .outcome(remembered.sequence, outcome, Some(note), cells);
    }
}
