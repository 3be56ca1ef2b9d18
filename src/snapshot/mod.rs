//! The snapshot `apply` takes before a phase that could lose data: an RDS or Aurora snapshot, a
//! `pg_dump` archive, or the user's own command. It is waited for until usable, recorded in the
//! journal, and named with its restore command when a later step fails; when it cannot be
//! taken, the phase does not start.

mod command;
mod pg_dump;
pub mod poll;
#[cfg(feature = "rds")]
mod rds;

/// Without the `rds` feature, the same calls, each saying so.
#[cfg(not(feature = "rds"))]
mod rds {
    use super::{Log, Purpose, Snapshot, SnapshotError};
    use crate::config::SnapshotConfig;

    pub fn take(_: &str, _: &Purpose, _: &SnapshotConfig, _: Log) -> Result<Snapshot, SnapshotError> {
        Err(SnapshotError::NoRds)
    }

    pub fn prune(_: &str, _: usize, _: &SnapshotConfig) -> Result<Vec<String>, SnapshotError> {
        Err(SnapshotError::NoRds)
    }

    pub fn list(_: &str, _: &SnapshotConfig) -> Result<Vec<(String, String, String)>, SnapshotError> {
        Err(SnapshotError::NoRds)
    }
}

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::str::FromStr;

use crate::config::SnapshotConfig;
use crate::live::connect::Endpoint;

/// Where the snapshot is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// An RDS DB instance (a cluster member snapshots its cluster) or an Aurora / Multi-AZ
    /// cluster, by identifier.
    Rds(String),
    /// A `pg_dump --format=custom` archive written into this directory.
    PgDump(PathBuf),
    /// A shell command of the user's.
    Command(String),
    /// No snapshot, said explicitly.
    None,
}

impl FromStr for Provider {
    type Err = SnapshotError;

    fn from_str(spec: &str) -> Result<Provider, SnapshotError> {
        match spec.split_once(':') {
            _ if spec == "none" => Ok(Provider::None),
            Some(("rds", id)) if !id.is_empty() => Ok(Provider::Rds(id.to_string())),
            Some(("pg_dump", dir)) if !dir.is_empty() => Ok(Provider::PgDump(PathBuf::from(dir))),
            Some(("command", command)) if !command.trim().is_empty() => Ok(Provider::Command(command.to_string())),
            _ => Err(SnapshotError::UnknownProvider { spec: spec.to_string() }),
        }
    }
}

