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
    use super::{Log, Purpose, Snapshot};
    use crate::config::SnapshotConfig;

    const NO_RDS: &str = "this lockgate was built without RDS support (cargo feature `rds`)";

    pub fn take(_: &str, _: &Purpose, _: &SnapshotConfig, _: Log) -> Result<Snapshot, String> {
        Err(NO_RDS.into())
    }

    pub fn prune(_: &str, _: usize, _: &SnapshotConfig) -> Result<Vec<String>, String> {
        Err(NO_RDS.into())
    }

    pub fn list(_: &str, _: &SnapshotConfig) -> Result<Vec<(String, String, String)>, String> {
        Err(NO_RDS.into())
    }
}

use std::path::PathBuf;
use std::str::FromStr;

use crate::config::SnapshotConfig;
use crate::live::connect::Target;

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
    type Err = String;

    fn from_str(spec: &str) -> Result<Provider, String> {
        let usage = "use rds:<instance-or-cluster-id>, pg_dump:<directory>, command:<shell command> or none";
        match spec.split_once(':') {
            _ if spec == "none" => Ok(Provider::None),
            Some(("rds", id)) if !id.is_empty() => Ok(Provider::Rds(id.to_string())),
            Some(("pg_dump", dir)) if !dir.is_empty() => Ok(Provider::PgDump(PathBuf::from(dir))),
            Some(("command", command)) if !command.trim().is_empty() => Ok(Provider::Command(command.to_string())),
            _ => Err(format!("snapshot provider `{spec}` is not one lockgate knows: {usage}")),
        }
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

const NOT_LISTED: &str = "only rds: and pg_dump: snapshots can be listed and pruned by lockgate";

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
        target: &Target,
        config: &SnapshotConfig,
        log: Log,
    ) -> Result<Option<Snapshot>, String> {
        match self {
            Provider::None => Ok(None),
            Provider::Rds(id) => rds::take(id, purpose, config, log).map(Some),
            Provider::PgDump(dir) => pg_dump::take(dir, purpose, target, log).map(Some),
            Provider::Command(command) => command::take(command, purpose, target, log).map(Some),
        }
    }

    /// Deletes lockgate's snapshots of this source but the newest `keep`; returns what was deleted.
    pub fn prune(&self, keep: usize, config: &SnapshotConfig) -> Result<Vec<String>, String> {
        match self {
            Provider::Rds(id) => rds::prune(id, keep, config),
            Provider::PgDump(dir) => pg_dump::prune(dir, keep),
            Provider::Command(_) | Provider::None => Err(NOT_LISTED.into()),
        }
    }

    /// lockgate's snapshots of this source, newest first: (id, created, status).
    pub fn list(&self, config: &SnapshotConfig) -> Result<Vec<(String, String, String)>, String> {
        match self {
            Provider::Rds(id) => rds::list(id, config),
            Provider::PgDump(dir) => pg_dump::list(dir),
            Provider::Command(_) | Provider::None => Err(NOT_LISTED.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_their_provider() {
        assert_eq!("rds:prod-db".parse(), Ok(Provider::Rds("prod-db".into())));
        assert_eq!("pg_dump:/backups".parse(), Ok(Provider::PgDump("/backups".into())));
        assert_eq!("command:./snap.sh --fast".parse(), Ok(Provider::Command("./snap.sh --fast".into())));
        assert_eq!("none".parse(), Ok(Provider::None));
        for bad in ["", "rds:", "s3:bucket", "nothing"] {
            let error = bad.parse::<Provider>().unwrap_err();
            assert!(error.contains("rds:<instance-or-cluster-id>"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_phase_of_a_plan_has_one_snapshot_id() {
        let purpose = Purpose { plan_checksum: "0123456789abcdef0123", phase: "contract", migrations: vec![] };
        assert_eq!(purpose.snapshot_id(), "lockgate-0123456789ab-contract");
    }
}
