//! `lockgate lint`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::Error;
use crate::analysis::LintResult;
use crate::config::{Config, ConfigError};
use crate::lint::{self, LintRequest, Linted};
use crate::report;
use crate::rules::Severity;

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

pub fn run(args: LintArgs) -> Result<u8, Error> {
    let config = configure(&args)?;
    let request = LintRequest {
        paths: &args.paths,
        stdin_name: &args.stdin_filepath,
        diff: args.diff.as_deref(),
        staged: args.staged,
        context: &args.context,
        allow_empty: args.allow_empty,
    };
    let Linted { migrations, result } = lint::lint(&request, &config)?;
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

/// The config file, with the command line's overrides applied.
fn configure(args: &LintArgs) -> Result<Config, ConfigError> {
    let mut config = super::config_near(args.config.as_ref(), &args.paths)?;
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
