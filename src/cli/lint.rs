//! `lockgate lint`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::analysis::{LintResult, Linting, Reporting};
use crate::catalog::Catalog;
use crate::config::Config;
use crate::git::{Repo, Side};
use crate::ir::Migration;
use crate::report;
use crate::rules::Severity;
use crate::scope::{self, ChangeSet, Cutoff, Touched};
use crate::source::tree::Tree;
use crate::source::{self, Inputs};

#[derive(Args)]
pub struct LintArgs {
    /// Migration files or folders, in any mix; `-` reads standard input. With --diff or
    /// --staged, defaults to the whole repository.
    #[arg(required_unless_present_any = ["diff", "staged"])]
    paths: Vec<PathBuf>,
    /// Output format [default: text, or github when GITHUB_ACTIONS=true].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Exit with 1 when a finding at or above this severity remains.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// Report only migrations added or changed since the merge base of HEAD and BASE, as
    /// committed in HEAD (uncommitted edits do not count). Every migration is still replayed.
    #[arg(long, value_name = "BASE")]
    diff: Option<String>,
    /// Report only migrations staged for the next commit, as staged (for pre-commit hooks).
    /// Compares with HEAD, or with the merge base of --diff BASE when both are given.
    #[arg(long)]
    staged: bool,
    /// Replay but do not report migrations up to and including this id, or first committed
    /// before this date (YYYY-MM-DD). Overrides `start_after` in lockgate.toml.
    #[arg(long, value_name = "ID|DATE")]
    since: Option<String>,
    /// Also read and replay the migrations under PATH (e.g. `.`), but report only those in
    /// PATHS: for hooks that pass the changed files, so they are judged with their history.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["diff", "staged"])]
    context: Vec<PathBuf>,
    /// Read settings from this file instead of the nearest lockgate.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// PostgreSQL major version the migrations run on (overrides the config).
    #[arg(long, value_parser = clap::value_parser!(u32).range(11..=18))]
    pg_version: Option<u32>,
    /// Treat every file as wrapped in a transaction by the runner (overrides the config).
    #[arg(long, conflicts_with = "assume_no_transaction")]
    assume_in_transaction: bool,
    /// Treat every file as run outside a transaction unless it has BEGIN (overrides the config).
    #[arg(long)]
    assume_no_transaction: bool,
    /// Lint down migrations too.
    #[arg(long)]
    include_down: bool,
    /// Succeed when the paths hold no migration at all (by default that is an error: a gate
    /// that looked at nothing must not pass).
    #[arg(long)]
    allow_empty: bool,
    /// The name to show for standard input.
    #[arg(long, default_value = "<stdin>")]
    stdin_filepath: String,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(super) enum Format {
    /// Findings with source snippets, for people.
    Text,
    /// The stable JSON report (schema_version 1).
    Json,
    /// SARIF 2.1.0, for code-scanning services.
    Sarif,
    /// GitHub Actions annotations (workflow commands).
    Github,
    /// GitLab Code Quality report.
    Gitlab,
    /// A pull-request comment.
    Markdown,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(super) enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(super) enum Color {
    Auto,
    Always,
    Never,
}

/// What a run reads and what it compares against.
struct Sources {
    repo: Option<Repo>,
    tree: Tree,
    changes: Option<ChangeSet>,
    /// What discovery reads.
    paths: Vec<PathBuf>,
    /// With `--context`: the paths whose migrations are reported.
    report_only: Option<Vec<PathBuf>>,
}

pub fn run(args: LintArgs) -> Result<u8, String> {
    let config = configure(&args)?;
    let sources = sources(&args, &config)?;
    let inputs = Inputs { paths: &sources.paths, stdin_name: &args.stdin_filepath };
    let discovered = source::discover_in(&sources.tree, &inputs, &config).map_err(|e| e.to_string())?;
    discovered.require_migrations(&sources.paths, &config, args.allow_empty).map_err(|e| e.to_string())?;
    let (mut migrations, linting) = load_and_replay(&discovered, &config);
    let reporting = reporting(&mut migrations, &sources, &config)?;
    let mut result = linting.finish(&migrations, &reporting);
    result.recognised = discovered.recognised.clone();
    // The ops are not needed for output (findings keep their source files): free them first.
    drop(migrations);

    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, report_output());
    let written = write_findings(args.format, args.color, &result, &config, &mut stdout).and_then(|()| stdout.flush());
    super::output::delivered(written, "the report")?;
    let code = exit_code(args.fail_on, &result);
    // The process ends next and the OS takes the memory back at once; freeing every finding
    // and source file one by one first took a twentieth of a large run.
    std::mem::forget(result);
    Ok(code)
}

/// Standard output, written to directly where the platform allows: `Stdout` searches every
/// write for its last newline (it is line-buffered), a scan of the whole report that cost 2% of
/// a large run.
fn report_output() -> Box<dyn Write> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(std::io::stdout())
}

