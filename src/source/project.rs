//! The project a path belongs to, found by walking up from it as `git` finds `.git`: a file or
//! folder inside a project is linted with the history before it. `lockgate lint
//! shop/migrations/0004_x.py` replays every app's migrations (0004 may depend on any of them)
//! and reports 0004; `lockgate lint versions/abc.py` replays its Alembic environment.

use std::path::{Path, PathBuf};

use super::alembic::{self, Environments};
use super::django::modules::MigrationModules;

/// The folders whose migrations must be replayed for `path` to be read with its history, or
/// nothing when `path` is itself the whole of what it belongs to (or belongs to nothing).
pub fn context_of(path: &Path, modules: &mut MigrationModules, environments: &mut Environments) -> Vec<PathBuf> {
    let Ok(absolute) = std::fs::canonicalize(path) else { return vec![] };
    let dir = if absolute.is_dir() { absolute.clone() } else { parent(&absolute) };
    if let Some(folders) = django_context(&dir, modules) {
        return folders;
    }
    environments.add_ancestors_of(&absolute);
    if let Some(locations) = environments.version_locations_of(&dir) {
        return locations;
    }
    let is_file = |ext: &str| absolute.is_file() && absolute.extension().is_some_and(|e| e == ext);
    if is_file("py") && alembic::reads_as_revision(&absolute) {
        // A revision with no environment in reach: its folder is its history.
        return vec![dir];
    }
    if is_file("sql") || (absolute.is_dir() && dir.join("up.sql").is_file()) {
        // diesel keeps each migration in a folder of its own (`<version>_<name>/up.sql`).
        let diesel = dir.join("up.sql").is_file();
        return vec![if diesel { parent(&dir) } else { dir }];
    }
    vec![]
}

fn parent(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_else(|| path.to_path_buf())
}

/// For a path inside a Django app (its migrations folder, a file in it, or the app's own
/// folder): every migrations folder of the project, since a migration may depend on any app.
fn django_context(dir: &Path, modules: &mut MigrationModules) -> Option<Vec<PathBuf>> {
    let root_hint = project_root(dir);
    if let Some(root) = &root_hint {
        modules.add_project(root);
    }
    let named = dir.file_name().is_some_and(|n| n == "migrations") && is_django_package(dir);
    let migrations = if named || modules.label_of(dir).is_some() {
        dir.to_path_buf()
    } else if is_django_package(&dir.join("migrations")) {
        dir.join("migrations")
    } else {
        return None;
    };
    let app = parent(&migrations);
    let root = root_hint.or_else(|| {
        // No `manage.py`: the folder that holds the app and its sibling apps.
        let holder = parent(&app);
        sibling_apps(&holder, &app).then_some(holder)
    });
    let Some(root) = root else { return Some(vec![migrations]) };
    let mut folders = migrations_folders(&root);
    folders.extend(modules.folders_under(&root).map(Path::to_path_buf));
    if !folders.contains(&migrations) {
        folders.push(migrations);
    }
    Some(folders)
}

/// Is the folder a Django migrations package? Django loads migrations only from a package
/// with `__init__.py`, which tells it from a folder of SQL files named `migrations`; an Alembic
/// script location is often named `migrations` too, but holds `env.py`.
fn is_django_package(dir: &Path) -> bool {
    dir.join("__init__.py").is_file() && !dir.join("env.py").is_file()
}

/// The Django project root above `dir`: the nearest folder with `manage.py`, searched no
/// further than the repository's root.
pub(crate) fn project_root(dir: &Path) -> Option<PathBuf> {
    for ancestor in dir.ancestors() {
        if ancestor.join("manage.py").is_file() {
            return Some(ancestor.to_path_buf());
        }
        if ancestor.join(".git").exists() {
            return None;
        }
    }
    None
}

fn sibling_apps(holder: &Path, app: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(holder) else { return false };
    entries.filter_map(Result::ok).map(|e| e.path()).any(|p| p != app && is_django_package(&p.join("migrations")))
}

/// Every Django migrations folder under `root` (not inside hidden folders or installed code).
fn migrations_folders(root: &Path) -> Vec<PathBuf> {
    let mut folders = vec![];
    let mut walk = walkdir::WalkDir::new(root).sort_by_file_name().into_iter();
    while let Some(entry) = walk.next() {
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_dir() || entry.depth() == 0 {
            continue;
        }
        if super::is_foreign_dir(&entry) {
            walk.skip_current_dir();
            continue;
        }
        if entry.file_name() == "migrations" && is_django_package(entry.path()) {
            folders.push(entry.into_path());
            walk.skip_current_dir();
        }
    }
    folders
}
