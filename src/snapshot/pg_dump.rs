//! `pg_dump:<directory>`: a custom-format archive of the database, for self-hosted servers,
//! verified readable with `pg_restore --list` before the phase starts.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Log, Purpose, Snapshot, SnapshotError};
use crate::live::connect::Endpoint;

pub fn take(dir: &Path, purpose: &Purpose, target: &Endpoint, log: Log) -> Result<Snapshot, SnapshotError> {
    std::fs::create_dir_all(dir).map_err(|source| SnapshotError::CreateDirectory { dir: dir.to_path_buf(), source })?;
    // The time in the name: an archive left by an earlier attempt is never taken for this
    // one's, whose restore point must be now. The journal is what finds this phase's archive
    // again after a crash.
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
    let file = dir.join(format!("{}-{stamp}.dump", purpose.snapshot_id()));
    // Written aside and renamed once complete: a crash never leaves a partial archive under
    // a final name, and the next attempt overwrites it.
    let partial = dir.join(format!("{}.dump.partial", purpose.snapshot_id()));
    log(&format!("snapshot {}: pg_dump running", file.display()));
    let output = connection(Command::new(binary("pg_dump")), target)
        .args(["--format=custom", "--no-password", "--lock-wait-timeout=30s", "--file"])
        .arg(&partial)
        .output()
        .map_err(|source| SnapshotError::ClientStart { program: "pg_dump", source })?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&partial);
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(SnapshotError::DumpFailed {
            status: output.status,
            said: said.trim().to_string(),
            version_mismatch: said.contains("server version mismatch"),
        });
    }
    verified(&partial)?;
    std::fs::rename(&partial, &file).map_err(|source| SnapshotError::Archive { path: file.clone(), source })?;
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or_default();
    log(&format!("snapshot {}: {size} bytes, readable by pg_restore", file.display()));
    let restore = restore_command(target, &file);
    Ok(Snapshot { provider: "pg_dump".into(), id: file.display().to_string(), restore })
}

/// `pg_restore --list` reads the archive's table of contents.
fn verified(file: &Path) -> Result<(), SnapshotError> {
    let output = Command::new(binary("pg_restore"))
        .arg("--list")
        .arg(file)
        .output()
        .map_err(|source| SnapshotError::ClientStart { program: "pg_restore", source })?;
    match output.status.success() && !output.stdout.is_empty() {
        true => Ok(()),
        false => Err(SnapshotError::Unreadable {
            file: file.to_path_buf(),
            said: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        }),
    }
}

pub fn list(dir: &Path) -> Result<Vec<(String, String, String)>, SnapshotError> {
    Ok(archives(dir)?
        .into_iter()
        .map(|(path, modified)| {
            let when = jiff::Timestamp::try_from(modified).map(|t| t.to_string()).unwrap_or_default();
            (path.display().to_string(), when, "available".to_string())
        })
        .collect())
}

pub fn prune(dir: &Path, keep: usize) -> Result<Vec<String>, SnapshotError> {
    let mut deleted = vec![];
    for (path, _) in archives(dir)?.into_iter().skip(keep) {
        std::fs::remove_file(&path).map_err(|source| SnapshotError::Archive { path: path.clone(), source })?;
        deleted.push(path.display().to_string());
    }
    Ok(deleted)
}

/// lockgate's archives in `dir`, newest first.
fn archives(dir: &Path) -> Result<Vec<(PathBuf, std::time::SystemTime)>, SnapshotError> {
    let entries =
        std::fs::read_dir(dir).map_err(|source| SnapshotError::ReadDirectory { dir: dir.to_path_buf(), source })?;
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

/// libpq's settings for the target, for the environment of `pg_dump` (the password never
/// on a command line).
fn settings(target: &Endpoint) -> Vec<(&'static str, String)> {
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
    settings.into_iter().filter(|(_, value)| !value.is_empty()).collect()
}

fn connection(mut command: Command, target: &Endpoint) -> Command {
    command.envs(settings(target));
    if let Some(password) = target.config.get_password() {
        command.env("PGPASSWORD", String::from_utf8_lossy(password).into_owned());
    }
    command
}

/// The command an operator runs to go back to the archive: the connection as `pg_dump` had
/// it, but the password, which comes from their `PGPASSWORD` or `~/.pgpass`. Without
/// `--dbname`, pg_restore would print SQL rather than restore.
fn restore_command(target: &Endpoint, file: &Path) -> String {
    let settings = settings(target);
    // libpq's default database is the user's name.
    let setting = |name: &str| settings.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_str());
    let database = setting("PGDATABASE").or_else(|| setting("PGUSER")).unwrap_or_default();
    let environment: Vec<String> = settings
        .iter()
        .filter(|(key, _)| *key != "PGDATABASE")
        .map(|(key, value)| format!("{key}={}", quoted(value)))
        .collect();
    format!(
        "{} pg_restore --clean --if-exists --single-transaction --dbname={} {}",
        environment.join(" "),
        quoted(database),
        quoted(&file.display().to_string())
    )
}

/// A word for `sh`.
fn quoted(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:,=@".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The newest of the PostgreSQL clients on PATH and under /usr/lib/postgresql/*/bin: pg_dump
/// refuses to dump a server newer than itself, and Debian's PATH has whichever version
/// `postgresql-common` chose.
fn binary(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join(name)).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|program| program.is_file());
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin").join(name))
        .filter(|program| program.is_file());
    on_path
        .into_iter()
        .chain(installed)
        .filter_map(|program| Some((major(&program)?, program)))
        .max_by_key(|(major, _)| *major)
        .map_or_else(|| PathBuf::from(name), |(_, program)| program)
}

/// The major version a client says it is: `pg_dump (PostgreSQL) 17.2 (Debian 17.2-1)` → 17.
fn major(program: &Path) -> Option<u32> {
    let output = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.split_whitespace().skip_while(|word| *word != "(PostgreSQL)").nth(1)?;
    version.split(['.', 'b', 'r']).next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restore_command_names_the_database_but_not_the_password() {
        let target = Endpoint::parse("postgres://app:s3cret@db.internal:6432/shop?sslmode=require").unwrap();
        let command = restore_command(&target, Path::new("/backups/it's here.dump"));
        assert_eq!(
            command,
            "PGHOST=db.internal PGPORT=6432 PGUSER=app PGSSLMODE=require pg_restore --clean --if-exists \
             --single-transaction --dbname=shop '/backups/it'\\''s here.dump'"
        );
    }
}