/// Loads the migrations and replays and checks each as it arrives, while later ones load.
fn load_and_replay<'c>(discovered: &source::Discovered, config: &'c Config) -> (Vec<Migration>, Linting<'c>) {
    let mut linting = Linting::new(config, Catalog::default());
    let mut migrations = vec![];
    source::load_each(discovered, config, |migration| {
        linting.add(&migration);
        migrations.push(migration);
    });
    (migrations, linting)
}

/// The config file, with the command line's overrides applied.
fn configure(args: &LintArgs) -> Result<Config, String> {
    let mut config = super::config_near(args.config.as_ref(), &args.paths).map_err(|e| e.to_string())?;
    if let Some(version) = args.pg_version {
        config.pg_version = Some(version);
    }
    if args.assume_in_transaction {
        config.sql.assume_in_transaction = Some(true);
    }
    if args.assume_no_transaction {
        config.sql.assume_in_transaction = Some(false);
    }
    config.lint_down |= args.include_down;
    if args.since.is_some() {
        config.start_after.clone_from(&args.since);
    }
    Ok(config)
}

/// The working tree, or for --diff/--staged a snapshot of HEAD or the index and the changes
/// since the base.
fn sources(args: &LintArgs, config: &Config) -> Result<Sources, String> {
    let in_git = args.diff.is_some() || args.staged;
    if !in_git {
        if let Some(missing) = args.paths.iter().find(|p| !p.exists() && p.as_os_str() != "-") {
            return Err(source::InputError::Missing { path: missing.clone() }.to_string());
        }
        // Without --context, the project around the paths is their context, found by walking
        // up from each: a file or folder inside a project is read with the history before it.
        let read = match args.context.is_empty() {
            true => project_context(&args.paths, config),
            false => Some(scope::with_context(&args.paths, &args.context)),
        };
        let (paths, report_only) = match read {
            None => (args.paths.clone(), None),
            Some(read) => (read, Some(args.paths.clone())),
        };
        return Ok(Sources { repo: None, tree: Tree::WorkTree, changes: None, paths, report_only });
    }
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        return Err("standard input (`-`) has no git history; --diff and --staged read files from git".into());
    }
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let repo = Repo::discover(&cwd).map_err(|e| format!("--diff and --staged need a git repository: {e}"))?;
    let side = if args.staged { Side::Index } else { Side::Head };
    let (label, revision) = match &args.diff {
        Some(base) => (base.clone(), repo.merge_base(base).map_err(|e| e.to_string())?),
        None => ("HEAD".to_string(), repo.head_or_empty()),
    };
    let changes = repo.changes(&revision, side).map_err(|e| e.to_string())?;
    let paths = if args.paths.is_empty() { vec![repo.root_from_cwd().to_path_buf()] } else { args.paths.clone() };
    let tree = Tree::snapshot(&repo, side, &paths).map_err(|e| e.to_string())?;
    let changes = Some(ChangeSet { label, revision, changes });
    Ok(Sources { repo: Some(repo), tree, changes, paths, report_only: None })
}

