//! `lockgate lint`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::analysis;
use crate::report;
use crate::rules::Severity;
use crate::source::{self, Inputs};

#[derive(Args)]
pub struct LintArgs {
    /// Migration files or folders, in any mix; `-` reads standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Exit with 1 when a finding at or above this severity remains.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
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
    /// The name to show for standard input.
    #[arg(long, default_value = "<stdin>")]
    stdin_filepath: String,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Color {
    Auto,
    Always,
    Never,
}

pub fn run(args: LintArgs) -> Result<u8, String> {
    let mut config = super::config_for(args.config.as_ref()).map_err(|e| e.to_string())?;
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

    let inputs = Inputs { paths: &args.paths, stdin_name: &args.stdin_filepath };
    let discovered = source::discover(&inputs, &config).map_err(|e| e.to_string())?;
    let migrations = source::load_all(&discovered, &config);
    let result = analysis::lint(&migrations, &config, 0);

    let output = match args.format {
        Format::Json => report::json(&result),
        Format::Text => {
            let color = match args.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            };
            report::text(&result, color, 100)
        }
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`lockgate lint … | head`) is not an error worth reporting.
    let _ = stdout.write_all(output.as_bytes());

    let threshold = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    let failed = threshold.is_some_and(|t| result.findings.iter().any(|f| f.severity >= t));
    Ok(u8::from(failed))
}
