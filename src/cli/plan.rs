//! `lockgate plan`: the pending migrations as expand, backfill and contract steps, written to
//! a file that `lockgate apply` runs as reviewed.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::check::PendingArgs;
use super::Error;
use crate::gate;
use crate::plan::{self, render};

#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pending: PendingArgs,
    /// Write the plan (JSON) here; `lockgate apply` takes this file.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// What to print on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
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

pub fn run(args: PlanArgs) -> Result<u8, Error> {
    let observed = args.pending.observe(false)?;
    let flags = gate::pending(&observed.migrations, &observed.observation, observed.all);
    let pending: Vec<_> = observed.migrations.into_iter().zip(flags).filter(|(_, p)| *p).map(|(m, _)| m).collect();
    let config_dir = observed.config.path.as_deref().and_then(std::path::Path::parent);
    let inputs = plan::PlanInputs {
        observation: &observed.observation,
        profile: &observed.profile,
        database: observed.database,
        framework: &observed.config.framework,
        config_dir,
    };
    let plan = plan::build(&pending, &inputs)?;
    let json = serde_json::to_string_pretty(&plan).map_err(Error::json("the plan"))? + "\n";
    if let Some(path) = &args.output {
        super::output::write_file(path, &json, "the plan")?;
    }
    let text = match args.format {
        Format::Text => render::text(&plan),
        Format::Json => json,
        Format::Markdown => render::markdown(&plan),
    };
    super::output::print(&text, "the plan")?;
    Ok(0)
}
