//! The executor: runs one phase of a reviewed plan. One runner at a time (a session-level
//! advisory lock on a dedicated connection), every step under its timeouts (`SET LOCAL` inside
//! its transaction), lock timeouts and deadlocks retried on a schedule that never drops the
//! timeout, every step journaled so a rerun after a crash continues where the last one
//! stopped, and facts checked before each step so a step whose work is already there is
//! skipped.

mod backfill;
mod error;
pub mod facts;
mod framework;
pub mod journal;
mod progress;
mod runner_lock;
pub mod window;

use std::collections::HashMap;
use std::time::Duration;

pub use backfill::Ended;
pub use error::{ExecError, Restore, StepFailure};
pub use progress::{EventsFileError, Progress};

use crate::config::{ApplyConfig, Config};
use crate::ir::QualifiedName;
use crate::live::activity::{strip_literals, Activity};
use crate::live::Session;
use crate::plan::render::Timeouts;
use crate::plan::{Fact, Phase, Plan, Step};
use crate::snapshot::{Provider, Purpose, Snapshot};
use journal::Status;

/// SQLSTATEs that mean "could not get the lock in time": try again later.
const LOCK_NOT_AVAILABLE: &str = "55P03";
const DEADLOCK_DETECTED: &str = "40P01";

/// What happened to each step of the phase.
#[derive(Debug, Default)]
pub struct Outcome {
    pub ran: Vec<String>,
    pub skipped: Vec<String>,
    pub already_done: Vec<String>,
    pub recorded: Vec<String>,
    /// Why the phase stopped early without an error (window closed, operator's pause).
    pub paused: Option<String>,
    /// The snapshot the phase started with, taken by this run or an earlier one.
    pub snapshot: Option<Snapshot>,
}

/// Progress lines for the operator (standard error in the CLI).
pub type Log<'a> = &'a mut dyn FnMut(&str);

/// Runs `phase` of `plan`.
pub fn apply(
    session: &Session,
    plan: &Plan,
    phase: Phase,
    config: &Config,
    log: Log,
    progress: &mut Progress,
) -> Result<Outcome, ExecError> {
    for window in &config.backfill.windows {
        window.validate()?;
    }
    let _runner =
        runner_lock::acquire(&session.target, Duration::from_millis(config.apply.runner_lock_timeout_ms), log)?;
    journal::ensure(session)?;
    let statuses = journal::statuses(session, plan)?;
    earlier_phases_finished(plan, phase, &statuses)?;
    let run = journal::start_run(session, plan, phase.name())?;
    let mut outcome = Outcome::default();
    let result = run_steps(session, plan, phase, config, &statuses, &mut outcome, log, progress)
        .and_then(|()| record_finished(session, plan, &mut outcome, log))
        .map_err(|error| match &outcome.snapshot {
            Some(taken) => ExecError::AfterSnapshot { source: Box::new(error), restore: Restore(Some(taken.clone())) },
            None => error,
        });
    journal::finish_run(session, run, result.as_ref().err().map(ToString::to_string).as_deref());
    result.map(|()| outcome)
}

