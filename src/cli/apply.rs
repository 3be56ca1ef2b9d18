//! `lockgate apply`, `lockgate rollback` and `lockgate status`: the executor's commands.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use super::check::DatabaseArgs;
use super::Error;
use crate::config::Config;
use crate::exec::journal::{self, JournalError};
use crate::exec::{self, Progress};
use crate::live::Session;
use crate::plan::render::{self, Timeouts};
use crate::plan::{Phase, Plan};

#[derive(Args)]
pub struct ApplyArgs {
    /// The plan file `lockgate plan -o` wrote.
    plan: PathBuf,
    #[arg(long, value_enum)]
    phase: PhaseArg,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Print every statement with the settings it would run under; run nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write progress events (JSON, one per line) to this file.
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// The snapshot taken before the phase: `rds:<instance-or-cluster-id>`,
    /// `pg_dump:<directory>`, `command:<shell command>`, or `none` (overrides `[snapshot]
    /// provider`).
    #[arg(long, value_name = "PROVIDER")]
    snapshot: Option<String>,
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Args)]
pub struct RollbackArgs {
    /// The plan whose expand phase is undone.
    plan: PathBuf,
    #[command(flatten)]
    database: DatabaseArgs,
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Args)]
pub struct StatusArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Show this plan's steps (default: the runs and the migrations recorded).
    #[arg(long)]
    plan: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum PhaseArg {
    Expand,
    Backfill,
    Contract,
}

impl From<PhaseArg> for Phase {
    fn from(phase: PhaseArg) -> Phase {
        match phase {
            PhaseArg::Expand => Phase::Expand,
            PhaseArg::Backfill => Phase::Backfill,
            PhaseArg::Contract => Phase::Contract,
        }
    }
}

/// Reads a plan file as it is.
fn load_plan(path: &Path) -> Result<Plan, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadPlan { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text).map_err(|source| Error::NotAPlan { path: path.to_path_buf(), source })
}

/// Reads a plan and refuses one that was edited or whose sources changed since it was made.
fn read_plan(path: &Path) -> Result<Plan, Error> {
    let plan = load_plan(path)?;
    if plan.compute_checksum() != plan.checksum {
        return Err(Error::EditedPlan { path: path.to_path_buf() });
    }
    let changed = plan.changed_sources();
    if !changed.is_empty() {
        return Err(Error::SourcesChanged { changed });
    }
    Ok(plan)
}

fn writable(database: &DatabaseArgs) -> Result<Session, Error> {
    let target = database.target().map_err(Error::Target)?;
    Session::open_writable(&target).map_err(Error::at(&target))
}

fn log(line: &str) {
    eprintln!("{line}");
}

pub fn apply(args: ApplyArgs) -> Result<u8, Error> {
    let mut config = super::config_for(args.config.as_ref())?;
    if let Some(spec) = args.snapshot {
        spec.parse::<crate::snapshot::Provider>()?;
        config.snapshot.provider = Some(spec);
    }
    let plan = read_plan(&args.plan)?;
    let phase = Phase::from(args.phase);
    if args.dry_run {
        let timeouts = Timeouts {
            lock_timeout_ms: config.apply.lock_timeout_ms,
            statement_timeout_ms: config.apply.statement_timeout_ms,
        };
        super::output::print(&render::dry_run(&plan, phase, &timeouts), "the dry run")?;
        return Ok(0);
    }
    let session = writable(&args.database)?;
    run_phase(&session, &plan, phase, &config, args.events.as_deref())
}

/// Runs a phase and reports how it ended: 0 done, 1 a step failed, 3 paused.
fn run_phase(
    session: &Session,
    plan: &Plan,
    phase: Phase,
    config: &Config,
    events: Option<&Path>,
) -> Result<u8, Error> {
    let mut progress = Progress::new(std::io::stderr().is_terminal(), events)?;
    match exec::apply(session, plan, phase, config, &mut log, &mut progress) {
        Ok(outcome) => {
            eprintln!(
                "{} phase {}: {} steps ran, {} already there, {} done before; {} migrations recorded",
                phase.name(),
                if outcome.paused.is_some() { "paused" } else { "done" },
                outcome.ran.len(),
                outcome.skipped.len(),
                outcome.already_done.len(),
                outcome.recorded.len()
            );
            match outcome.paused {
                Some(why) => {
                    eprintln!("paused: {why}");
                    Ok(3)
                }
                None => Ok(0),
            }
        }
        Err(error) => Err(Error::Stopped(Box::new(error))),
    }
}

#[derive(Args)]
pub struct BackfillArgs {
    #[command(subcommand)]
    command: BackfillCommand,
}

#[derive(Subcommand)]
enum BackfillCommand {
    /// Run the plan's backfill phase (the same as `apply --phase backfill`).
    Run(BackfillRun),
    /// Each backfill step: status, rows done, the cursor, the batch size reached.
    Status(BackfillTarget),
    /// Ask running backfills of the plan to stop at their next batch (they exit `paused`).
    Pause(BackfillTarget),
    /// Let paused backfills run again, and run them.
    Resume(BackfillRun),
}

