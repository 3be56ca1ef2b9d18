//! `lockgate.toml`: found by walking up from the working directory, or given with `--config`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::postgres::PgVersion;
use crate::rules::Severity;

pub const FILE_NAME: &str = "lockgate.toml";

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// PostgreSQL major version the migrations run on.
    pub pg_version: Option<u32>,
    /// Glob patterns a discovered file must match (relative to the path given on the command line).
    pub include: Vec<String>,
    /// Glob patterns of files to skip.
    pub exclude: Vec<String>,
    /// Lint down migrations too.
    pub lint_down: bool,
    /// Files larger than this are reported, not parsed.
    pub max_file_bytes: Option<u64>,
    /// Grandfathered history: migrations up to and including this id (or, for a date
    /// `YYYY-MM-DD`, first committed before it) are replayed but not reported. `--since`
    /// overrides it.
    pub start_after: Option<String>,
    pub rules: RulesConfig,
    pub sql: SqlConfig,
    pub django: DjangoConfig,
    pub runner: RunnerConfig,
    pub thresholds: Thresholds,
    pub check: CheckConfig,
    pub apply: ApplyConfig,
    pub backfill: BackfillConfig,
    pub snapshot: SnapshotConfig,
    pub framework: FrameworkConfig,
    /// Where this config was read from.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Rule ids to turn off.
    pub disable: Vec<String>,
    /// Per-rule severity: `error`, `warning`, `info` or `off`.
    pub severity: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SqlConfig {
    /// Whether the runner wraps each file in a transaction. Unset: decided per layout
    /// (golang-migrate, dbmate, goose, diesel and Flyway wrap; plain numbered files do not).
    pub assume_in_transaction: Option<bool>,
    /// Literal substitutions applied before parsing (`"${schema}" = "public"`).
    pub placeholders: BTreeMap<String, String>,
}

/// What the migration runner's session sets before any migration runs (the role's settings,
/// Django's `DATABASES[…]["OPTIONS"]`, a wrapper script): migrations are judged as starting
/// with these in force.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RunnerConfig {
    /// `lock_timeout` in PostgreSQL's syntax: `"4s"`, `"500ms"`, `4000`.
    pub lock_timeout: Option<Duration>,
    pub statement_timeout: Option<Duration>,
}

/// A duration as PostgreSQL reads a setting: a string with a unit, or a number of milliseconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Duration {
    Text(String),
    Millis(u64),
}

impl Duration {
    /// The value as a `SET` would write it.
    pub fn setting(&self) -> String {
        match self {
            Duration::Text(text) => text.clone(),
            Duration::Millis(ms) => ms.to_string(),
        }
    }
}

impl RunnerConfig {
    /// The settings as `(name, value)` pairs, for the replay's session.
    pub fn session(&self) -> Vec<(String, String)> {
        let named = [("lock_timeout", &self.lock_timeout), ("statement_timeout", &self.statement_timeout)];
        named.into_iter().filter_map(|(name, value)| Some((name.to_string(), value.as_ref()?.setting()))).collect()
    }
}

/// Django settings a static reader cannot see.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DjangoConfig {
    /// `DEFAULT_AUTO_FIELD` class name; default `BigAutoField`.
    pub default_auto_field: Option<String>,
    /// `AUTH_USER_MODEL` as `app_label.Model`; default `auth.User`.
    pub auth_user_model: Option<String>,
    /// App labels for app folders whose label is not the folder name (`"src/shop" = "store"`).
    pub app_labels: BTreeMap<String, String>,
    /// Migration folders moved by `MIGRATION_MODULES`, by app label, relative to this file
    /// (`dojo = "dojo/db_migrations"`): for settings lockgate cannot read as a literal.
    pub migration_modules: BTreeMap<String, String>,
    /// Column types of custom field classes (`StreamField = "jsonb"`).
    pub field_types: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// `lock-timeout-too-long` fires above this many milliseconds.
    pub max_lock_timeout_ms: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { max_lock_timeout_ms: 10_000 }
    }
}

