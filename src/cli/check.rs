//! `lockgate check`: the pending migrations judged against the live database (or a
//! statistics file from `lockgate stats dump`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::Error;
use crate::config::Config;
use crate::estimate::Profile;
use crate::gate::{self, report, DatabaseState};
use crate::ir::Migration;
use crate::lint;
use crate::live::activity::Activity;
use crate::live::{self, LiveError, Observation, Session};

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pending: PendingArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Every lint error makes a migration unsafe, even work that is quick at the table's live
    /// size (`[check] strict`).
    #[arg(long)]
    strict: bool,
}

/// What `check` and `plan` judge: the migrations, and the database they go to.
#[derive(Args)]
pub struct PendingArgs {
    /// Migration files or folders (Django, Alembic and SQL, in any mix).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Read the database from a file written by `lockgate stats dump` instead of connecting
    /// (no sessions are checked).
    #[arg(long, value_name = "FILE", conflicts_with = "database_url")]
    stats: Option<PathBuf>,
    /// Take every migration read, not only those the history tables do not record.
    #[arg(long)]
    all: bool,
    /// Succeed when the paths hold no migration at all (by default an error: a gate that
    /// looked at nothing must not pass).
    #[arg(long)]
    allow_empty: bool,
    /// A throughput profile from `lockgate calibrate` (overrides `[check] profile`).
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Read settings from this file instead of the nearest lockgate.toml.
    #[arg(long)]
    config: Option<PathBuf>,
}

/// The settings, the profile, every migration read, and the database (live or from a
/// statistics file).
pub struct Observed {
    pub config: Config,
    pub profile: Profile,
    pub migrations: Vec<Migration>,
    pub observation: Observation,
    /// The sessions running now; `None` from a statistics file.
    pub activity: Option<Activity>,
    /// The masked URL, or the statistics file.
    pub database: String,
    pub all: bool,
}

impl PendingArgs {
    pub fn observe(&self, sessions: bool) -> Result<Observed, Error> {
        let config = super::config_near(self.config.as_ref(), &self.paths)?;
        let profile = match self.profile.clone().or_else(|| config.check.profile.clone()) {
            Some(path) => Profile::load(&path)?,
            None => Profile::default(),
        };
        let migrations = lint::read(&self.paths, &config, self.allow_empty)?.migrations;
        let (observation, activity, database) = match &self.stats {
            Some(path) => (Observation::load(path)?, None, path.display().to_string()),
            None => {
                let session = self.database.open()?;
                let observation = Observation::read(&session).map_err(Error::at(&session.target))?;
                let activity = match sessions {
                    true => Some(Activity::read(&session).map_err(Error::at(&session.target))?),
                    false => None,
                };
                (observation, activity, session.target.display.clone())
            }
        };
        Ok(Observed { config, profile, migrations, observation, activity, database, all: self.all })
    }
}

/// The connection, shared by the commands that read the database.
#[derive(Args)]
pub struct DatabaseArgs {
    /// `postgresql://user:password@host:port/db?sslmode=verify-full&sslrootcert=ca.pem`, or
    /// libpq key=value settings (`host=/var/run/postgresql dbname=shop`, `service=shop`), read
    /// as libpq reads them. Without it, the PG* environment variables, the service file and
    /// ~/.pgpass alone, as psql does. The session is read-only.
    #[arg(long, env = "LOCKGATE_DATABASE_URL", hide_env_values = true, value_name = "URL")]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    pub fn open(&self) -> Result<Session, Error> {
        let target = self.target().map_err(Error::Target)?;
        Session::open(&target).map_err(Error::at(&target))
    }

    /// Where to connect: the URL given, else what libpq's environment says.
    pub fn target(&self) -> Result<live::Endpoint, LiveError> {
        live::Endpoint::parse(self.database_url.as_deref().unwrap_or_default())
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    /// A table per migration, for people.
    Text,
    /// The stable JSON report (schema_version 1), for the pipeline to act on.
    Json,
    /// A comment for the pull request: what fits the deploy at today's sizes, and what needs a
    /// window or a batch.
    Markdown,
}

pub fn run(args: CheckArgs) -> Result<u8, Error> {
    let mut observed = args.pending.observe(true)?;
    observed.config.check.strict |= args.strict;
    let target = DatabaseState {
        observation: &observed.observation,
        activity: observed.activity.as_ref(),
        database: observed.database.clone(),
        profile: &observed.profile,
    };
    let report = gate::check(observed.migrations, &observed.config, &target, observed.all);
    let text = match args.format {
        Format::Text => report::text(&report),
        Format::Json => report::json(&report),
        Format::Markdown => report::markdown(&report),
    };
    super::output::print(&text, "the report")?;
    Ok(report.verdict.exit_code())
}
