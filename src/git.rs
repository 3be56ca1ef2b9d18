//! The few questions `--diff`, `--staged` and `--since` ask of git, answered by the `git` binary:
//! the user's own git, with their configuration, and no second implementation of its formats to
//! drift from it. Every command runs with `-z` output so that no file name needs unquoting.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

/// Git's id of the empty tree: the base to compare against before the first commit.
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git ({0}); --diff, --staged and --since need git on PATH")]
    Spawn(std::io::Error),
    #[error("`git {command}` failed: {message}")]
    Failed { command: String, message: String },
    /// Git's answer could not be read.
    #[error("`git {command}` failed: {source}")]
    Read { command: &'static str, source: std::io::Error },
    #[error("{0}")]
    NotARepository(String),
    #[error("no commit named `{0}` in this repository (in CI, fetch it first: `git fetch origin <branch>`)")]
    UnknownRevision(String),
}

/// Which version of the files a run reads: the last commit, or what is staged for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Head,
    Index,
}

/// How a file changed between the base and the side being linted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Renamed { from: PathBuf },
}

/// A changed file, by its path on the linted side (relative to the repository root).
#[derive(Debug, Clone)]
pub struct Change {
    pub path: PathBuf,
    pub kind: ChangeKind,
}

/// A file of a tree or of the index.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Git's file mode: `100644`, `100755`, `120000` (symbolic link), `160000` (submodule).
    pub mode: String,
    pub object: String,
    pub path: PathBuf,
}

/// The repository around the working directory.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
    /// The working directory, relative to the root.
    prefix: PathBuf,
    /// The root, relative to the working directory (`.` or `../..`).
    cdup: PathBuf,
}

impl Repo {
    /// The repository that holds `dir`.
    pub fn discover(dir: &Path) -> Result<Repo, GitError> {
        let out =
            run_in(dir, &["rev-parse", "--show-toplevel", "--show-prefix", "--show-cdup"]).map_err(|e| match e {
                GitError::Failed { message, .. } => GitError::NotARepository(message),
                other => other,
            })?;
        let text = String::from_utf8_lossy(&out);
        let mut lines = text.lines();
        let root = PathBuf::from(lines.next().unwrap_or_default());
        let prefix = PathBuf::from(lines.next().unwrap_or_default());
        let cdup = lines.next().unwrap_or_default().trim_end_matches('/');
        let cdup = if cdup.is_empty() { PathBuf::from(".") } else { PathBuf::from(cdup) };
        Ok(Repo { root, prefix, cdup })
    }

    /// The repository root as a path from the working directory.
    pub fn root_from_cwd(&self) -> &Path {
        &self.cdup
    }

    /// A path (relative to the working directory, or absolute) as a path from the repository
    /// root; `None` when it lies outside the repository.
    pub fn relative(&self, path: &Path) -> Option<PathBuf> {
        if path.is_absolute() {
            // The root git reports has symbolic links resolved; so must the path.
            let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            return real.strip_prefix(&self.root).ok().map(Path::to_path_buf);
        }
        normalize(&self.prefix.join(path))
    }

