//! Which `.py` files are Alembic revisions, and which environment each belongs to.
//!
//! An environment is a script location: a folder with `env.py` whose revisions live under
//! `versions/`, or whatever `alembic.ini` names with `script_location` and `version_locations`.
//! Filesystem checks are cached per directory: a repository has many files and few folders.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use foldhash::{HashMap, HashSet};

/// The Alembic environments known so far, and the folders already checked.
#[derive(Debug, Default)]
pub struct Environments {
    /// Version locations named by `alembic.ini` files, each with its script location.
    locations: Vec<(PathBuf, PathBuf)>,
    /// `alembic.ini` files already read.
    inis: Vec<PathBuf>,
    /// Folder → does it hold `env.py`.
    has_env: HashMap<PathBuf, bool>,
    /// Folders already searched for `alembic.ini`, with their ancestors.
    searched: HashSet<PathBuf>,
    /// The working directory, read once: relative paths are made absolute against it.
    cwd: Option<PathBuf>,
    /// Per folder as given (a run asks about thousands of files in a few folders): whether
    /// its ancestors were searched for `alembic.ini`, and what it is.
    folders: HashMap<OsString, Folder>,
}

#[derive(Debug)]
struct Folder {
    absolute: PathBuf,
    searched: bool,
    /// `None` until asked; then the script location whose revisions the folder holds, if any.
    location: Option<Option<PathBuf>>,
    in_pycache: bool,
}

impl Environments {
    /// Reads `alembic.ini` in `path` (a folder or a file's folder) and in every folder above it,
    /// so that linting `alembic/versions` still finds the ini next to `alembic/`.
    pub fn add_ancestors_of(&mut self, path: &Path) {
        let absolute = self.absolute(path);
        let start = if absolute.is_dir() { absolute.as_path() } else { absolute.parent().unwrap_or(&absolute) };
        self.search_from(start);
    }

    /// [`Environments::add_ancestors_of`] for a path known to be a file (no filesystem check).
    pub fn add_ancestors_of_file(&mut self, file: &Path) {
        let folder = folder_of(file);
        if self.folders.get(folder.as_os_str()).is_some_and(|f| f.searched) {
            return;
        }
        let absolute = self.entry(folder).absolute.clone();
        self.search_from(&absolute);
        self.entry(folder).searched = true;
    }

    fn search_from(&mut self, start: &Path) {
        for dir in start.ancestors() {
            if !self.searched.insert(dir.to_path_buf()) {
                break;
            }
            let ini = dir.join("alembic.ini");
            if ini.is_file() {
                self.add_ini(&ini);
            }
        }
    }

    /// Records the version locations an `alembic.ini` names.
    pub fn add_ini(&mut self, ini: &Path) {
        let ini = self.absolute(ini);
        if self.inis.contains(&ini) {
            return;
        }
        let Ok(text) = std::fs::read_to_string(&ini) else { return };
        let here = ini.parent().map(Path::to_path_buf).unwrap_or_default();
        for (script, versions) in ini_locations(&text, &here) {
            self.locations.extend(versions.into_iter().map(|v| (v, script.clone())));
        }
        self.inis.push(ini);
        // New locations can claim folders already judged.
        self.folders.values_mut().for_each(|folder| folder.location = None);
    }

    /// Is `path` an Alembic revision script?
    pub fn is_revision(&mut self, path: &Path) -> bool {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        // Alembic skips `__init__.py` and editor lock files (`.#name.py`).
        if !name.ends_with(".py") || name == "__init__.py" || name.starts_with(".#") {
            return false;
        }
        let folder = self.folder(folder_of(path));
        !folder.in_pycache && folder.location.as_ref().is_some_and(Option::is_some)
    }

    /// Is `path` a file of an environment's own folder (`env.py`, a helper next to it)? Such
    /// files are neither revisions nor Django migrations, even in a folder named `migrations`.
    pub fn is_environment_file(&mut self, path: &Path) -> bool {
        let dir = self.entry(folder_of(path)).absolute.clone();
        (self.holds_env(&dir) && dir.join("versions").is_dir())
            || self.locations.iter().any(|(_, script)| *script == dir)
    }

