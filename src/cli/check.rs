//! `lockgate check`: the pending migrations judged against the live database (or a
//! statistics file from `lockgate stats dump`).

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::estimate::Profile;
use crate::gate::{self, report, Target};
use crate::live::activity::Activity;
use crate::live::{self, Observation, Session};
use crate::source::tree::Tree;
use crate::source::{self, Inputs};

#[derive(Args)]
pub struct CheckArgs {
    /// Migration files or folders (Django, Alembic and SQL, in any mix).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Judge from a file written by `lockgate stats dump` instead of connecting (no sessions
    /// are checked).
    #[arg(long, value_name = "FILE", conflicts_with = "database_url", required_unless_present = "database_url")]
    stats: Option<PathBuf>,
    /// Judge every migration read, not only those the history tables do not record.
    #[arg(long)]
    all: bool,
    /// A throughput profile from `lockgate calibrate` (overrides `[check] profile`).
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Read settings from this file instead of the nearest lockgate.toml.
    #[arg(long)]
    config: Option<PathBuf>,
}

/// The connection, shared by the commands that read the database.
#[derive(Args)]
pub struct DatabaseArgs {
    /// `postgres://user:password@host:port/db?sslmode=verify-full&sslrootcert=ca.pem`, or
    /// libpq key=value settings. The session is read-only.
    #[arg(long, env = "LOCKGATE_DATABASE_URL", hide_env_values = true, value_name = "URL")]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    pub fn open(&self) -> Result<Session, String> {
        let url = self.database_url.as_deref().ok_or("--database-url (or LOCKGATE_DATABASE_URL) is required")?;
        let target = live::Target::parse(url).map_err(|e| e.to_string())?;
        Session::open(&target).map_err(|e| format!("{}: {e}", target.display))
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    /// A table per migration, for people.
    Text,
    /// The stable JSON report (schema_version 1), for the pipeline to act on.
    Json,
}

pub fn run(args: CheckArgs) -> Result<u8, String> {
    let config = super::config_for(args.config.as_ref()).map_err(|e| e.to_string())?;
    let profile_path = args.profile.clone().or_else(|| config.check.profile.clone());
    let profile = match profile_path {
        Some(path) => Profile::load(&path)?,
        None => Profile::default(),
    };
    let inputs = Inputs { paths: &args.paths, stdin_name: "<stdin>" };
    let discovered = source::discover_in(&Tree::WorkTree, &inputs, &config).map_err(|e| e.to_string())?;
    let migrations = source::load_all(&discovered, &config);

    let (observation, activity, database) = match &args.stats {
        Some(path) => (read_stats(path)?, None, path.display().to_string()),
        None => {
            let session = args.database.open()?;
            let observation = Observation::read(&session).map_err(|e| e.to_string())?;
            let activity = Activity::read(&session).map_err(|e| e.to_string())?;
            (observation, Some(activity), session.target.display.clone())
        }
    };
    let target = Target { observation: &observation, activity: activity.as_ref(), database, profile: &profile };
    let report = gate::check(migrations, &config, &target, args.all);
    let text = match args.format {
        Format::Text => report::text(&report),
        Format::Json => report::json(&report),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
    Ok(report.verdict.exit_code())
}

pub(super) fn read_stats(path: &PathBuf) -> Result<Observation, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let observation: Observation = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a `lockgate stats dump` file: {e}", path.display()))?;
    if observation.schema_version != Observation::SCHEMA_VERSION {
        return Err(format!(
            "{}: schema_version {} is not {}; dump the statistics again with this lockgate",
            path.display(),
            observation.schema_version,
            Observation::SCHEMA_VERSION
        ));
    }
    Ok(observation)
}
