//! Where a run reads migration files from: the working tree as it is, or a git version of it
//! (HEAD, or the index) written out to a private folder first.
//!
//! Writing the version out, rather than teaching each reader to ask git, keeps one code path:
//! every front end and every layout rule that peeks at a neighbour file (diesel's
//! `metadata.toml`, `alembic.ini`, dbmate markers) reads the snapshot exactly as it reads a
//! checkout, and a dirty working tree cannot change what `--diff` or `--staged` report.

use std::path::{Path, PathBuf};

use crate::git::{Entry, GitError, Repo, Side};

/// The files a run reads.
pub enum FileTree {
    /// The files on disk, as they are now.
    WorkTree,
    /// A git version of the input paths, written to a temporary folder.
    GitVersion(GitVersion),
}

pub struct GitVersion {
    dir: tempfile::TempDir,
    side: Side,
    /// Each input path as the user gave it, with where it lies in the snapshot.
    inputs: Vec<(PathBuf, PathBuf)>,
}

#[derive(Debug, thiserror::Error)]
pub enum GitVersionError {
    #[error("{path}: outside the git repository, so it has no version in git")]
    Outside { path: PathBuf },
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("cannot write the snapshot of the repository: {0}")]
    Io(#[from] std::io::Error),
}

impl FileTree {
    /// Writes out the version `side` of everything under `inputs` that discovery may read.
    pub fn git_version(repo: &Repo, side: Side, inputs: &[PathBuf]) -> Result<FileTree, GitVersionError> {
        let dir = tempfile::Builder::new().prefix("lockgate-snapshot-").tempdir()?;
        let mut located = vec![];
        let mut specs = vec![];
        for input in inputs {
            let relative = repo.relative(input).ok_or_else(|| GitVersionError::Outside { path: input.clone() })?;
            specs.extend(ancestor_environment_files(&relative));
            specs.push(relative.clone());
            located.push((input.clone(), dir.path().join(&relative)));
        }
        // Submodules (mode 160000) are other repositories, with no content here.
        let entries: Vec<Entry> = repo
            .list(side, &specs)?
            .into_iter()
            .filter(|e| e.mode != "160000" && (discoverable(&e.path) || specs.contains(&e.path)))
            .collect();
        write_entries(repo, dir.path(), &entries)?;
        Ok(FileTree::GitVersion(GitVersion { dir, side, inputs: located }))
    }

    /// Where discovery finds an input path.
    pub fn locate(&self, input: &Path) -> PathBuf {
        match self {
            FileTree::WorkTree => input.to_path_buf(),
            FileTree::GitVersion(snapshot) => snapshot
                .inputs
                .iter()
                .find(|(given, _)| given == input)
                .map_or_else(|| snapshot.dir.path().join(input), |(_, location)| location.clone()),
        }
    }

    /// The input paths with their locations, for showing snapshot files by the paths given.
    pub fn origins(&self) -> Vec<(PathBuf, PathBuf)> {
        match self {
            FileTree::WorkTree => vec![],
            FileTree::GitVersion(snapshot) => snapshot.inputs.clone(),
        }
    }

    /// What the files are read from, for messages: `HEAD`, `the index`, `the working tree`.
    pub fn describe(&self) -> &'static str {
        match self {
            FileTree::WorkTree => "the working tree",
            FileTree::GitVersion(GitVersion { side: Side::Head, .. }) => "HEAD",
            FileTree::GitVersion(GitVersion { side: Side::Index, .. }) => "the index",
        }
    }
}

/// Files discovery looks at in a folder: migrations, and the files that say how to read them.
fn discoverable(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name.ends_with(".sql") || name.ends_with(".py") || name == "alembic.ini" || name == "metadata.toml"
}

/// `alembic.ini` and `env.py` in every folder above an input: linting an Alembic `versions/`
/// folder needs the ini beside the project, or the `env.py` beside `versions/`, to tell that
/// its files are revisions.
fn ancestor_environment_files(relative: &Path) -> Vec<PathBuf> {
    relative.ancestors().skip(1).flat_map(|dir| [dir.join("alembic.ini"), dir.join("env.py")]).collect()
}

fn write_entries(repo: &Repo, dir: &Path, entries: &[Entry]) -> Result<(), GitVersionError> {
    let objects: Vec<String> = entries.iter().map(|e| e.object.clone()).collect();
    let contents = repo.read_objects(&objects)?;
    // Thousands of migrations share a few folders: create each once.
    let mut created = std::collections::HashSet::new();
    for (entry, content) in entries.iter().zip(contents) {
        let Some(content) = content else { continue };
        let target = dir.join(&entry.path);
        if let Some(parent) = target.parent().filter(|p| !created.contains(*p)) {
            std::fs::create_dir_all(parent)?;
            created.insert(parent.to_path_buf());
        }
        if entry.mode == "120000" {
            write_link(&target, &content)?;
        } else {
            std::fs::write(&target, content)?;
        }
    }
    Ok(())
}

/// A symbolic link is stored as its target; recreate it so it resolves inside the snapshot.
#[cfg(unix)]
fn write_link(target: &Path, content: &[u8]) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(content), target)
}

#[cfg(not(unix))]
fn write_link(target: &Path, content: &[u8]) -> std::io::Result<()> {
    std::fs::write(target, content)
}
