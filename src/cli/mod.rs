//! The command line: one module per subcommand; this file parses arguments and maps outcomes to
//! exit codes (0 clean, 1 findings at or above the fail level, 2 usage, config or I/O errors).
//! A command returns its documented exit code, or an [`Error`] whose type decides the code
//! (`main` prints it and exits with it).

mod apply;
mod calibrate;
mod check;
mod completions;
mod explain;
mod lint;
mod man;
mod output;
mod plan;
mod rules;
mod snapshots;
mod stats;
mod trace;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::ConfigError;
use crate::estimate::calibrate::CalibrateError;
use crate::estimate::ProfileError;
use crate::exec::journal::JournalError;
use crate::exec::{EventsFileError, ExecError};
use crate::lint::LintError;
use crate::live::{self, LiveError, StatsFileError};
use crate::plan::BuildError;
use crate::snapshot::SnapshotError;
use crate::trace::TraceError;
pub use output::OutputError;

/// Why a command could not do its work. Each layer's error nests whole, so the message keeps
/// its context (the file, the database, the server's words); [`Error::exit_code`] turns the
/// kind into the exit status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The migrations could not be read (or linted): a missing path, nothing to read, git.
    #[error(transparent)]
    Read(#[from] LintError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Stats(#[from] StatsFileError),
    /// The database URL or libpq settings could not be read.
    #[error(transparent)]
    Target(LiveError),
    /// A database could not be reached or read; `database` is its masked URL.
    #[error("{database}: {source}")]
    Database { database: String, source: LiveError },
    /// The server `database` could not be measured.
    #[error("{database}: {source}")]
    Calibrate { database: String, source: CalibrateError },
    /// The trace could not start or run on `database`.
    #[error("{database}: {source}")]
    Trace { database: String, source: TraceError },
    /// The trace ran, reported, and stopped at a statement the server refused.
    #[error("the server refused a statement, and the trace stopped there: {0}")]
    TraceStopped(String),
    #[error(transparent)]
    Plan(#[from] BuildError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("cannot write {what} as JSON: {source}")]
    Json { what: &'static str, source: serde_json::Error },
    #[error("cannot render the manual page: {0}")]
    ManualPage(#[source] std::io::Error),
    #[error("no rule `{0}`; `lockgate rules` lists them")]
    UnknownRule(String),
    #[error("no subcommand `{0}`; `lockgate --help` lists them")]
    UnknownSubcommand(String),
    #[error("cannot read the plan {}: {source}", path.display())]
    ReadPlan { path: PathBuf, source: std::io::Error },
    #[error("{}: not a lockgate plan: {source}", path.display())]
    NotAPlan { path: PathBuf, source: serde_json::Error },
    #[error("{}: the plan was edited after it was made (its checksum does not match); make it again", path.display())]
    EditedPlan { path: PathBuf },
    #[error(
        "the migrations changed since the plan was made ({}); the reviewed plan is the plan that runs: make and \
         review it again",
        changed.join(", ")
    )]
    SourcesChanged { changed: Vec<String> },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Events(#[from] EventsFileError),
    /// A bad `--snapshot`, or a snapshot that could not be listed or pruned.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("--snapshot rds:<id> or pg_dump:<directory> is required (or `[snapshot] provider`)")]
    NoSnapshotSource,
    /// A phase or a rollback stopped (boxed: the error carries a whole failed step).
    #[error(transparent)]
    Stopped(Box<ExecError>),
}

impl Error {
    /// The exit status: 2 for every error (usage, configuration, input, I/O, the database), and
    /// for a phase that could not start; 1 for a phase or rollback that started and stopped, as
    /// docs/plan-apply.md says. The other codes (1 findings or unsafe, 3 blocked, 4 off-peak, 5
    /// batch) are outcomes a command returns, not errors.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_)
            | Error::Read(_)
            | Error::Profile(_)
            | Error::Stats(_)
            | Error::Target(_)
            | Error::Database { .. }
            | Error::Calibrate { .. }
            | Error::Trace { .. }
            | Error::TraceStopped(_)
            | Error::Plan(_)
            | Error::Output(_)
            | Error::Json { .. }
            | Error::ManualPage(_)
            | Error::UnknownRule(_)
            | Error::UnknownSubcommand(_)
            | Error::ReadPlan { .. }
            | Error::NotAPlan { .. }
            | Error::EditedPlan { .. }
            | Error::SourcesChanged { .. }
            | Error::Journal(_)
            | Error::Events(_)
            | Error::Snapshot(_)
            | Error::NoSnapshotSource => 2,
            Error::Stopped(error) if error.is_invocation_error() => 2,
            Error::Stopped(_) => 1,
        }
    }

    /// For a read of the database `target`: its error, named by the database.
    pub fn at(target: &live::Endpoint) -> impl FnOnce(LiveError) -> Error + '_ {
        move |source| Error::Database { database: target.display.clone(), source }
    }

    /// For serialising `what`.
    pub fn json(what: &'static str) -> impl FnOnce(serde_json::Error) -> Error {
        move |source| Error::Json { what, source }
    }
}