/// The snapshot a phase starts with, called just before its first step that will run: a
/// phase that pauses for its window, or whose steps all turn out done, takes none, and one
/// taken hours before its first step would miss the writes in between. It is taken (or found
/// in the journal, after a crash) when the phase is one of `[snapshot] before`; without one the
/// phase does not start, unless the provider is `none`.
fn snapshot_first(
    session: &Session,
    plan: &Plan,
    phase: Phase,
    config: &Config,
    statuses: &HashMap<String, Status>,
    log: Log,
) -> Result<Option<Snapshot>, ExecError> {
    if !config.snapshot.before.iter().any(|b| b == phase.name()) {
        return Ok(None);
    }
    if let Some(taken) = journal::snapshot(session, plan, Some(phase.name()))? {
        log(&format!("snapshot {}: taken before this phase by an earlier run", taken.id));
        return Ok(Some(taken));
    }
    let spec = config.snapshot.provider.as_deref().ok_or(ExecError::NoSnapshotProvider { phase: phase.name() })?;
    let provider: Provider = spec.parse()?;
    let mut migrations: Vec<String> =
        plan.steps_in(phase).filter(|s| !finished(statuses, s)).map(|s| s.migration.clone()).collect();
    migrations.dedup();
    let purpose = Purpose { plan_checksum: &plan.checksum, phase: phase.name(), migrations };
    let taken = provider.take(&purpose, &session.target, &config.snapshot, log).map_err(|error| {
        match journal::record_snapshot_failure(session, plan, phase.name(), provider.kind(), &error.to_string()) {
            Ok(()) => ExecError::Snapshot(error),
            Err(journal) => ExecError::SnapshotUnjournaled { snapshot: error, journal: Box::new(journal) },
        }
    })?;
    if let Some(snapshot) = &taken {
        journal::record_snapshot(session, plan, phase.name(), snapshot)?;
        log(&format!("snapshot {}: usable; the {} phase starts", snapshot.id, phase.name()));
    }
    Ok(taken)
}

/// The step ran (or was found done) in an earlier run.
fn finished(statuses: &HashMap<String, Status>, step: &Step) -> bool {
    statuses.get(&step.id).is_some_and(|status| status.finished())
}

fn earlier_phases_finished(plan: &Plan, phase: Phase, statuses: &HashMap<String, Status>) -> Result<(), ExecError> {
    let unfinished: Vec<&str> =
        plan.steps.iter().filter(|s| s.phase < phase && !finished(statuses, s)).map(|s| s.id.as_str()).collect();
    match unfinished.first() {
        None => Ok(()),
        Some(first) => Err(ExecError::EarlierPhase { count: unfinished.len(), first: first.to_string() }),
    }
}

#[allow(clippy::too_many_arguments)]
fn run_steps(
    session: &Session,
    plan: &Plan,
    phase: Phase,
    config: &Config,
    statuses: &HashMap<String, Status>,
    outcome: &mut Outcome,
    log: Log,
    progress: &mut Progress,
) -> Result<(), ExecError> {
    let mut snapshot_checked = false;
    for step in plan.steps_in(phase) {
        if finished(statuses, step) {
            outcome.already_done.push(step.id.clone());
            continue;
        }
        if let Some(fact) = &step.done_when {
            if facts::holds(session, fact)? {
                log(&format!("{}: already done ({}), skipped", step.id, facts::describe(fact)));
                journal::set_status(session, plan, step, Status::Skipped, 0, None)?;
                outcome.skipped.push(step.id.clone());
                continue;
            }
        }
        if phase == Phase::Contract {
            if let Some(why) = outside_window(step, config) {
                outcome.paused = Some(why);
                return Ok(());
            }
        }
        if !snapshot_checked {
            outcome.snapshot = snapshot_first(session, plan, phase, config, statuses, log)?;
            snapshot_checked = true;
        }
        if step.framework.is_some() {
            // The framework runs every earlier migration it does not find in its history
            // table: those lockgate finished must be recorded first.
            record_finished(session, plan, outcome, log)?;
        }
        log(&format!("{}: {}", step.id, step.title));
        match run_step(session, plan, step, config, log, progress)? {
            Ended::Done => outcome.ran.push(step.id.clone()),
            Ended::Paused(why) => {
                outcome.paused = Some(why);
                return Ok(());
            }
        }
    }
    Ok(())
}

/// A contract step starts only inside a window, and only if its estimate (the high end) fits
/// before the window closes.
fn outside_window(step: &Step, config: &Config) -> Option<String> {
    let now = window::now();
    match window::open_until(&config.backfill.windows, now) {
        None => Some(format!("{} waits for an off-peak window (none is open at {})", step.id, window::show(now))),
        Some(Some(closes)) => {
            let needs = jiff::SignedDuration::from_millis(step.estimate.high_ms.ceil() as i64);
            (now.checked_add(needs).ok()? > closes).then(|| {
                format!(
                    "{} needs up to {} and the window closes at {}; it waits for the next one",
                    step.id,
                    crate::units::seconds(step.estimate.high_ms),
                    window::show(closes)
                )
            })
        }
        Some(None) => None,
    }
}

