//! Which migrations a run reports on. Every migration is replayed either way — state-aware
//! rules need the schema the whole history built — but a run in CI reports on less:
//! `--diff`/`--staged` on the migrations a change touched, `--since`/`start_after` on those
//! after a cutoff, so a team adopting lockgate on years of history is not asked to fix it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::git::{Change, ChangeKind, GitError, Repo};
use crate::ir::Migration;
use crate::rules::edited_applied_migration::{self, Merged};

/// The changes a `--diff` or `--staged` run is about.
pub struct ChangeSet {
    /// The base as the user named it, for messages (`origin/main`, `HEAD`).
    pub label: String,
    /// The base as git resolves it (a commit id, `HEAD`, the empty tree).
    pub revision: String,
    pub changes: Vec<Change>,
}

/// Per migration: did the change touch it, did it add it, and was it edited after being merged?
pub struct Touched {
    pub touched: Vec<bool>,
    /// New in the change: no deploy has run it yet.
    pub added: Vec<bool>,
    pub edited: Vec<bool>,
}

/// Marks the migrations the changes touched, and reports (as an `edited-applied-migration`
/// problem on the migration) each one that existed at the base and whose code changed since.
pub fn apply_changes(migrations: &mut [Migration], repo: &Repo, set: &ChangeSet) -> Result<Touched, GitError> {
    let by_path = index_by_path(migrations, repo);
    let mut touched = vec![false; migrations.len()];
    let mut added = vec![false; migrations.len()];
    let mut earlier = vec![];
    for change in &set.changes {
        for &index in by_path.get(&migration_path(&change.path)).into_iter().flatten() {
            touched[index] = true;
            match &change.kind {
                ChangeKind::Added => added[index] = true,
                ChangeKind::Modified => earlier.push((index, change.path.clone(), None)),
                ChangeKind::Renamed { from } => earlier.push((index, from.clone(), Some(from.clone()))),
            }
        }
    }
    let names: Vec<String> =
        earlier.iter().map(|(_, path, _)| format!("{}:{}", set.revision, path.to_string_lossy())).collect();
    let texts = repo.read_objects(&names)?;
    let mut edited = vec![false; migrations.len()];
    for ((index, _, renamed_from), text) in earlier.into_iter().zip(texts) {
        let Some(text) = text else { continue };
        let text = String::from_utf8_lossy(&text);
        let merged = Merged { text: &text, base: &set.label, renamed_from: renamed_from.as_deref() };
        let migration = &mut migrations[index];
        if let Some(problem) = edited_applied_migration::check(migration.framework, &merged, &migration.source.text) {
            migration.problems.push(problem);
            edited[index] = true;
        }
    }
    Ok(Touched { touched, added, edited })
}

/// Migrations by their file's path from the repository root.
fn index_by_path(migrations: &[Migration], repo: &Repo) -> HashMap<PathBuf, Vec<usize>> {
    let mut by_path: HashMap<PathBuf, Vec<usize>> = HashMap::new();
    for (index, migration) in migrations.iter().enumerate() {
        if let Some(path) = repo.relative(&migration.source.path) {
            by_path.entry(path).or_default().push(index);
        }
    }
    by_path
}

/// The migration file a changed file belongs to: itself, or for diesel's `metadata.toml`
/// (which decides the transaction mode) the `up.sql` beside it.
fn migration_path(changed: &Path) -> PathBuf {
    match changed.file_name() {
        Some(name) if name == "metadata.toml" => changed.with_file_name("up.sql"),
        _ => changed.to_path_buf(),
    }
}

/// The inputs to read when `context` folders are replayed around the `given` paths: the
/// context, plus each given path outside it (reading one inside it twice would replay it twice).
pub fn with_context(given: &[PathBuf], context: &[PathBuf]) -> Vec<PathBuf> {
    let roots: Vec<PathBuf> = context.iter().filter_map(|c| std::fs::canonicalize(c).ok()).collect();
    let outside =
        given.iter().filter(|g| !std::fs::canonicalize(g).is_ok_and(|g| roots.iter().any(|r| g.starts_with(r))));
    context.iter().chain(outside).cloned().collect()
}

/// Per migration: is its file one of the `given` paths, or inside one of them?
pub fn within(migrations: &[Migration], given: &[PathBuf]) -> Vec<bool> {
    let given: Vec<PathBuf> = given.iter().filter_map(|g| std::fs::canonicalize(g).ok()).collect();
    migrations
        .iter()
        .map(|m| std::fs::canonicalize(&m.source.path).is_ok_and(|path| given.iter().any(|g| path.starts_with(g))))
        .collect()
}

/// Where grandfathered history ends: a migration id (it and everything before it), or a day
/// (migrations first committed before it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cutoff {
    Migration(String),
    Date(String),
}

