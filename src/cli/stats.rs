//! `lockgate stats dump`: the schema, sizes and history tables of the database as JSON, so
//! that `lockgate check --stats` can judge in CI without production credentials.

use clap::{Args, Subcommand};

use super::check::DatabaseArgs;
use super::Error;
use crate::live::Observation;

#[derive(Args)]
pub struct StatsArgs {
    #[command(subcommand)]
    command: StatsCommand,
}

#[derive(Subcommand)]
enum StatsCommand {
    /// Write the database's schema, table sizes and migration history to standard output.
    Dump(DumpArgs),
}

#[derive(Args)]
struct DumpArgs {
    #[command(flatten)]
    database: DatabaseArgs,
}

pub fn run(args: StatsArgs) -> Result<u8, Error> {
    let StatsCommand::Dump(dump) = args.command;
    let session = dump.database.open()?;
    let observation = Observation::read(&session).map_err(Error::at(&session.target))?;
    let text = serde_json::to_string_pretty(&observation).map_err(Error::json("the statistics"))?;
    super::output::print(&(text + "\n"), "the statistics")?;
    Ok(0)
}