/// The gate's tiers (`lockgate check`): the team's policy on where a migration may run.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CheckConfig {
    /// A migration touching fewer rows runs in the deploy pipeline.
    pub pipeline_max_rows: u64,
    /// Up to this many rows it runs in an off-peak window; above, as a batched job.
    pub off_peak_max_rows: u64,
    /// An ACCESS EXCLUSIVE lock on an existing table held longer than this (estimated) makes
    /// the migration a batched job whatever its row count.
    pub max_exclusive_hold_ms: u64,
    /// A conflicting session counts as a blocker once its transaction is this old (an idle
    /// transaction always counts): short transactions come and go.
    pub blocker_min_age_ms: u64,
    /// A throughput profile written by `lockgate calibrate`.
    pub profile: Option<PathBuf>,
    /// Every lint error makes a migration `unsafe`, whatever the table's size (otherwise an
    /// error about work that grows with the table is weighed by the live size).
    pub strict: bool,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            pipeline_max_rows: 10_000,
            off_peak_max_rows: 100_000,
            max_exclusive_hold_ms: 2_000,
            blocker_min_age_ms: 1_000,
            profile: None,
            strict: false,
        }
    }
}

/// The executor's policy (`lockgate apply`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApplyConfig {
    /// lock_timeout of every step (the first try uses the retry schedule's first value).
    pub lock_timeout_ms: u64,
    /// statement_timeout of the steps that hold a lock blocking writes.
    pub statement_timeout_ms: u64,
    /// On a lock timeout or deadlock, the step is tried again: one (lock_timeout, pause)
    /// pair per retry, in milliseconds. When they run out the step fails; it never runs
    /// without a lock_timeout.
    pub retries: Vec<(u64, u64)>,
    /// How long a second `apply` waits for the first one's runner lock.
    pub runner_lock_timeout_ms: u64,
    /// Attempts at a concurrent index build that leaves an invalid index.
    pub concurrent_index_attempts: u32,
}

/// How `apply` runs a Django or Alembic migration that only the framework can run (RunPython,
/// SQL built by Python, a custom operation): the framework's own command for exactly that
/// migration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FrameworkConfig {
    /// The command for one Django migration; `{app}` and `{name}` are replaced.
    pub django: Vec<String>,
    /// The command for one Alembic revision; `{revision}` is replaced.
    pub alembic: Vec<String>,
    /// Where the command runs, relative to this file. Unset: the folder above the migration
    /// that holds `manage.py` (Django) or `alembic.ini` (Alembic).
    pub directory: Option<PathBuf>,
}

impl Default for FrameworkConfig {
    fn default() -> Self {
        let words = |words: &[&str]| words.iter().map(|w| w.to_string()).collect();
        FrameworkConfig {
            django: words(&["python", "manage.py", "migrate", "{app}", "{name}"]),
            alembic: words(&["alembic", "upgrade", "{revision}"]),
            directory: None,
        }
    }
}

/// The snapshot `apply` takes before a phase (`--snapshot` overrides `provider`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotConfig {
    /// `rds:<instance-or-cluster-id>`, `pg_dump:<directory>`, `command:<shell command>` or
    /// `none`; unset, `apply` refuses to run a phase that needs a snapshot.
    pub provider: Option<String>,
    /// The phases that start with a snapshot.
    pub before: Vec<String>,
    /// How often the snapshot's progress is polled.
    pub poll_interval_s: u64,
    /// How long to wait for the snapshot to become usable before the phase is refused.
    pub timeout_s: u64,
    /// The RDS API endpoint (for testing; the AWS SDK also reads `AWS_ENDPOINT_URL`).
    pub endpoint_url: Option<String>,
    /// The AWS region (default: the SDK's chain — `AWS_REGION`, the profile).
    pub region: Option<String>,
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        SnapshotConfig {
            provider: None,
            before: vec!["expand".into(), "contract".into()],
            poll_interval_s: 10,
            timeout_s: 3_600,
            endpoint_url: None,
            region: None,
        }
    }
}

