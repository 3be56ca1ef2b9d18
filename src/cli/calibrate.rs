//! `lockgate calibrate`: measure the target server's scan, sort and join speed (read-only, a few seconds)
//! and write the throughput profile `lockgate check --profile` uses.

use std::path::PathBuf;

use clap::Args;

use super::check::DatabaseArgs;
use super::Error;
use crate::estimate::calibrate;

#[derive(Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The table to scan (`schema.table`); by default the largest one.
    #[arg(long)]
    table: Option<String>,
    /// Write the profile here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub fn run(args: CalibrateArgs) -> Result<u8, Error> {
    let session = args.database.open()?;
    let profile = calibrate::calibrate(&session, args.table.as_deref())
        .map_err(|source| Error::Calibrate { database: session.target.display.clone(), source })?;
    let text = serde_json::to_string_pretty(&profile).map_err(Error::json("the throughput profile"))? + "\n";
    if let Some(measured) = &profile.calibration {
        eprintln!(
            "scanned {:.0} MB of {} in {:.0} ms ({:.0} MB/s, {:.2}× the reference machine); \
             sorted a million rows in {:.0} ms ({:.2}×); joined a million rows in {:.0} ms ({:.2}×)",
            measured.bytes_scanned as f64 / 1e6,
            measured.table,
            measured.scan_ms,
            measured.scan_mb_per_s,
            measured.scan_factor,
            measured.sort_ms,
            measured.cpu_factor,
            measured.join_ms,
            measured.join_factor
        );
    }
    match &args.output {
        Some(path) => super::output::write_file(path, text, "the throughput profile")?,
        None => super::output::print(&text, "the throughput profile")?,
    }
    Ok(0)
}
