//! A framework step: the framework's own command (`manage.py migrate <app> <name>`, `alembic
//! upgrade <revision>`) for one migration that only it can run. lockgate's timeouts reach the
//! command's connection through `PGOPTIONS`, which libpq reads when it connects; a lock timeout
//! or deadlock in a migration the framework runs in one transaction is retried on the step's
//! schedule, since the failed try left nothing behind.

use std::process::{Command, Stdio};

use crate::plan::FrameworkRun;

/// Why the command failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("cannot start `{program}` in {directory}: {source}")]
    Start { program: String, directory: String, source: std::io::Error },
    #[error("`{command}` exited with {status}:\n{output}")]
    Exited {
        command: String,
        status: std::process::ExitStatus,
        output: String,
        /// The output names a lock timeout or a deadlock.
        lock_conflict: bool,
    },
}

impl Failure {
    pub fn lock_conflict(&self) -> bool {
        matches!(self, Failure::Exited { lock_conflict: true, .. })
    }
}

/// Runs the command to its end. The child is killed with lockgate (`PR_SET_PDEATHSIG`): a
/// rerun after a crash must not find it still migrating beside a second one.
pub fn run(framework: &FrameworkRun, url: &str, pgoptions: &str) -> Result<String, Failure> {
    let (program, args) = framework.command.split_first().map_or(("", &[][..]), |(p, a)| (p.as_str(), a));
    // Options given by the environment come first, so lockgate's timeouts win.
    let options = match std::env::var("PGOPTIONS") {
        Ok(theirs) if !theirs.trim().is_empty() => format!("{theirs} {pgoptions}"),
        _ => pgoptions.to_string(),
    };
    let mut command = Command::new(program);
    command.args(args).current_dir(&framework.directory).env("PGOPTIONS", options).stdin(Stdio::null());
    // Connected from the PG* environment alone, the command inherits that environment instead.
    if !url.is_empty() {
        command.env("LOCKGATE_DATABASE_URL", url);
    }
    die_with_parent(&mut command);
    let output = command.output().map_err(|source| Failure::Start {
        program: program.to_string(),
        directory: framework.directory.clone(),
        source,
    })?;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if output.status.success() {
        return Ok(text);
    }
    // psycopg names the SQLSTATE's class (LockNotAvailable, DeadlockDetected); the server's
    // message says it too.
    let lock_conflict = ["LockNotAvailable", "DeadlockDetected", "lock timeout", "deadlock detected"]
        .iter()
        .any(|needle| text.contains(needle));
    Err(Failure::Exited {
        command: framework.command.join(" "),
        status: output.status,
        output: tail(&text),
        lock_conflict,
    })
}

/// The last lines of the command's output, where the error is.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}