    /// Does the repository have a commit yet?
    pub fn has_head(&self) -> bool {
        self.git(&["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]).is_ok()
    }

    /// The commit where HEAD's history and `base`'s meet.
    pub fn merge_base(&self, base: &str) -> Result<String, GitError> {
        self.git(&["rev-parse", "--verify", "--quiet", &format!("{base}^{{commit}}")])
            .map_err(|_| GitError::UnknownRevision(base.to_string()))?;
        let out = self.git(&["merge-base", "HEAD", base]).map_err(|e| match e {
            GitError::Failed { command, message } if message.is_empty() => GitError::Failed {
                command,
                message: format!(
                    "HEAD and `{base}` share no history; in a shallow clone, fetch more of it (actions/checkout: `fetch-depth: 0`)"
                ),
            },
            other => other,
        })?;
        Ok(String::from_utf8_lossy(&out).trim().to_string())
    }

    /// The commit HEAD points at, or the empty tree before the first commit.
    pub fn head_or_empty(&self) -> String {
        if self.has_head() {
            "HEAD".to_string()
        } else {
            EMPTY_TREE.to_string()
        }
    }

    /// Files added, modified or renamed between `base` and the side being linted.
    pub fn changes(&self, base: &str, side: Side) -> Result<Vec<Change>, GitError> {
        let mut args = vec!["diff", "--name-status", "-z", "--find-renames", "--diff-filter=AMR", "--no-ext-diff"];
        match side {
            Side::Head => args.extend([base, "HEAD"]),
            Side::Index => args.extend(["--cached", base]),
        }
        args.push("--");
        Ok(parse_name_status(&self.git(&args)?))
    }

    /// The files under `paths` (relative to the root; an empty path is the whole tree) in HEAD
    /// or in the index.
    pub fn list(&self, side: Side, paths: &[PathBuf]) -> Result<Vec<Entry>, GitError> {
        let specs: Vec<&str> = paths.iter().filter_map(|p| p.to_str()).filter(|p| !p.is_empty()).collect();
        let whole = paths.iter().any(|p| p.as_os_str().is_empty());
        let mut args = match side {
            Side::Head => vec!["ls-tree", "-r", "-z", "--full-tree", "HEAD"],
            Side::Index => vec!["ls-files", "--stage", "-z"],
        };
        if !whole {
            args.push("--");
            args.extend(specs);
        }
        if side == Side::Head && !self.has_head() {
            return Ok(vec![]);
        }
        let out = self.git(&args)?;
        Ok(out.split(|&b| b == 0).filter(|r| !r.is_empty()).filter_map(|r| parse_entry(r, side)).collect())
    }

    /// The contents of objects (`<id>` or `<rev>:<path>`), in order; `None` for one that does
    /// not exist.
    pub fn read_objects(&self, names: &[String]) -> Result<Vec<Option<Vec<u8>>>, GitError> {
        let mut child = self
            .command(&["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(GitError::Spawn)?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let requests: String = names.iter().map(|n| format!("{n}\n")).collect();
        // Written from another thread: git answers while it reads, and a full pipe each way
        // would deadlock.
        let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
        let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
        let contents: Result<Vec<_>, _> = names.iter().map(|_| read_batch_answer(&mut reader)).collect();
        let _ = writer.join();
        let status = child.wait().map_err(GitError::Spawn)?;
        let failed = |message: String| GitError::Failed { command: "cat-file --batch".into(), message };
        let contents = contents.map_err(|source| GitError::Read { command: "cat-file --batch", source })?;
        if !status.success() {
            return Err(failed(format!("exited with {status}")));
        }
        Ok(contents)
    }

    /// The day (`YYYY-MM-DD`) each file under `paths` was first committed at its current path,
    /// in HEAD's history.
    pub fn first_commit_dates(&self, paths: &[PathBuf]) -> Result<HashMap<PathBuf, String>, GitError> {
        if !self.has_head() {
            return Ok(HashMap::new());
        }
        let mut args = vec!["log", "--diff-filter=A", "--no-renames", "--name-only", "-z", "--format=%x00%cs", "HEAD"];
        let specs: Vec<&str> = paths.iter().filter_map(|p| p.to_str()).filter(|p| !p.is_empty()).collect();
        if !paths.iter().any(|p| p.as_os_str().is_empty()) {
            args.push("--");
            args.extend(specs);
        }
        Ok(parse_first_dates(&self.git(&args)?))
    }

    fn command(&self, args: &[&str]) -> Command {
        command_in(&self.root, args)
    }

    fn git(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        run_in(&self.root, args)
    }
}

fn command_in(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    // File names from the migrations are matched literally, never as globs.
    command.current_dir(dir).args(args).env("GIT_LITERAL_PATHSPECS", "1");
    command
}

fn run_in(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let output = command_in(dir, args).stdin(Stdio::null()).output().map_err(GitError::Spawn)?;
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr).trim().to_string();
        let message = message.strip_prefix("fatal: ").unwrap_or(&message).to_string();
        return Err(GitError::Failed { command: args.join(" "), message });
    }
    Ok(output.stdout)
}

/// One answer of `git cat-file --batch`: `<id> <type> <size>\n<contents>\n`, or `<name> missing\n`.
fn read_batch_answer(reader: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    let mut header = String::new();
    reader.read_line(&mut header)?;
    let header = header.trim_end();
    if header.ends_with(" missing") || header.ends_with(" ambiguous") || header.is_empty() {
        return Ok(None);
    }
    let size: usize =
        header.rsplit(' ').next().and_then(|s| s.parse().ok()).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("unexpected answer `{header}`"))
        })?;
    let mut contents = vec![0; size + 1];
    reader.read_exact(&mut contents)?;
    contents.pop();
    Ok(Some(contents))
}

