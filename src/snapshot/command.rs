//! `command:<shell command>`: the user's own snapshot hook, run with `sh -c`. It learns what
//! the snapshot is for from the environment; a non-zero exit stops the phase; the last line it
//! prints is the snapshot's id.

use std::process::{Command, Stdio};

use super::{Log, Purpose, Snapshot, SnapshotError};
use crate::live::connect::Endpoint;

pub fn take(command: &str, purpose: &Purpose, target: &Endpoint, log: Log) -> Result<Snapshot, SnapshotError> {
    let suggested = purpose.snapshot_id();
    log(&format!("snapshot: running `{command}`"));
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("LOCKGATE_SNAPSHOT_ID", &suggested)
        .env("LOCKGATE_PLAN_CHECKSUM", purpose.plan_checksum)
        .env("LOCKGATE_PHASE", purpose.phase)
        .env("LOCKGATE_MIGRATIONS", purpose.migrations.join(" "))
        .env("LOCKGATE_DATABASE", &target.display)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| SnapshotError::CommandStart { command: command.to_string(), source })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said = stderr.lines().rev().chain(stdout.lines().rev()).find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(SnapshotError::CommandFailed {
            command: command.to_string(),
            status: output.status,
            said: said.to_string(),
        });
    }
    let id = stdout.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or(&suggested).to_string();
    log(&format!("snapshot {id}: taken by `{command}`"));
    let restore = format!("restore snapshot {id} with the tooling behind `{command}`");
    Ok(Snapshot { provider: "command".into(), id, restore })
}
