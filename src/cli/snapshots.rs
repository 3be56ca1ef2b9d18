//! `lockgate snapshots`: the snapshots lockgate took of a source, and pruning the old ones.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Error;
use crate::snapshot::Provider;

#[derive(Args)]
pub struct SnapshotsArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// lockgate's snapshots of the source, newest first.
    List(Source),
    /// Delete lockgate's snapshots of the source but the newest N.
    Prune {
        /// How many of the newest to keep.
        #[arg(long, value_name = "N")]
        keep: usize,
        #[command(flatten)]
        source: Source,
    },
}

#[derive(Args)]
struct Source {
    /// `rds:<instance-or-cluster-id>` or `pg_dump:<directory>` (default: `[snapshot] provider`).
    #[arg(long, value_name = "PROVIDER")]
    snapshot: Option<String>,
    #[arg(long)]
    config: Option<PathBuf>,
}

impl Source {
    fn resolve(&self) -> Result<(Provider, crate::config::SnapshotConfig), Error> {
        let config = super::config_for(self.config.as_ref())?.snapshot;
        let spec = self.snapshot.clone().or_else(|| config.provider.clone());
        let spec = spec.ok_or(Error::NoSnapshotSource)?;
        Ok((spec.parse()?, config))
    }
}

pub fn run(args: SnapshotsArgs) -> Result<u8, Error> {
    match args.action {
        Action::List(source) => {
            let (provider, config) = source.resolve()?;
            let snapshots = provider.list(&config)?;
            let mut text = String::new();
            if snapshots.is_empty() {
                text.push_str("no snapshots taken by lockgate\n");
            }
            for (id, created, status) in snapshots {
                text.push_str(&format!("{created:<32} {status:<10} {id}\n"));
            }
            super::output::print(&text, "the snapshot list")?;
        }
        Action::Prune { keep, source } => {
            let (provider, config) = source.resolve()?;
            let deleted = provider.prune(keep, &config)?;
            let mut text: String = deleted.iter().map(|id| format!("deleted {id}\n")).collect();
            text.push_str(&format!("{} deleted, the newest {keep} kept\n", deleted.len()));
            super::output::print(&text, "the prune report")?;
        }
    }
    Ok(0)
}