    /// The version locations of the environment whose revisions the folder `dir` holds: what a
    /// file or folder inside it is replayed with.
    pub fn version_locations_of(&mut self, dir: &Path) -> Option<Vec<PathBuf>> {
        let dir = self.absolute(dir);
        let script = self.location_of(&dir)?;
        let named: Vec<PathBuf> =
            self.locations.iter().filter(|(_, s)| *s == script).map(|(versions, _)| versions.clone()).collect();
        Some(if named.is_empty() { vec![script.join("versions")] } else { named })
    }

    /// The script location a revision belongs to: revisions with the same one share a graph.
    pub fn environment_of(&mut self, path: &Path) -> PathBuf {
        let folder = self.folder(folder_of(path));
        folder.location.clone().flatten().unwrap_or_else(|| folder.absolute.clone())
    }

    /// What is known of `folder` (as given), with its location judged.
    fn folder(&mut self, folder: &Path) -> &Folder {
        let entry = self.entry(folder);
        if entry.location.is_none() {
            let absolute = entry.absolute.clone();
            let location = self.location_of(&absolute);
            self.entry(folder).location = Some(location);
        }
        self.entry(folder)
    }

    fn entry(&mut self, folder: &Path) -> &mut Folder {
        // Keyed by the raw path: hashing a `Path` takes it apart component by component.
        if !self.folders.contains_key(folder.as_os_str()) {
            let absolute = self.absolute(folder);
            let in_pycache = absolute.components().any(|c| c.as_os_str() == "__pycache__");
            let fresh = Folder { absolute, searched: false, location: None, in_pycache };
            self.folders.insert(folder.as_os_str().to_owned(), fresh);
        }
        self.folders.get_mut(folder.as_os_str()).expect("inserted above")
    }

    /// The script location whose revisions the folder `dir` (absolute) holds.
    fn location_of(&mut self, dir: &Path) -> Option<PathBuf> {
        let named = self.locations.iter().filter(|(versions, _)| dir.starts_with(versions));
        // The deepest location wins when locations nest.
        if let Some((_, script)) = named.max_by_key(|(versions, _)| versions.components().count()) {
            return Some(script.clone());
        }
        for dir in dir.ancestors() {
            let Some(parent) = dir.parent().filter(|_| dir.file_name().is_some_and(|n| n == "versions")) else {
                continue;
            };
            if self.holds_env(parent) {
                return Some(parent.to_path_buf());
            }
        }
        None
    }

    /// An absolute path with `.` and `..` resolved lexically (symlinks are left alone, so the
    /// paths still start with what the user typed after the working directory).
    fn absolute(&mut self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            return normalize(path);
        }
        let cwd = self.cwd.get_or_insert_with(|| std::env::current_dir().unwrap_or_default());
        normalize(&cwd.join(path))
    }

    fn holds_env(&mut self, dir: &Path) -> bool {
        if let Some(&known) = self.has_env.get(dir) {
            return known;
        }
        let holds = dir.join("env.py").is_file();
        self.has_env.insert(dir.to_path_buf(), holds);
        holds
    }
}

/// Is this file an Alembic revision by its content? A revision assigns `revision` and
/// `down_revision` at module level and defines `upgrade()`: enough to recognise one with no
/// `env.py` or `alembic.ini` in reach, and never true of a Django migration.
pub fn reads_as_revision(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| is_revision_text(&text))
}

fn is_revision_text(text: &str) -> bool {
    let assigns = |name: &str| {
        text.lines().any(|line| {
            line.strip_prefix(name).is_some_and(|rest| {
                let rest = rest.trim_start();
                // `down_revision: Union[str, None] = …` (typed, as newer templates write it).
                (rest.starts_with('=') && !rest.starts_with("==")) || rest.starts_with(':')
            })
        })
    };
    assigns("revision") && assigns("down_revision") && text.lines().any(|l| l.starts_with("def upgrade("))
}

/// `(script location, version locations)` for every section of an `alembic.ini` that sets
/// `script_location` (the `[alembic]` section, and named ones for `alembic -n`).
fn ini_locations(text: &str, here: &Path) -> Vec<(PathBuf, Vec<PathBuf>)> {
    let mut out = vec![];
    for section in ini_sections(text) {
        let get = |key: &str| section.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let Some(script) = get("script_location").and_then(|s| ini_path(s, here)) else { continue };
        let versions: Vec<PathBuf> = match get("version_locations") {
            Some(list) => list
                .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
                .filter(|s| !s.is_empty())
                .filter_map(|s| ini_path(s, here))
                .collect(),
            None => vec![script.join("versions")],
        };
        out.push((script, versions));
    }
    out
}