/// `git diff --name-status -z`: `M\0path\0`, `A\0path\0`, `R087\0old\0new\0`.
fn parse_name_status(out: &[u8]) -> Vec<Change> {
    let mut fields = out.split(|&b| b == 0).filter(|f| !f.is_empty());
    let mut changes = vec![];
    while let Some(status) = fields.next() {
        let kind = match status.first() {
            Some(b'A') => ChangeKind::Added,
            Some(b'M') => ChangeKind::Modified,
            Some(b'R') => match fields.next() {
                Some(from) => ChangeKind::Renamed { from: path_from_bytes(from) },
                None => break,
            },
            _ => {
                fields.next();
                continue;
            }
        };
        let Some(path) = fields.next() else { break };
        changes.push(Change { path: path_from_bytes(path), kind });
    }
    changes
}

/// `git ls-tree -r -z`: `<mode> blob <id>\t<path>`; `git ls-files --stage -z`:
/// `<mode> <id> <stage>\t<path>`. Unmerged index entries (stage 1–3) have no single content.
fn parse_entry(record: &[u8], side: Side) -> Option<Entry> {
    let tab = record.iter().position(|&b| b == b'\t')?;
    let head = String::from_utf8_lossy(&record[..tab]);
    let fields: Vec<&str> = head.split(' ').collect();
    let (mode, object) = match (side, fields.as_slice()) {
        (Side::Head, [mode, "blob", object]) => (*mode, *object),
        (Side::Index, [mode, object, "0"]) => (*mode, *object),
        _ => return None,
    };
    Some(Entry { mode: mode.to_string(), object: object.to_string(), path: path_from_bytes(&record[tab + 1..]) })
}

/// `git log --name-only -z --format=%x00%cs`: each commit is an empty field, its date, then
/// the files it added (the first after a newline). Newest first, so the last date seen for a
/// file is the oldest.
fn parse_first_dates(out: &[u8]) -> HashMap<PathBuf, String> {
    let mut dates = HashMap::new();
    let mut date = String::new();
    let mut date_next = false;
    for field in out.split(|&b| b == 0) {
        if field.is_empty() {
            date_next = true;
            continue;
        }
        if date_next {
            date = String::from_utf8_lossy(field).trim().to_string();
            date_next = false;
            continue;
        }
        let name = field.strip_prefix(b"\n").unwrap_or(field);
        if !name.is_empty() {
            dates.insert(path_from_bytes(name), date.clone());
        }
    }
    dates
}

/// `a/./b/../c` → `a/c`; `None` when `..` climbs above the start.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(part) => out.push(part),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_status_with_renames() {
        let out = b"A\0db/0003.sql\0M\0db/0001.sql\0R087\0db/old.sql\0db/new.sql\0D\0gone.sql\0";
        let changes = parse_name_status(out);
        assert_eq!(changes.len(), 3);
        assert_eq!(changes[0].kind, ChangeKind::Added);
        assert_eq!(changes[1].path, PathBuf::from("db/0001.sql"));
        assert_eq!(changes[2].kind, ChangeKind::Renamed { from: PathBuf::from("db/old.sql") });
        assert_eq!(changes[2].path, PathBuf::from("db/new.sql"));
    }

    #[test]
    fn first_dates_keep_the_oldest() {
        let out = b"\x002024-03-01\0\nm/2.sql\0\x002024-02-01\0\nm/1.sql\0m/2.sql\0";
        let dates = parse_first_dates(out);
        assert_eq!(dates[Path::new("m/1.sql")], "2024-02-01");
        assert_eq!(dates[Path::new("m/2.sql")], "2024-02-01");
    }

    #[test]
    fn entries_of_tree_and_index() {
        let tree = parse_entry(b"100644 blob abc123\tdb/x.sql", Side::Head).expect("entry");
        assert_eq!((tree.mode.as_str(), tree.object.as_str()), ("100644", "abc123"));
        assert!(parse_entry(b"160000 commit abc\tvendor", Side::Head).is_none());
        assert!(parse_entry(b"100644 abc 2\tdb/x.sql", Side::Index).is_none(), "unmerged");
        assert_eq!(parse_entry(b"100644 abc 0\tdb/x.sql", Side::Index).expect("entry").path, PathBuf::from("db/x.sql"));
    }

    #[test]
    fn normalize_stays_inside() {
        assert_eq!(normalize(Path::new("a/./b/../c")), Some(PathBuf::from("a/c")));
        assert_eq!(normalize(Path::new("../x")), None);
    }
}