#[derive(Args)]
struct BackfillRun {
    plan: PathBuf,
    #[command(flatten)]
    database: DatabaseArgs,
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct BackfillTarget {
    plan: PathBuf,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub fn backfill(args: BackfillArgs) -> Result<u8, Error> {
    match args.command {
        BackfillCommand::Run(run) => backfill_run(run, false),
        BackfillCommand::Resume(run) => backfill_run(run, true),
        BackfillCommand::Pause(target) => {
            let plan = read_plan(&target.plan)?;
            let session = writable(&target.database)?;
            journal::ensure(&session)?;
            let steps = journal::request_pause(&session, &plan, true)?;
            eprintln!("asked {steps} backfill step(s) to pause at their next batch");
            Ok(0)
        }
        BackfillCommand::Status(target) => {
            let plan = read_plan(&target.plan)?;
            let session = writable(&target.database)?;
            journal::ensure(&session)?;
            let statuses = journal::statuses(&session, &plan)?;
            let mut out = String::new();
            for step in plan.steps.iter().filter(|s| s.batched.is_some()) {
                let at = journal::cursor(&session, &plan, step)?;
                let status = statuses.get(&step.id).map_or("pending", |s| s.name());
                let paused = if journal::pause_requested(&session, &plan, step)? { " (pause requested)" } else { "" };
                out.push_str(&format!(
                    "{} {status}{paused}: {} rows done, cursor {}, batches of {}\n",
                    step.id,
                    at.rows_done,
                    at.cursor.map_or("-".to_string(), |c| c.join(", ")),
                    at.batch_rows.map_or("-".to_string(), |n| n.to_string())
                ));
            }
            super::output::print(&out, "the backfill status")?;
            Ok(0)
        }
    }
}

fn backfill_run(run: BackfillRun, resume: bool) -> Result<u8, Error> {
    let config = super::config_for(run.config.as_ref())?;
    let plan = read_plan(&run.plan)?;
    let session = writable(&run.database)?;
    if resume {
        journal::ensure(&session)?;
        journal::request_pause(&session, &plan, false)?;
    }
    run_phase(&session, &plan, Phase::Backfill, &config, run.events.as_deref())
}

pub fn rollback(args: RollbackArgs) -> Result<u8, Error> {
    let config: Config = super::config_for(args.config.as_ref())?;
    let plan = read_plan(&args.plan)?;
    let session = writable(&args.database)?;
    match exec::rollback(&session, &plan, &config.apply, &mut log) {
        Ok(undone) => {
            eprintln!("expand undone: {} steps", undone.len());
            Ok(0)
        }
        Err(error) => Err(Error::Stopped(Box::new(error))),
    }
}

pub fn status(args: StatusArgs) -> Result<u8, Error> {
    let session = writable(&args.database)?;
    let has_journal = session
        .query("journal", "SELECT to_regclass('lockgate.steps') IS NOT NULL", &[])
        .map_err(JournalError::Read)?
        .first()
        .is_some_and(|r| r.get::<_, bool>(0));
    if !has_journal {
        super::output::print("lockgate has not run on this database (no lockgate.steps journal)\n", "the status")?;
        return Ok(0);
    }
    let mut out = String::new();
    if let Some(path) = &args.plan {
        let plan = load_plan(path)?;
        let statuses = journal::statuses(&session, &plan)?;
        for phase in Phase::ALL {
            for step in plan.steps_in(phase) {
                let status = statuses.get(&step.id).map_or("pending", |s| s.name());
                out.push_str(&format!("{:<8} {:<9} {}  {}\n", phase.name(), status, step.id, step.title));
            }
        }
    }
    let runs = session
        .query(
            "journal",
            "SELECT left(plan_checksum, 12), phase, status, started_at::text, COALESCE(error, '') FROM lockgate.runs ORDER BY id DESC LIMIT 10",
            &[],
        )
        .map_err(JournalError::Read)?;
    out.push_str("recent runs:\n");
    for row in runs {
        let error: String = row.get(4);
        let error = if error.is_empty() { String::new() } else { format!(": {error}") };
        out.push_str(&format!(
            "  plan {} {:<8} {:<7} {}{error}\n",
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2),
            row.get::<_, String>(3)
        ));
    }
    // A journal from before snapshots were recorded has no such table: nothing to show.
    let snapshots = session
        .query(
            "journal",
            "SELECT left(plan_checksum, 12), phase, provider, status, snapshot_id, COALESCE(error, ''), taken_at::text \
             FROM lockgate.snapshots ORDER BY taken_at DESC LIMIT 10",
            &[],
        )
        .unwrap_or_default();
    if !snapshots.is_empty() {
        out.push_str("snapshots taken before a phase:\n");
    }
    for row in snapshots {
        let (status, id, error) = (row.get::<_, String>(3), row.get::<_, String>(4), row.get::<_, String>(5));
        let what = if status == "available" { id } else { format!("{status}: {error}") };
        out.push_str(&format!(
            "  plan {} {:<8} {:<8} {}  {}\n",
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2),
            row.get::<_, String>(6),
            what
        ));
    }
    let recorded = journal::recorded(&session)?;
    out.push_str(&format!("migrations applied by lockgate: {}\n", recorded.len()));
    for (framework, id) in recorded {
        out.push_str(&format!("  {framework} {id}\n"));
    }
    super::output::print(&out, "the status")?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::window::WindowError;
    use crate::exec::ExecError;

    #[test]
    fn a_phase_that_could_not_start_exits_2_and_one_stopped_on_a_step_1() {
        let window = Error::Stopped(Box::new(ExecError::Window(WindowError::NotADay { text: "someday".into() })));
        assert_eq!(window.exit_code(), 2);
        assert_eq!(window.to_string(), "[backfill] windows: `someday` is not a day (mon … sun)");
        let earlier = Error::Stopped(Box::new(ExecError::EarlierPhase { count: 2, first: "1_orders/1".into() }));
        assert_eq!(earlier.exit_code(), 1);
        assert_eq!(Error::Stopped(Box::new(ExecError::NoSnapshotProvider { phase: "expand" })).exit_code(), 2);
        assert_eq!(Error::SourcesChanged { changed: vec!["0001.sql".into()] }.exit_code(), 2);
    }
}