/// What to read so that `paths` are replayed with the history of the projects around them:
/// the folders found by walking up from each path that it does not already cover, and each
/// path not inside one of them (read once, as the user spelled it). `None` when every path is
/// the whole of its project's history.
fn project_context(paths: &[PathBuf], config: &Config) -> Option<Vec<PathBuf>> {
    let mut modules = source::django::modules::MigrationModules::from_config(config);
    let mut environments = source::alembic::Environments::default();
    let given: Vec<(PathBuf, Option<PathBuf>)> =
        paths.iter().map(|p| (p.clone(), std::fs::canonicalize(p).ok())).collect();
    let inside_given = |folder: &PathBuf| given.iter().any(|(_, g)| g.as_ref().is_some_and(|g| folder.starts_with(g)));
    let mut context: Vec<PathBuf> = vec![];
    for path in paths.iter().filter(|p| p.as_os_str() != "-") {
        for folder in source::project::context_of(path, &mut modules, &mut environments) {
            if !context.contains(&folder) && !inside_given(&folder) {
                context.push(folder);
            }
        }
    }
    if context.is_empty() {
        return None;
    }
    let outside = given
        .into_iter()
        .filter(|(_, real)| !real.as_ref().is_some_and(|r| context.iter().any(|c| r.starts_with(c))))
        .map(|(path, _)| path);
    let read: Vec<PathBuf> = context.iter().cloned().chain(outside).collect();
    Some(read)
}

/// Per migration: is it reported? With a change set, only the migrations it touched (with
/// `--context`, only those in the paths given); with a cutoff, none at or before it — unless
/// edited after being merged, which is new work. Only a change set tells which migrations no
/// deploy has run: those it adds. (A cutoff is where adoption began, not the last release.)
fn reporting(migrations: &mut [Migration], sources: &Sources, config: &Config) -> Result<Reporting, String> {
    let touched = match (&sources.changes, &sources.repo, &sources.report_only) {
        (Some(set), Some(repo), _) => Some(scope::apply_changes(migrations, repo, set).map_err(|e| e.to_string())?),
        (_, _, Some(given)) => {
            let touched = scope::within(migrations, given);
            Some(Touched { edited: vec![false; touched.len()], added: vec![false; touched.len()], touched })
        }
        _ => None,
    };
    let old = match &config.start_after {
        Some(text) => grandfathered(migrations, &Cutoff::parse(text), sources)?,
        None => vec![false; migrations.len()],
    };
    let reported = (0..migrations.len())
        .map(|i| match &touched {
            Some(t) => t.touched[i] && (!old[i] || t.edited[i]),
            None => !old[i],
        })
        .collect();
    let unreleased = match touched {
        Some(t) => t.added,
        None => vec![false; migrations.len()],
    };
    Ok(Reporting { reported, unreleased })
}

/// Migrations at or before the cutoff. A date needs git for first-commit dates when there is a
/// repository; outside one, version prefixes that spell dates still work.
fn grandfathered(migrations: &[Migration], cutoff: &Cutoff, sources: &Sources) -> Result<Vec<bool>, String> {
    let discovered;
    let repo = match (&sources.repo, cutoff) {
        (Some(repo), _) => Some(repo),
        (None, Cutoff::Date(_)) => {
            discovered = Repo::discover(&std::env::current_dir().unwrap_or_default()).ok();
            discovered.as_ref()
        }
        (None, Cutoff::Migration(_)) => None,
    };
    let first_commits = match (cutoff, repo) {
        (Cutoff::Date(_), Some(repo)) => {
            let paths: Vec<PathBuf> = sources.paths.iter().filter_map(|p| repo.relative(p)).collect();
            repo.first_commit_dates(&paths).map_err(|e| e.to_string())?
        }
        _ => HashMap::new(),
    };
    scope::grandfathered(migrations, cutoff, &first_commits, repo)
}

/// The format asked for, or the one the environment suggests.
pub(super) fn format_or_default(format: Option<Format>) -> Format {
    let github = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    format.unwrap_or(if github { Format::Github } else { Format::Text })
}

/// Writes findings in any of lint's formats (trace reports through this too).
pub(super) fn write_findings(
    format: Option<Format>,
    color: Color,
    result: &LintResult,
    config: &Config,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let format = format_or_default(format);
    let text = match format {
        // Streamed: a large project's JSON is tens of megabytes.
        Format::Json => return report::write_json(result, out),
        Format::Sarif => report::sarif(result, config),
        Format::Github => report::github(result),
        Format::Gitlab => report::gitlab(result),
        Format::Markdown => report::markdown(result),
        Format::Text => {
            let color = match color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            };
            return report::write_text(result, color, 100, &mut std::io::BufWriter::new(out));
        }
    };
    out.write_all(text.as_bytes())
}

pub(super) fn exit_code(fail_on: FailOn, result: &LintResult) -> u8 {
    let threshold = match fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    u8::from(threshold.is_some_and(|t| result.findings.iter().any(|f| f.severity >= t)))
}