#[derive(Parser)]
#[command(name = "lockgate", version, about = "Keeps PostgreSQL schema migrations from taking production down.")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lint migrations for locking hazards, replaying the schema across files.
    Lint(lint::LintArgs),
    /// Judge the pending migrations against the live database: locks, estimated hold times,
    /// blocking sessions, and a tier for each (exit 0 run, 1 unsafe, 3 blocked, 4 off-peak,
    /// 5 batch).
    Check(check::CheckArgs),
    /// Read the database's schema, sizes and history for `check --stats`.
    Stats(stats::StatsArgs),
    /// Measure the server's scan speed (read-only, a few seconds) into a throughput profile.
    Calibrate(calibrate::CalibrateArgs),
    /// Turn the pending migrations into expand, backfill and contract steps, with the safe
    /// recipe for every unsafe op; `-o plan.json` is what `apply` runs.
    Plan(plan::PlanArgs),
    /// Run the migrations on a scratch database and compare each statement's locks, rewrites
    /// and scans, as the server reports them, with lint's lock model.
    Trace(trace::TraceArgs),
    /// Run one phase of a plan: timeouts, lock retries, a journal to resume from.
    Apply(apply::ApplyArgs),
    /// Batched backfills of a plan: run, status, pause, resume.
    Backfill(apply::BackfillArgs),
    /// Undo the expand phase of a plan whose later phases have not run.
    Rollback(apply::RollbackArgs),
    /// What lockgate ran on a database: runs, steps of a plan, snapshots, migrations recorded.
    Status(apply::StatusArgs),
    /// The snapshots lockgate took before its phases: list, prune.
    Snapshots(snapshots::SnapshotsArgs),
    /// List every rule with its default severity.
    Rules(rules::RulesArgs),
    /// Show a rule's documentation: what it detects, the lock, and the safe alternative.
    Explain(explain::ExplainArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print a manual page (roff): `lockgate man > lockgate.1`, `lockgate man lint > lockgate-lint.1`.
    Man(man::ManArgs),
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    Text,
    Json,
    // docs/rules.md's rule tables, one per category.
    Markdown,
}

/// Where to look for `lockgate.toml` when `--config` is not given.
pub fn config_for(explicit: Option<&PathBuf>) -> Result<crate::config::Config, ConfigError> {
    match explicit {
        Some(path) => crate::config::Config::load(path),
        None => crate::config::Config::discover(&std::env::current_dir().unwrap_or_default()),
    }
}

/// Like [`config_for`], but `lockgate.toml` is looked for above the first path first (as `git`
/// finds `.git`), so a project linted from elsewhere still reads its own settings.
pub fn config_near(explicit: Option<&PathBuf>, paths: &[PathBuf]) -> Result<crate::config::Config, ConfigError> {
    if explicit.is_none() {
        let start = paths.iter().find(|p| p.as_os_str() != "-").and_then(|p| std::fs::canonicalize(p).ok());
        if let Some(config) = start.and_then(|start| crate::config::Config::find(&start)) {
            return crate::config::Config::load(&config);
        }
    }
    config_for(explicit)
}

/// Parses the command line and runs the command: its exit code, or why it could not run.
pub fn run() -> Result<u8, Error> {
    let cli = Cli::parse();
    match cli.command {
        Command::Lint(args) => lint::run(args),
        Command::Check(args) => check::run(args),
        Command::Stats(args) => stats::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Trace(args) => trace::run(args),
        Command::Apply(args) => apply::apply(args),
        Command::Rollback(args) => apply::rollback(args),
        Command::Backfill(args) => apply::backfill(args),
        Command::Status(args) => apply::status(args),
        Command::Snapshots(args) => snapshots::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}