/// Batched backfills (`lockgate apply --phase backfill`, `lockgate backfill run`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BackfillConfig {
    /// Each batch aims at this duration; the batch size grows or shrinks towards it.
    pub target_batch_ms: u64,
    pub start_batch_rows: u64,
    pub min_batch_rows: u64,
    pub max_batch_rows: u64,
    /// Sleep between batches, to leave room for other work.
    pub sleep_ms: u64,
    /// Pause while a replica's replay lags more than this (`pg_stat_replication.replay_lag`).
    pub max_replication_lag_ms: Option<u64>,
    /// Pause while a replica has more than this many bytes of WAL left to replay.
    pub max_replication_lag_bytes: Option<u64>,
    /// Pause while another transaction in the database has been open longer than this: the
    /// rows a backfill rewrites cannot be vacuumed while it lives (other databases' cannot hold
    /// them back).
    pub max_transaction_age_ms: Option<u64>,
    /// How often a paused job looks again.
    pub health_poll_ms: u64,
    /// When backfills (and contract steps) may run; none means any time.
    pub windows: Vec<Window>,
    /// When a window closes mid-job: wait at the cursor for the next one (true), or exit
    /// `paused` for a scheduler to start it again (false).
    pub park_when_closed: bool,
}

/// An off-peak window as written in `[[backfill.windows]]`; `exec::window` reads it as time.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// `mon` … `sun`; empty means every day.
    #[serde(default)]
    pub days: Vec<String>,
    /// `HH:MM`.
    pub start: String,
    pub end: String,
    /// An IANA zone (`Europe/Berlin`); UTC when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
}

impl Default for BackfillConfig {
    fn default() -> Self {
        BackfillConfig {
            target_batch_ms: 200,
            start_batch_rows: 1_000,
            min_batch_rows: 100,
            max_batch_rows: 100_000,
            sleep_ms: 0,
            max_replication_lag_ms: Some(10_000),
            max_replication_lag_bytes: Some(1 << 30),
            max_transaction_age_ms: Some(600_000),
            health_poll_ms: 5_000,
            windows: vec![],
            park_when_closed: true,
        }
    }
}

impl Default for ApplyConfig {
    fn default() -> Self {
        ApplyConfig {
            lock_timeout_ms: 4_000,
            statement_timeout_ms: 30_000,
            retries: vec![
                (100, 50),
                (200, 100),
                (500, 500),
                (1_000, 2_000),
                (2_000, 5_000),
                (4_000, 10_000),
                (4_000, 30_000),
                (4_000, 60_000),
                (4_000, 120_000),
                (4_000, 300_000),
            ],
            runner_lock_timeout_ms: 60_000,
            concurrent_index_attempts: 3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// Not TOML, or not the settings lockgate reads (toml's message has the line and column).
    #[error("{path}: {source}")]
    Syntax { path: PathBuf, source: toml::de::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// A value the file has but lockgate cannot take, where it is.
    #[error("{path}:{line}: {message}")]
    InvalidAt { path: PathBuf, line: usize, message: String },
}

/// The rule id nearest to a misspelt one, when it is near enough to be the one meant.
fn closest_rule(id: &str) -> Option<&'static str> {
    crate::rules::REGISTRY
        .iter()
        .map(|rule| (strsim::jaro_winkler(id, rule.id), rule.id))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, id)| id)
}

impl Config {
    pub fn pg_version(&self) -> PgVersion {
        self.pg_version.map(PgVersion).unwrap_or_default()
    }

    pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes.unwrap_or(Self::DEFAULT_MAX_FILE_BYTES)
    }

    pub fn placeholders(&self) -> Vec<(String, String)> {
        self.sql.placeholders.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// The severity a rule reports at, or `None` when it is turned off.
    pub fn severity_of(&self, rule: &str, default: Severity) -> Option<Severity> {
        if self.rules.disable.iter().any(|r| r == rule) {
            return None;
        }
        match self.rules.severity.get(rule).map(String::as_str) {
            Some("off") => None,
            Some(level) => Severity::parse(level).or(Some(default)),
            None => Some(default),
        }
    }

    /// The severity the config sets for a rule explicitly, which beats any per-finding default.
    pub fn severity_override(&self, rule: &str) -> Option<Severity> {
        self.rules.severity.get(rule).and_then(|level| Severity::parse(level))
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let mut config: Config =
            toml::from_str(&text).map_err(|source| ConfigError::Syntax { path: path.into(), source })?;
        config.path = Some(path.to_path_buf());
        config.validate(&text)?;
        Ok(config)
    }

    /// Finds `lockgate.toml` in `start` or its ancestors.
    pub fn discover(start: &Path) -> Result<Config, ConfigError> {
        match Config::find(start) {
            Some(path) => Config::load(&path),
            None => Ok(Config::default()),
        }
    }

    /// The nearest `lockgate.toml` in `start` or its ancestors.
    pub fn find(start: &Path) -> Option<PathBuf> {
        start.ancestors().map(|dir| dir.join(FILE_NAME)).find(|candidate| candidate.is_file())
    }

    /// Checks what the types cannot: each error names the line of `text` (the file) it is on.
    fn validate(&self, text: &str) -> Result<(), ConfigError> {
        let path = self.path.clone().unwrap_or_default();
        // The first line that mentions `needle` (a rule id, a pattern): the values checked
        // here are unusual enough that the first mention is the one meant.
        let invalid = |needle: &str, message: String| match text.lines().position(|l| l.contains(needle)) {
            Some(index) => ConfigError::InvalidAt { path: path.clone(), line: index + 1, message },
            None => ConfigError::Invalid { path: path.clone(), message },
        };
        if let Some(v) = self.pg_version {
            if !(PgVersion::OLDEST.0..=PgVersion::NEWEST.0).contains(&v) {
                return Err(invalid(
                    "pg_version",
                    format!("pg_version = {v} is not supported; use {}–{}", PgVersion::OLDEST.0, PgVersion::NEWEST.0),
                ));
            }
        }
        for id in self.rules.disable.iter().chain(self.rules.severity.keys()) {
            if crate::rules::find(id).is_none() {
                let suggestion = closest_rule(id).map(|known| format!("did you mean `{known}`? ")).unwrap_or_default();
                return Err(invalid(
                    id,
                    format!("unknown rule `{id}` in [rules]; {suggestion}`lockgate rules` lists them"),
                ));
            }
        }
        for (id, level) in &self.rules.severity {
            if level != "off" && Severity::parse(level).is_none() {
                return Err(invalid(
                    &format!("\"{level}\""),
                    format!("[rules.severity] {id} = \"{level}\": use error, warning, info or off"),
                ));
            }
        }
        for (name, value) in self.runner.session() {
            if crate::units::parse_duration_ms(&value).is_none() {
                return Err(invalid(
                    &name,
                    format!(
                        "[runner] {name} = \"{value}\" is not a duration; write it as PostgreSQL does, e.g. \"4s\" or \"500ms\""
                    ),
                ));
            }
        }
        for (name, command) in [("django", &self.framework.django), ("alembic", &self.framework.alembic)] {
            if command.is_empty() {
                return Err(invalid(
                    &format!("{name} ="),
                    format!("[framework] {name} is empty: give the command and its arguments"),
                ));
            }
        }
        for pattern in self.include.iter().chain(&self.exclude) {
            globset::Glob::new(pattern).map_err(|e| invalid(pattern, format!("bad glob `{pattern}`: {e}")))?;
        }
        Ok(())
    }
}