/// Runs a step, retrying on lock timeouts and deadlocks.
fn run_step(
    session: &Session,
    plan: &Plan,
    step: &Step,
    config: &Config,
    log: Log,
    progress: &mut Progress,
) -> Result<backfill::Ended, ExecError> {
    let apply = &config.apply;
    let timeouts =
        Timeouts { lock_timeout_ms: apply.lock_timeout_ms, statement_timeout_ms: apply.statement_timeout_ms };
    if let Some(run) = &step.framework {
        return run_framework(session, plan, step, run, &timeouts, apply, log).map(|()| backfill::Ended::Done);
    }
    match &step.batched {
        None => with_retries(session, plan, step, apply, log, |lock_timeout_ms, attempt| {
            try_step(session, plan, step, &timeouts, lock_timeout_ms, attempt)
        })
        .map(|()| backfill::Ended::Done),
        Some(batched) => {
            backfill::Job { session, plan, step, batched, apply, config: &config.backfill }.run(log, progress)
        }
    }
}

/// Runs the framework's command for the step's migration, journaled as running first: after a
/// crash the rerun finds it unfinished and asks the framework's history table (the step's
/// fact) whether the command got to the end.
fn run_framework(
    session: &Session,
    plan: &Plan,
    step: &Step,
    run: &crate::plan::FrameworkRun,
    timeouts: &Timeouts,
    config: &ApplyConfig,
    log: Log,
) -> Result<(), ExecError> {
    let output = with_retries(session, plan, step, config, log, |lock_timeout_ms, attempt| {
        journal::set_status(session, plan, step, Status::Running, attempt, None).map_err(Attempt::Journal)?;
        let pgoptions = timeouts.pgoptions(step, lock_timeout_ms);
        framework::run(run, &session.target.url, &pgoptions)
            .map_err(|failure| Attempt::Framework { retryable: step.transaction && failure.lock_conflict(), failure })
    })?;
    for line in output.lines().filter(|l| !l.trim().is_empty()) {
        log(&format!("{}: | {line}", step.id));
    }
    // A command that succeeded against another database would leave this one unmigrated.
    if let Some(fact) = &step.done_when {
        if !facts::holds(session, fact)? {
            let elsewhere = StepFailure::Elsewhere {
                command: run.command.join(" "),
                fact: facts::describe(fact),
                database: session.target.display.clone(),
            };
            return Err(failed(session, plan, step, 1, elsewhere));
        }
    }
    Ok(journal::set_status(session, plan, step, Status::Done, 1, None)?)
}

/// Journals the step as failed (best effort: the error says why in any case) and says so.
fn failed(session: &Session, plan: &Plan, step: &Step, attempts: u32, cause: StepFailure) -> ExecError {
    let _ = journal::set_status(session, plan, step, Status::Failed, attempts, Some(&cause.to_string()));
    let (path, line) = (step.source.path.clone(), step.source.line);
    ExecError::Step { step: step.id.clone(), path, line, cause: Box::new(cause) }
}

/// A failed try of a step.
trait AttemptError {
    /// A lock timeout or deadlock: the try left nothing behind and may be made again.
    fn retryable(&self) -> bool;
    fn into_failure(self) -> StepFailure;
}

impl AttemptError for tokio_postgres::Error {
    fn retryable(&self) -> bool {
        let code = self.code().map(|c| c.code().to_string()).unwrap_or_default();
        code == LOCK_NOT_AVAILABLE || code == DEADLOCK_DETECTED
    }

    fn into_failure(self) -> StepFailure {
        StepFailure::Server(self)
    }
}

/// A failed try of a framework step.
enum Attempt {
    Journal(journal::JournalError),
    Framework { failure: framework::Failure, retryable: bool },
}