impl Cutoff {
    /// `YYYY-MM-DD` is a day; anything else a migration id.
    pub fn parse(text: &str) -> Cutoff {
        let text = text.trim();
        let bytes = text.as_bytes();
        let shaped = bytes.len() == 10 && bytes[4] == b'-' && bytes[7] == b'-';
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        match date_of_digits(&digits) {
            Some(date) if shaped && digits.len() == 8 => Cutoff::Date(date),
            _ => Cutoff::Migration(text.to_string()),
        }
    }
}

/// Why a cutoff (`start_after`, `--since`) cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum CutoffError {
    #[error(
        "no linted migration has the id `{id}`; use an id as lockgate reports it{}, or a date YYYY-MM-DD",
        example.as_ref().map(|e| format!(" (for example `{e}`)")).unwrap_or_default()
    )]
    UnknownId {
        id: String,
        /// An id lockgate reports, to show the form one takes.
        example: Option<String>,
    },
}

/// Which migrations lie at or before the cutoff. For a day, a migration's date is the day its
/// file was first committed (when `repo` is given and knows the file), else the date its
/// version prefix spells (`20240131…_x.sql`, `2024-01-31-…/up.sql`); one with neither is kept.
pub fn grandfathered(
    migrations: &[Migration],
    cutoff: &Cutoff,
    first_commits: &HashMap<PathBuf, String>,
    repo: Option<&Repo>,
) -> Result<Vec<bool>, CutoffError> {
    match cutoff {
        Cutoff::Migration(id) => up_to(migrations, id),
        Cutoff::Date(day) => Ok(migrations
            .iter()
            .map(|m| {
                let committed = repo.and_then(|r| r.relative(&m.source.path)).and_then(|p| first_commits.get(&p));
                let date = committed.cloned().or_else(|| date_prefix(&m.source.path));
                date.is_some_and(|date| date < *day)
            })
            .collect()),
    }
}

/// The named migration and those before it in runner order, within its framework's history.
fn up_to(migrations: &[Migration], id: &str) -> Result<Vec<bool>, CutoffError> {
    let Some(last) = migrations.iter().position(|m| m.id == id) else {
        let example = migrations.first().map(|m| m.id.clone());
        return Err(CutoffError::UnknownId { id: id.to_string(), example });
    };
    let framework = migrations[last].framework;
    Ok(migrations.iter().enumerate().map(|(i, m)| i <= last && m.framework == framework).collect())
}

/// `20240131120000_x.sql`, `2024-01-31-000000_x/up.sql` → `2024-01-31`.
fn date_prefix(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let name = if matches!(name, "up.sql" | "down.sql") { path.parent()?.file_name()?.to_str()? } else { name };
    let digits: String = name
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-' || *c == '_')
        .filter(char::is_ascii_digit)
        .take(8)
        .collect();
    date_of_digits(&digits)
}

/// `20240131` → `2024-01-31`, for plausible dates only (so `00000042` is no date).
fn date_of_digits(digits: &str) -> Option<String> {
    if digits.len() != 8 {
        return None;
    }
    let year: u32 = digits[..4].parse().ok()?;
    let month: u32 = digits[4..6].parse().ok()?;
    let day: u32 = digits[6..].parse().ok()?;
    let plausible = (1970..=2200).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day);
    plausible.then(|| format!("{year:04}-{month:02}-{day:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoff_is_a_date_only_when_shaped_like_one() {
        assert_eq!(Cutoff::parse("2024-02-29"), Cutoff::Date("2024-02-29".into()));
        assert_eq!(Cutoff::parse("20240229"), Cutoff::Migration("20240229".into()));
        assert_eq!(Cutoff::parse("0042_add_x"), Cutoff::Migration("0042_add_x".into()));
        assert_eq!(Cutoff::parse("2024-13-01"), Cutoff::Migration("2024-13-01".into()));
    }

    #[test]
    fn version_prefixes_that_spell_dates() {
        assert_eq!(date_prefix(Path::new("db/20240131120000_add_x.sql")).as_deref(), Some("2024-01-31"));
        assert_eq!(date_prefix(Path::new("m/2024-01-31-000000_add_x/up.sql")).as_deref(), Some("2024-01-31"));
        assert_eq!(date_prefix(Path::new("db/000042_add_x.up.sql")), None);
        assert_eq!(date_prefix(Path::new("app/migrations/0001_initial.py")), None);
        assert_eq!(date_prefix(Path::new("versions/1a2b3c4d5e6f_x.py")), None);
    }

    #[test]
    fn diesel_metadata_belongs_to_its_migration() {
        assert_eq!(migration_path(Path::new("m/2024_x/metadata.toml")), PathBuf::from("m/2024_x/up.sql"));
        assert_eq!(migration_path(Path::new("m/1.sql")), PathBuf::from("m/1.sql"));
    }
}
