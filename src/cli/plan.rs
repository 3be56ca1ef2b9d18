//! `lockgate plan`: the pending migrations as expand, backfill and contract steps, written to
//! a file that `lockgate apply` runs as reviewed.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::check::{read_stats, DatabaseArgs};
use crate::estimate::Profile;
use crate::live::{Observation, Session};
use crate::plan::{self, render};
use crate::source::tree::Tree;
use crate::source::{self, Inputs};

#[derive(Args)]
pub struct PlanArgs {
    /// Migration files or folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Plan from a `lockgate stats dump` file instead of connecting.
    #[arg(long, value_name = "FILE", conflicts_with = "database_url", required_unless_present = "database_url")]
    stats: Option<PathBuf>,
    /// Plan every migration read, not only those the history tables do not record.
    #[arg(long)]
    all: bool,
    /// Write the plan (JSON) here; `lockgate apply` takes this file.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// What to print on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// A throughput profile from `lockgate calibrate`.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    /// Phases and steps with their SQL, for people.
    Text,
    /// The plan itself.
    Json,
    /// For the sign-off in the pull request.
    Markdown,
}

pub fn run(args: PlanArgs) -> Result<u8, String> {
    let config = super::config_for(args.config.as_ref()).map_err(|e| e.to_string())?;
    let profile = match args.profile.clone().or_else(|| config.check.profile.clone()) {
        Some(path) => Profile::load(&path)?,
        None => Profile::default(),
    };
    let inputs = Inputs { paths: &args.paths, stdin_name: "<stdin>" };
    let discovered = source::discover_in(&Tree::WorkTree, &inputs, &config).map_err(|e| e.to_string())?;
    let migrations = source::load_all(&discovered, &config);
    let (observation, database) = match &args.stats {
        Some(path) => (read_stats(path)?, path.display().to_string()),
        None => {
            let session: Session = args.database.open()?;
            let observation = Observation::read(&session).map_err(|e| e.to_string())?;
            (observation, session.target.display.clone())
        }
    };
    let pending_flags = if args.all { vec![true; migrations.len()] } else { observation.history.pending(&migrations) };
    let pending: Vec<_> = migrations.into_iter().zip(pending_flags).filter(|(_, p)| *p).map(|(m, _)| m).collect();
    let inputs = plan::Inputs { observation: &observation, profile: &profile, database };
    let plan = plan::build(&pending, &inputs).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!("the plan cannot be made:\n  {}", lines.join("\n  "))
    })?;
    let json = serde_json::to_string_pretty(&plan).map_err(|e| e.to_string())? + "\n";
    if let Some(path) = &args.output {
        std::fs::write(path, &json).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let text = match args.format {
        Format::Text => render::text(&plan),
        Format::Json => json,
        Format::Markdown => render::markdown(&plan),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
    Ok(0)
}
