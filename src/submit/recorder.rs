//! The recorder: the one place where what happened is written down.
//!
//! A single thread owns both the results CSV and the journal (whose `SQLite` connection must have
//! one owner). Everything reaches it as a [`Record`] over one channel, and it works in rounds:
//! take whatever has arrived, commit the round's journal writes in one transaction, acknowledge
//! the in-flight marks, then append the rows that are now in roster order to the results and
//! flush. At 80 rows a second a round holds a handful of records, so the journal costs one sync
//! per round rather than one per row.
//!
//! A row that needs fixing also goes to the failures file, with the roster cells it came with.
//! Every outcome is reported to the run's [`Progress`] once its round is committed.
//!
//! Results go out in roster order, so a finished row may wait for a slower one before it; the
//! pipeline's reorder window bounds how many can wait. The journal does not wait: an outcome is
//! committed in the round it arrives.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

use super::events::{NoProgress, Progress};
use super::pipeline::PipelineError;
use crate::failures::{FailuresWriter, needs_fixing};
use crate::journal::{Journal, JournalWrite};
use crate::outcome::{Outcome, Status};
use crate::results::ResultsWriter;

/// The most records taken into one round, so that a flood cannot delay every acknowledgement.
const ROUND_LIMIT: usize = 2048;

/// What the journal needs to know about a row besides its outcome.
#[derive(Debug, Clone)]
pub struct JournalNote {
    /// The hire's normalised email.
    pub email_key: String,
    /// The hash of the row's content.
    pub content_hash: String,
    /// The submission ended without knowing whether Zoom created the user: keep the hire in
    /// flight, so the next run looks it up before sending, instead of recording the outcome.
    pub leave_in_flight: bool,
}

/// One thing to write down.
#[derive(Debug)]
pub enum Record {
    /// A row's outcome, tagged with its place in the roster. Rows that never reach the journal
    /// (invalid, duplicate) have no note.
    Outcome {
        /// The row's place in the roster, from 0.
        sequence: u64,
        /// The outcome for the results CSV.
        outcome: Outcome,
        /// What the journal records, if anything.
        note: Option<JournalNote>,
        /// The row's roster cells, for the failures file; kept only for rows that may need
        /// fixing, and only while they are in flight.
        cells: Option<Vec<String>>,
    },
    /// Writes that must be on disk before a create goes out: the in-flight mark and the unit
    /// of quota it spends. `durable` answers `true` once they are, or `false` if the journal
    /// could not be written, in which case nothing may be sent.
    Durable {
        /// The writes.
        writes: Vec<JournalWrite>,
        /// The acknowledgement.
        durable: oneshot::Sender<bool>,
    },
    /// A change to the day's create count.
    Quota(JournalWrite),
    /// Everything has been sent; write what is left and stop.
    Finish,
}

/// The sending side, cloned into every worker and the daily budget.
#[derive(Debug, Clone)]
pub struct RecordSender(mpsc::UnboundedSender<Record>);

impl RecordSender {
    /// Records `writes` and waits until they are on disk. `false` means the journal could not
    /// be written and the create they announce must not be sent.
    pub async fn commit(&self, writes: Vec<JournalWrite>) -> bool {
        let (durable, answer) = oneshot::channel();
        if self.0.send(Record::Durable { writes, durable }).is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Records a change to the day's create count, without waiting for it.
    pub fn quota(&self, write: JournalWrite) {
        let _ = self.0.send(Record::Quota(write));
    }

    /// Hands over a row's outcome, with its roster cells when it may need fixing.
    pub fn outcome(
        &self,
        sequence: u64,
        outcome: Outcome,
        note: Option<JournalNote>,
        cells: Option<Vec<String>>,
    ) {
        let _ = self.0.send(Record::Outcome {
            sequence,
            outcome,
            note,
            cells,
        });
    }

    /// Tells the recorder that nothing more will come.
    pub fn finish(&self) {
        let _ = self.0.send(Record::Finish);
    }
}

/// A new channel to a recorder.
#[must_use]
pub fn channel() -> (RecordSender, mpsc::UnboundedReceiver<Record>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (RecordSender(sender), receiver)
}

/// What the recorder wrote.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Results lines by status.
    pub counts: BTreeMap<Status, u64>,
    /// The first journal failure, if any: the run could not keep its memory.
    pub journal_error: Option<String>,
}

/// The recorder's state, owned by its thread.
pub struct Recorder {
    results: ResultsWriter,
    failures: Option<FailuresWriter>,
    journal: Option<Journal>,
    progress: Arc<dyn Progress>,
    /// Returns a permit for each row written; see the pipeline's reorder window.
    window: Arc<Semaphore>,
    /// Finished rows waiting for an earlier one, with their cells if they need fixing.
    waiting: HashMap<u64, (Outcome, Option<Vec<String>>)>,
    next_to_write: u64,
    recorded: Recorded,
}

impl Recorder {
    /// A recorder writing to `results` and, when there is one, `journal`.
    #[must_use]
    pub fn new(results: ResultsWriter, journal: Option<Journal>, window: Arc<Semaphore>) -> Self {
        Recorder {
            results,
            failures: None,
            journal,
            progress: Arc::new(NoProgress),
            window,
            waiting: HashMap::new(),
            next_to_write: 0,
            recorded: Recorded::default(),
        }
    }