/// Why a snapshot could not be taken, listed or pruned. Each message names the snapshot, file
/// or AWS call concerned and what the operator can do; one that stops a phase says so.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(
        "snapshot provider `{spec}` is not one lockgate knows: use rds:<instance-or-cluster-id>, \
         pg_dump:<directory>, command:<shell command> or none"
    )]
    UnknownProvider { spec: String },
    #[error("only rds: and pg_dump: snapshots can be listed and pruned by lockgate")]
    NotListable,
    #[error("this lockgate was built without RDS support (cargo feature `rds`)")]
    NoRds,

    #[error("cannot run the snapshot command `{command}`: {source}")]
    CommandStart { command: String, source: io::Error },
    /// `said`: the last line the command printed (standard error first), if any.
    #[error("the snapshot command `{command}` failed ({status}){}; the phase does not start", colon(said))]
    CommandFailed { command: String, status: ExitStatus, said: String },

    #[error("pg_dump:{}: cannot create the directory: {source}", dir.display())]
    CreateDirectory { dir: PathBuf, source: io::Error },
    #[error("pg_dump:{}: {source}", dir.display())]
    ReadDirectory { dir: PathBuf, source: io::Error },
    #[error("cannot run {program}: {source}: install the PostgreSQL client (postgresql-client)")]
    ClientStart { program: &'static str, source: io::Error },
    #[error(
        "pg_dump failed ({status}): {said}{}; the phase does not start",
        if *version_mismatch {
            " (install the PostgreSQL client of the server's major version or newer: postgresql-client-<major>)"
        } else {
            ""
        }
    )]
    DumpFailed { status: ExitStatus, said: String, version_mismatch: bool },
    #[error("{} is not a readable archive: {said}; the phase does not start", file.display())]
    Unreadable { file: PathBuf, said: String },
    #[error("{}: {source}", path.display())]
    Archive { path: PathBuf, source: io::Error },

    #[error("snapshot {id} is {status}, not available: the phase does not start")]
    Failed { id: String, status: String },
    #[error(
        "snapshot {id} was not available after {waited_s} s ([snapshot] timeout_s): the phase does not start; \
         it may still finish — see it in the RDS console"
    )]
    TimedOut { id: String, waited_s: u64 },
    #[error("snapshot {id} disappeared")]
    Disappeared { id: String },

    #[error("cannot start the AWS client's runtime: {0}")]
    Runtime(#[source] io::Error),
    #[error("rds:{id}: no DB instance or DB cluster with this identifier in this account and region")]
    NotFound { id: String },
    #[error("rds:{id} is `{status}`, not available: a snapshot cannot start now, so the phase does not either")]
    SourceUnavailable { id: String, status: String },
    #[error("snapshot ids {base} to {base}-20 are all taken: delete old snapshots")]
    IdsTaken { base: String },
    /// `action` is the IAM action of the call, e.g. `rds:CreateDBSnapshot`.
    #[error(
        "{action}: access denied — grant the IAM permission `{action}`{} to lockgate's role (see the IAM \
         policy in docs/snapshots.md): {message}",
        // A create with tags is also authorized as a tagging call.
        if action.starts_with("rds:Create") { " and `rds:AddTagsToResource`" } else { "" }
    )]
    AccessDenied { action: &'static str, message: String },
    #[error(
        "{action}: the account's manual snapshot quota is reached: delete old snapshots \
         (`lockgate snapshots prune --keep N --snapshot rds:…`) or ask AWS to raise it"
    )]
    QuotaExceeded { action: &'static str },
    #[error("{action}: the source is not available for a snapshot now: {message}")]
    SourceBusy { action: &'static str, message: String },
    #[error("{action} failed: {code}: {message}")]
    Service { action: &'static str, code: String, message: String },
    /// No answer from the service: `detail` is the SDK's error with its causes.
    #[error("{action}: cannot reach the RDS API: {detail}")]
    Unreachable { action: &'static str, detail: String },
}

/// `: text`, or nothing for no text.
fn colon(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// What a snapshot is for: written in its tags and given to hooks.
pub struct Purpose<'a> {
    pub plan_checksum: &'a str,
    pub phase: &'a str,
    pub migrations: Vec<String>,
}

impl Purpose<'_> {
    /// `lockgate-<plan checksum>-<phase>`: a rerun of the same phase finds the snapshot it took.
    pub fn snapshot_id(&self) -> String {
        let checksum: String = self.plan_checksum.chars().take(12).collect();
        format!("lockgate-{checksum}-{}", self.phase)
    }
}

/// A snapshot taken and usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `rds`, `pg_dump` or `command`.
    pub provider: String,
    pub id: String,
    /// How to restore it, for the operator.
    pub restore: String,
}

/// Progress lines for the operator.
pub type Log<'a> = &'a mut dyn FnMut(&str);

impl Provider {
    /// `rds`, `pg_dump`, `command` or `none`, as the journal records it.
    pub fn kind(&self) -> &'static str {
        match self {
            Provider::Rds(_) => "rds",
            Provider::PgDump(_) => "pg_dump",
            Provider::Command(_) => "command",
            Provider::None => "none",
        }
    }

    /// Takes the snapshot and waits until it is usable.
    pub fn take(
        &self,
        purpose: &Purpose,
        target: &Endpoint,
        config: &SnapshotConfig,
        log: Log,
    ) -> Result<Option<Snapshot>, SnapshotError> {
        match self {
            Provider::None => Ok(None),
            Provider::Rds(id) => rds::take(id, purpose, config, log).map(Some),
            Provider::PgDump(dir) => pg_dump::take(dir, purpose, target, log).map(Some),
            Provider::Command(command) => command::take(command, purpose, target, log).map(Some),
        }
    }

    /// Deletes lockgate's snapshots of this source but the newest `keep`; returns what was deleted.
    pub fn prune(&self, keep: usize, config: &SnapshotConfig) -> Result<Vec<String>, SnapshotError> {
        match self {
            Provider::Rds(id) => rds::prune(id, keep, config),
            Provider::PgDump(dir) => pg_dump::prune(dir, keep),
            Provider::Command(_) | Provider::None => Err(SnapshotError::NotListable),
        }
    }

    /// lockgate's snapshots of this source, newest first: (id, created, status).
    pub fn list(&self, config: &SnapshotConfig) -> Result<Vec<(String, String, String)>, SnapshotError> {
        match self {
            Provider::Rds(id) => rds::list(id, config),
            Provider::PgDump(dir) => pg_dump::list(dir),
            Provider::Command(_) | Provider::None => Err(SnapshotError::NotListable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_their_provider() {
        let parsed = |spec: &str| spec.parse::<Provider>().ok();
        assert_eq!(parsed("rds:prod-db"), Some(Provider::Rds("prod-db".into())));
        assert_eq!(parsed("pg_dump:/backups"), Some(Provider::PgDump("/backups".into())));
        assert_eq!(parsed("command:./snap.sh --fast"), Some(Provider::Command("./snap.sh --fast".into())));
        assert_eq!(parsed("none"), Some(Provider::None));
        for bad in ["", "rds:", "s3:bucket", "nothing"] {
            let error = bad.parse::<Provider>().unwrap_err().to_string();
            assert!(error.contains("rds:<instance-or-cluster-id>"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_phase_of_a_plan_has_one_snapshot_id() {
        let purpose = Purpose { plan_checksum: "0123456789abcdef0123", phase: "contract", migrations: vec![] };
        assert_eq!(purpose.snapshot_id(), "lockgate-0123456789ab-contract");
    }
}