impl AttemptError for Attempt {
    fn retryable(&self) -> bool {
        matches!(self, Attempt::Framework { retryable: true, .. })
    }

    fn into_failure(self) -> StepFailure {
        match self {
            Attempt::Journal(error) => StepFailure::Journal(error),
            Attempt::Framework { failure, .. } => StepFailure::Framework(failure),
        }
    }
}

/// Runs `attempt` until it succeeds, pausing and retrying on lock timeouts and deadlocks as
/// the schedule says; a concurrent index build that left an invalid index is tried again a
/// bounded number of times.
fn with_retries<T, E: AttemptError>(
    session: &Session,
    plan: &Plan,
    step: &Step,
    config: &ApplyConfig,
    log: Log,
    mut attempt_with: impl FnMut(u64, u32) -> Result<T, E>,
) -> Result<T, ExecError> {
    let mut lock_timeout_ms = config.lock_timeout_ms;
    let mut invalid_index_rebuilds = 0;
    for attempt in 1.. {
        let error = match attempt_with(lock_timeout_ms, attempt) {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let retryable = error.retryable();
        let failure = error.into_failure();
        let rebuild =
            !retryable && leaves_invalid_index(step) && invalid_index_rebuilds + 1 < config.concurrent_index_attempts;
        if rebuild {
            invalid_index_rebuilds += 1;
            log(&format!("{}: {failure}; the build left an invalid index, dropping it and building again", step.id));
            continue;
        }
        let retry = retryable.then(|| config.retries.get(attempt as usize - 1)).flatten();
        let Some(&(next_lock_timeout_ms, pause_ms)) = retry else {
            let failure = if retryable { StepFailure::RetriesExhausted(Box::new(failure)) } else { failure };
            return Err(failed(session, plan, step, attempt, failure));
        };
        log(&format!(
            "{}: {failure} (attempt {attempt} of {}){}; retrying in {} with lock_timeout {}",
            step.id,
            config.retries.len() + 1,
            blockers(session, step),
            crate::units::seconds(pause_ms as f64),
            crate::units::seconds(next_lock_timeout_ms as f64)
        ));
        std::thread::sleep(Duration::from_millis(pause_ms));
        lock_timeout_ms = next_lock_timeout_ms;
    }
    unreachable!("the attempt loop only ends by returning")
}

fn try_step(
    session: &Session,
    plan: &Plan,
    step: &Step,
    timeouts: &Timeouts,
    lock_timeout_ms: u64,
    attempt: u32,
) -> Result<(), tokio_postgres::Error> {
    let settings = timeouts.settings(step, lock_timeout_ms).join("; ");
    let done = journal::record(plan, step, Status::Done, attempt, None);
    if step.transaction {
        let sql = format!("BEGIN; {settings}; {}; {done}; COMMIT", step.sql.join("; "));
        return session.execute(&sql).inspect_err(|_| {
            let _ = session.execute("ROLLBACK");
        });
    }
    // CONCURRENTLY cannot run in a transaction: journal it as running, run each statement on
    // its own, then journal it done. A crash in between reruns it; its fact decides.
    session.execute(&journal::record(plan, step, Status::Running, attempt, None))?;
    if let Some(Fact::IndexValid { schema, index }) = &step.done_when {
        let name = crate::ir::quote_resolved(&QualifiedName::new(Some(schema.clone()), index));
        session.execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"))?;
    }
    session.execute(&settings)?;
    let result = step.sql.iter().try_for_each(|sql| session.execute(sql));
    let _ = session.execute("RESET lock_timeout; RESET statement_timeout");
    result?;
    session.execute(&done)
}

/// A failed concurrent index build leaves an invalid index behind.
fn leaves_invalid_index(step: &Step) -> bool {
    !step.transaction && matches!(step.done_when, Some(Fact::IndexValid { .. }))
}

/// `; blocked by pid 4242 (idle in transaction, transaction open 3.2 min): SELECT …` for the
/// sessions holding conflicting locks on the step's tables.
fn blockers(session: &Session, step: &Step) -> String {
    let Ok(activity) = Activity::read(session) else { return String::new() };
    let mut found = vec![];
    for lock in &step.locks {
        let relation = QualifiedName::parse_dotted(&lock.relation);
        for (backend, _) in activity.conflicting(&relation, lock.mode) {
            if !found.iter().any(|(pid, _)| *pid == backend.pid) {
                found.push((backend.pid, format!("{}: {}", backend.describe(), strip_literals(&backend.query))));
            }
        }
    }
    if found.is_empty() {
        String::new()
    } else {
        format!("; blocked by {}", found.into_iter().map(|(_, text)| text).collect::<Vec<_>>().join("; "))
    }
}

/// Records the migrations whose steps have all finished, in plan order and stopping at the
/// first that has not (a runner that stores one version would otherwise skip it), once.
fn record_finished(session: &Session, plan: &Plan, outcome: &mut Outcome, log: Log) -> Result<(), ExecError> {
    let statuses = journal::statuses(session, plan)?;
    let recorded = journal::recorded(session)?;
    for migration in &plan.migrations {
        let framework = serde_json::to_value(migration.framework).ok().and_then(|v| v.as_str().map(str::to_string));
        let already = recorded.iter().any(|(f, id)| Some(f) == framework.as_ref() && id == &migration.id);
        let finished = plan.steps.iter().filter(|s| s.migration == migration.id).all(|s| finished(&statuses, s));
        if !finished {
            break;
        }
        if !already {
            journal::record_migration(session, plan, migration)?;
            log(&format!("{}: recorded as applied", migration.id));
            outcome.recorded.push(migration.id.clone());
        }
    }
    Ok(())
}

/// Undoes the expand phase of a plan whose contract has not run: the undo statements of every
/// finished expand step, newest first.
pub fn rollback(session: &Session, plan: &Plan, config: &ApplyConfig, log: Log) -> Result<Vec<String>, ExecError> {
    let _runner = runner_lock::acquire(&session.target, Duration::from_millis(config.runner_lock_timeout_ms), log)?;
    journal::ensure(session)?;
    let statuses = journal::statuses(session, plan)?;
    let ran = |step: &Step| statuses.get(&step.id) == Some(&Status::Done);
    let restore = || journal::snapshot(session, plan, None).map(Restore);
    if let Some(step) = plan.steps.iter().find(|s| s.phase != Phase::Expand && finished(&statuses, s)) {
        return Err(ExecError::LaterPhaseRan { step: step.id.clone(), phase: step.phase.name(), restore: restore()? });
    }
    let expand: Vec<&Step> = plan.steps_in(Phase::Expand).filter(|s| ran(s)).collect();
    // A step undone with a later one (a RunSQL's reverse_sql) is covered once that one ran.
    let covered = |step: &&&Step| step.undone_with.as_ref().is_some_and(|id| expand.iter().any(|s| &s.id == id));
    if let Some(step) = expand.iter().find(|s| s.undo.is_empty() && !covered(s)) {
        return Err(ExecError::NoUndo { step: step.id.clone(), title: step.title.clone(), restore: restore()? });
    }
    let mut undone = vec![];
    for step in expand.iter().rev() {
        if step.undo.is_empty() {
            log(&format!("{}: undone with {}", step.id, step.undone_with.as_deref().unwrap_or_default()));
            journal::set_status(session, plan, step, Status::Undone, 0, None)?;
            undone.push(step.id.clone());
            continue;
        }
        log(&format!("{}: undoing {}", step.id, step.title));
        session
            .execute(&format!("SET lock_timeout = '{}ms'", config.lock_timeout_ms))
            .and_then(|()| step.undo.iter().try_for_each(|sql| session.execute(sql)))
            .map_err(|source| ExecError::Undo { step: step.id.clone(), source })?;
        journal::set_status(session, plan, step, Status::Undone, 0, None)?;
        undone.push(step.id.clone());
    }
    let _ = session.execute("RESET lock_timeout");
    Ok(undone)
}