    /// Also writes rows that need fixing to `failures`.
    #[must_use]
    pub fn with_failures(mut self, failures: Option<FailuresWriter>) -> Self {
        self.failures = failures;
        self
    }

    /// Reports every line written to `progress`.
    #[must_use]
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// Starts the recorder's thread. It returns once it has received [`Record::Finish`] (or every
    /// sender is gone) and written everything.
    pub fn spawn(
        self,
        receiver: mpsc::UnboundedReceiver<Record>,
    ) -> tokio::task::JoinHandle<Result<Recorded, PipelineError>> {
        tokio::task::spawn_blocking(move || self.run(receiver))
    }

    fn run(
        mut self,
        mut receiver: mpsc::UnboundedReceiver<Record>,
    ) -> Result<Recorded, PipelineError> {
        let mut finished = false;
        while !finished {
            let Some(first) = receiver.blocking_recv() else {
                break;
            };
            let mut round = vec![first];
            while round.len() < ROUND_LIMIT {
                match receiver.try_recv() {
                    Ok(record) => round.push(record),
                    Err(_) => break,
                }
            }
            finished = self.write_round(round)?;
        }
        if let Some(journal) = self.journal.take()
            && let Err(error) = journal.close()
        {
            self.journal_failed(&error.to_string());
        }
        Ok(self.recorded)
    }

    /// Writes one round; `true` once [`Record::Finish`] was among it.
    fn write_round(&mut self, round: Vec<Record>) -> Result<bool, PipelineError> {
        let mut writes = Vec::new();
        let mut acknowledgements = Vec::new();
        let mut finished = false;
        // Progress counts rows as their outcomes arrive, not as their lines go out, so that
        // one slow row does not hold the count back.
        let mut settled = Vec::new();
        for record in round {
            match record {
                Record::Outcome {
                    sequence,
                    outcome,
                    note,
                    cells,
                } => {
                    if let Some(note) = note.filter(|note| !note.leave_in_flight) {
                        writes.push(outcome_write(&outcome, note));
                    }
                    settled.push(outcome.status);
                    let cells = cells.filter(|_| needs_fixing(outcome.status));
                    self.waiting.insert(sequence, (outcome, cells));
                }
                Record::Durable {
                    writes: durable_writes,
                    durable,
                } => {
                    writes.extend(durable_writes);
                    acknowledgements.push(durable);
                }
                Record::Quota(write) => writes.push(write),
                Record::Finish => finished = true,
            }
        }

        let durable = self.commit(&writes);
        for acknowledgement in acknowledgements {
            let _ = acknowledgement.send(durable);
        }
        for status in settled {
            self.progress.row_done(status);
        }

        while let Some((outcome, cells)) = self.waiting.remove(&self.next_to_write) {
            self.results
                .write(&outcome)
                .map_err(|source| self.results_failed(source))?;
            if let Some(failures) = self
                .failures
                .as_mut()
                .filter(|_| needs_fixing(outcome.status))
            {
                failures
                    .write(&outcome, cells.as_deref())
                    .map_err(|source| failures_failed(failures, source))?;
            }
            *self.recorded.counts.entry(outcome.status).or_insert(0) += 1;
            self.next_to_write += 1;
            self.window.add_permits(1);
        }
        self.results
            .flush()
            .map_err(|source| self.results_failed(source))?;
        if let Some(failures) = self.failures.as_mut() {
            failures
                .flush()
                .map_err(|source| failures_failed(failures, source))?;
        }
        Ok(finished)
    }

    /// Commits journal writes in one transaction; `true` when they are on disk.
    fn commit(&mut self, writes: &[JournalWrite]) -> bool {
        let Some(journal) = self.journal.as_mut() else {
            return true;
        };
        match journal.record_batch(writes) {
            Ok(()) => true,
            Err(error) => {
                let message = error.to_string();
                self.journal_failed(&message);
                false
            }
        }
    }

    fn journal_failed(&mut self, message: &str) {
        tracing::error!(error = message, "the journal could not be written");
        self.recorded
            .journal_error
            .get_or_insert_with(|| message.to_owned());
    }

    fn results_failed(&self, source: std::io::Error) -> PipelineError {
        PipelineError::Results {
            path: self.results.path().to_owned(),
            source,
        }
    }
}

fn failures_failed(failures: &FailuresWriter, source: std::io::Error) -> PipelineError {
    PipelineError::Failures {
        path: failures.path().to_owned(),
        source,
    }
}

fn outcome_write(outcome: &Outcome, note: JournalNote) -> JournalWrite {
    JournalWrite::Outcome {
        email_key: note.email_key,
        row: outcome.row,
        email: outcome.email.clone(),
        status: outcome.status,
        user_id: outcome.user_id.clone(),
        http_status: outcome.http_status,
        zoom_code: outcome.zoom_code,
        message: outcome.message.clone(),
        attempts: outcome.attempts,
        content_hash: note.content_hash,
        at: jiff::Timestamp::now(),
    }
}
