//! `lockgate apply`, `lockgate rollback` and `lockgate status`: the executor's commands.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::check::DatabaseArgs;
use crate::config::Config;
use crate::exec::{self, journal};
use crate::live::{self, Session};
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

/// Reads a plan and refuses one that was edited or whose sources changed since it was made.
fn read_plan(path: &PathBuf) -> Result<Plan, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let plan: Plan =
        serde_json::from_str(&text).map_err(|e| format!("{}: not a lockgate plan: {e}", path.display()))?;
    if plan.compute_checksum() != plan.checksum {
        return Err(format!(
            "{}: the plan was edited after it was made (its checksum does not match); make it again",
            path.display()
        ));
    }
    let changed = plan.changed_sources();
    if !changed.is_empty() {
        return Err(format!(
            "the migrations changed since the plan was made ({}); the reviewed plan is the plan that runs: make and review it again",
            changed.join(", ")
        ));
    }
    Ok(plan)
}

fn writable(database: &DatabaseArgs) -> Result<Session, String> {
    let url = database.database_url.as_deref().ok_or("--database-url (or LOCKGATE_DATABASE_URL) is required")?;
    let target = live::Target::parse(url).map_err(|e| e.to_string())?;
    Session::open_writable(&target).map_err(|e| format!("{}: {e}", target.display))
}

fn log(line: &str) {
    eprintln!("{line}");
}

pub fn apply(args: ApplyArgs) -> Result<u8, String> {
    let config = super::config_for(args.config.as_ref()).map_err(|e| e.to_string())?;
    let plan = read_plan(&args.plan)?;
    let phase = Phase::from(args.phase);
    if args.dry_run {
        let timeouts = Timeouts {
            lock_timeout_ms: config.apply.lock_timeout_ms,
            statement_timeout_ms: config.apply.statement_timeout_ms,
        };
        print(&render::dry_run(&plan, phase, &timeouts));
        return Ok(0);
    }
    let session = writable(&args.database)?;
    match exec::apply(&session, &plan, phase, &config.apply, &mut log) {
        Ok(outcome) => {
            eprintln!(
                "{} phase done: {} steps ran, {} already there, {} done before; {} migrations recorded",
                phase.name(),
                outcome.ran.len(),
                outcome.skipped.len(),
                outcome.already_done.len(),
                outcome.recorded.len()
            );
            Ok(0)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Ok(1)
        }
    }
}

pub fn rollback(args: RollbackArgs) -> Result<u8, String> {
    let config: Config = super::config_for(args.config.as_ref()).map_err(|e| e.to_string())?;
    let plan = read_plan(&args.plan)?;
    let session = writable(&args.database)?;
    match exec::rollback(&session, &plan, &config.apply, &mut log) {
        Ok(undone) => {
            eprintln!("expand undone: {} steps", undone.len());
            Ok(0)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Ok(1)
        }
    }
}

pub fn status(args: StatusArgs) -> Result<u8, String> {
    let session = writable(&args.database)?;
    let has_journal = session
        .query("journal", "SELECT to_regclass('lockgate.steps') IS NOT NULL", &[])
        .map_err(|e| e.to_string())?
        .first()
        .is_some_and(|r| r.get::<_, bool>(0));
    if !has_journal {
        print("lockgate has not run on this database (no lockgate.steps journal)\n");
        return Ok(0);
    }
    let mut out = String::new();
    if let Some(path) = &args.plan {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let plan: Plan =
            serde_json::from_str(&text).map_err(|e| format!("{}: not a lockgate plan: {e}", path.display()))?;
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
        .map_err(|e| e.to_string())?;
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
    let recorded = journal::recorded(&session)?;
    out.push_str(&format!("migrations applied by lockgate: {}\n", recorded.len()));
    for (framework, id) in recorded {
        out.push_str(&format!("  {framework} {id}\n"));
    }
    print(&out);
    Ok(0)
}

fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}
