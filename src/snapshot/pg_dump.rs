//! `pg_dump:<directory>`: a custom-format archive of the database, for self-hosted servers,
//! verified readable with `pg_restore --list` before the phase starts.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Log, Purpose, Snapshot};
use crate::live::connect::Target;

pub fn take(dir: &Path, purpose: &Purpose, target: &Target, log: Log) -> Result<Snapshot, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("pg_dump:{}: cannot create the directory: {e}", dir.display()))?;
    let id = purpose.snapshot_id();
    let file = dir.join(format!("{id}.dump"));
    if file.exists() && verified(&file).is_ok() {
        log(&format!("snapshot {}: taken for this phase by an earlier run; using it", file.display()));
    } else {
        // Written aside and renamed once complete: a crash never leaves a partial archive
        // under the final name.
        let partial = dir.join(format!("{id}.dump.partial"));
        log(&format!("snapshot {}: pg_dump running", file.display()));
        let output = connection(Command::new(binary("pg_dump")), target)
            .args(["--format=custom", "--no-password", "--lock-wait-timeout=30s", "--file"])
            .arg(&partial)
            .output()
            .map_err(|e| format!("cannot run pg_dump: {e}: install the PostgreSQL client (postgresql-client)"))?;
        if !output.status.success() {
            let _ = std::fs::remove_file(&partial);
            return Err(format!(
                "pg_dump failed ({}): {}; the phase does not start",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        verified(&partial)?;
        std::fs::rename(&partial, &file).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or_default();
    log(&format!("snapshot {}: {size} bytes, readable by pg_restore", file.display()));
    let restore =
        format!("pg_restore --clean --if-exists --single-transaction --dbname '{}' {}", target.display, file.display());
    Ok(Snapshot { provider: "pg_dump".into(), id: file.display().to_string(), restore })
}

/// `pg_restore --list` reads the archive's table of contents.
fn verified(file: &Path) -> Result<(), String> {
    let output = Command::new(binary("pg_restore"))
        .arg("--list")
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run pg_restore: {e}"))?;
    match output.status.success() && !output.stdout.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "{} is not a readable archive: {}; the phase does not start",
            file.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

pub fn list(dir: &Path) -> Result<Vec<(String, String, String)>, String> {
    Ok(archives(dir)?
        .into_iter()
        .map(|(path, modified)| {
            let when = jiff::Timestamp::try_from(modified).map(|t| t.to_string()).unwrap_or_default();
            (path.display().to_string(), when, "available".to_string())
        })
        .collect())
}

pub fn prune(dir: &Path, keep: usize) -> Result<Vec<String>, String> {
    let mut deleted = vec![];
    for (path, _) in archives(dir)?.into_iter().skip(keep) {
        std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        deleted.push(path.display().to_string());
    }
    Ok(deleted)
}

/// lockgate's archives in `dir`, newest first.
fn archives(dir: &Path) -> Result<Vec<(PathBuf, std::time::SystemTime)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("pg_dump:{}: {e}", dir.display()))?;
    let mut found: Vec<(PathBuf, std::time::SystemTime)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with("lockgate-") && name.ends_with(".dump")
        })
        .filter_map(|p| std::fs::metadata(&p).and_then(|m| m.modified()).ok().map(|t| (p, t)))
        .collect();
    found.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    Ok(found)
}

/// libpq's settings for the target, in the environment (the password never on a command line).
fn connection(mut command: Command, target: &Target) -> Command {
    let config = &target.config;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(host) => host.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    let settings = [
        ("PGHOST", hosts.join(",")),
        ("PGPORT", ports.join(",")),
        ("PGUSER", config.get_user().unwrap_or_default().to_string()),
        ("PGDATABASE", config.get_dbname().unwrap_or_default().to_string()),
        ("PGSSLMODE", target.ssl_mode.name().to_string()),
        ("PGSSLROOTCERT", target.root_cert.clone().unwrap_or_default()),
    ];
    for (key, value) in settings {
        if !value.is_empty() {
            command.env(key, value);
        }
    }
    if let Some(password) = config.get_password() {
        command.env("PGPASSWORD", String::from_utf8_lossy(password).into_owned());
    }
    command
}

/// The client of the newest PostgreSQL installed (pg_dump refuses a newer server than
/// itself), else the one on PATH.
fn binary(name: &str) -> PathBuf {
    let mut installed: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let path = e.path().join("bin").join(name);
            path.exists().then_some((major, path))
        })
        .collect();
    installed.sort();
    installed.pop().map_or_else(|| PathBuf::from(name), |(_, path)| path)
}