/// The sections of an ini file as `key = value` lists; indented lines continue a value, the
/// way Python's configparser reads them.
fn ini_sections(text: &str) -> Vec<Vec<(String, String)>> {
    let mut sections: Vec<Vec<(String, String)>> = vec![];
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            sections.push(vec![]);
            continue;
        }
        let Some(section) = sections.last_mut() else { continue };
        let continuation = line.starts_with(char::is_whitespace);
        match (continuation, section.last_mut(), trimmed.split_once(['=', ':'])) {
            (true, Some((_, value)), _) => {
                value.push('\n');
                value.push_str(trimmed);
            }
            (_, _, Some((key, value))) => section.push((key.trim().to_string(), value.trim().to_string())),
            _ => {}
        }
    }
    sections
}

/// An ini path value: `%(here)s` is the ini's folder, relative paths are relative to it (where
/// `alembic` is run from). Package resources (`myapp:migrations`) cannot be resolved statically.
fn ini_path(value: &str, here: &Path) -> Option<PathBuf> {
    let value = value.replace("%(here)s", &here.to_string_lossy()).replace("%%", "%");
    let value = value.trim();
    if value.is_empty() || (value.contains(':') && !Path::new(value).is_absolute()) {
        return None;
    }
    Some(normalize(&here.join(value)))
}

/// The folder a file is in, as given (`""` for a bare file name).
fn folder_of(file: &Path) -> &Path {
    file.parent().unwrap_or(Path::new(""))
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_names_script_and_version_locations() {
        let text = "[alembic]\nscript_location = %(here)s/db\nversion_locations = %(here)s/a/versions\n    %(here)s/b\n\n[loggers]\nkeys = root\n";
        let found = ini_locations(text, Path::new("/p"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, PathBuf::from("/p/db"));
        assert_eq!(found[0].1, vec![PathBuf::from("/p/a/versions"), PathBuf::from("/p/b")]);
    }

    #[test]
    fn default_version_location_and_package_resources() {
        let found = ini_locations("[alembic]\nscript_location = migrations\n", Path::new("/p"));
        assert_eq!(found[0].1, vec![PathBuf::from("/p/migrations/versions")]);
        assert!(ini_locations("[alembic]\nscript_location = myapp:migrations\n", Path::new("/p")).is_empty());
    }

    #[test]
    fn a_revision_is_recognised_by_its_content() {
        let typed =
            "revision: str = 'a1'\ndown_revision: Union[str, None] = None\n\ndef upgrade() -> None:\n    pass\n";
        assert!(is_revision_text(typed));
        assert!(is_revision_text("revision = 'b2'\ndown_revision = 'a1'\ndef upgrade():\n    pass\n"));
        let django = "class Migration(migrations.Migration):\n    dependencies = []\n";
        assert!(!is_revision_text(django));
        assert!(!is_revision_text("revision = 'x'\ndef upgrade():\n    pass\n"));
    }

    #[test]
    fn revisions_sit_under_versions_next_to_env_py() {
        let dir = tempfile::tempdir().expect("temp dir");
        let env = dir.path().join("db");
        std::fs::create_dir_all(env.join("versions/sub")).expect("mkdir");
        std::fs::write(env.join("env.py"), "").expect("write");
        let mut environments = Environments::default();
        assert!(environments.is_revision(&env.join("versions/abc_init.py")));
        assert!(environments.is_revision(&env.join("versions/sub/def_more.py")));
        assert!(!environments.is_revision(&env.join("versions/__init__.py")));
        assert!(!environments.is_revision(&env.join("env.py")));
        assert!(environments.is_environment_file(&env.join("env.py")));
        assert!(environments.is_environment_file(&env.join("helpers.py")));
        assert!(!environments.is_revision(&dir.path().join("versions/x.py")));
        assert_eq!(environments.environment_of(&env.join("versions/sub/def_more.py")), normalize(&env));
    }
}
