//! Where a Django project keeps each app's migrations: `<app>/migrations/` by default, or the
//! package `MIGRATION_MODULES` names in the settings (DefectDojo keeps `dojo`'s in
//! `dojo/db_migrations/`). The settings are read statically where the setting is a literal
//! dict of strings; otherwise `[django] migration_modules` in lockgate.toml names the folders.

use std::path::{Path, PathBuf};

use crate::config::Config;

/// Migration folders that are not named `migrations`, each with its app label.
#[derive(Debug, Default, Clone)]
pub struct MigrationModules {
    /// `(folder, label)`, folders absolute and canonical.
    folders: Vec<(PathBuf, String)>,
    /// Project roots already searched for settings.
    searched: Vec<PathBuf>,
}

impl MigrationModules {
    /// The folders lockgate.toml names (relative to its folder).
    pub fn from_config(config: &Config) -> MigrationModules {
        let base = config.path.as_deref().and_then(Path::parent).unwrap_or(Path::new("."));
        let mut modules = MigrationModules::default();
        for (label, folder) in &config.django.migration_modules {
            let folder = base.join(folder);
            modules.add(&folder, label);
        }
        modules
    }

    fn add(&mut self, folder: &Path, label: &str) {
        if let Ok(folder) = std::fs::canonicalize(folder) {
            if !self.folders.iter().any(|(f, _)| *f == folder) {
                self.folders.push((folder, label.to_string()));
            }
        }
    }

    /// Reads `MIGRATION_MODULES` from the settings modules of the project at `root`.
    pub fn add_project(&mut self, root: &Path) {
        let Ok(root) = std::fs::canonicalize(root) else { return };
        if self.searched.contains(&root) {
            return;
        }
        self.searched.push(root.clone());
        for settings in settings_files(&root) {
            let Ok(text) = std::fs::read_to_string(&settings) else { continue };
            for (label, module) in literal_migration_modules(&text) {
                if let Some(folder) = module_folder(&settings, &root, &module) {
                    self.add(&folder, &label);
                }
            }
        }
    }

    /// The app label of a migrations folder that `MIGRATION_MODULES` moved, if `folder` is one.
    pub fn label_of(&self, folder: &Path) -> Option<&str> {
        let canonical = std::fs::canonicalize(folder).ok()?;
        self.folders.iter().find(|(f, _)| *f == canonical).map(|(_, label)| label.as_str())
    }

    /// The moved migration folders under `root`.
    pub fn folders_under<'a>(&'a self, root: &'a Path) -> impl Iterator<Item = &'a Path> + 'a {
        self.folders.iter().map(|(f, _)| f.as_path()).filter(move |f| f.starts_with(root))
    }
}

/// Settings modules of a project: `settings.py`, `settings_*.py`, `settings.*.py`, and the
/// modules of a `settings/` package, a few folders deep (never inside hidden or installed code).
fn settings_files(root: &Path) -> Vec<PathBuf> {
    let walk = walkdir::WalkDir::new(root).max_depth(4).sort_by_file_name();
    let foreign = |e: &walkdir::DirEntry| {
        e.depth() > 0 && (crate::source::is_foreign_dir(e) || (e.file_type().is_dir() && e.file_name() == "migrations"))
    };
    walk.into_iter()
        .filter_entry(|e| !foreign(e))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            let name = e.file_name().to_string_lossy();
            let in_package = e.path().parent().and_then(Path::file_name).is_some_and(|p| p == "settings");
            name.ends_with(".py") && (name.starts_with("settings") || in_package)
        })
        .map(|e| e.into_path())
        .collect()
}

/// The folder of the dotted `module`, as Python finds it from the project: from the settings
/// file's folder upwards to `root`, the first folder that holds the module's top package.
fn module_folder(settings: &Path, root: &Path, module: &str) -> Option<PathBuf> {
    let relative: PathBuf = module.split('.').collect();
    let top = module.split('.').next()?;
    settings
        .ancestors()
        .skip(1)
        .take_while(|dir| dir.starts_with(root))
        .find(|dir| dir.join(top).is_dir())
        .map(|dir| dir.join(&relative))
        .filter(|folder| folder.is_dir())
}

/// `(label, module)` pairs of a `MIGRATION_MODULES = {"app": "pkg.module", …}` literal; an
/// entry mapped to `None` (migrations disabled) is left out, and a value built at run time
/// makes the whole setting unreadable (nothing is returned).
pub fn literal_migration_modules(text: &str) -> Vec<(String, String)> {
    let Some(start) = text
        .lines()
        .scan(0, |offset, line| {
            let at = *offset;
            *offset += line.len() + 1;
            Some((at, line))
        })
        .find(|(_, line)| {
            let rest = line.strip_prefix("MIGRATION_MODULES").map(str::trim_start);
            rest.is_some_and(|r| r.starts_with('=') && !r.starts_with("=="))
        })
        .map(|(at, _)| at)
    else {
        return vec![];
    };
    let after = &text[start..];
    let Some(open) = after.find('{') else { return vec![] };
    if after[..open].contains('\n') {
        return vec![];
    }
    let Some(close) = after[open..].find('}') else { return vec![] };
    let body = &after[open + 1..open + close];
    let mut out = vec![];
    for entry in body.split(',').map(strip_comment).map(str::trim).filter(|e| !e.is_empty()) {
        let Some((key, value)) = entry.split_once(':') else { return vec![] };
        let Some(label) = string_literal(key.trim()) else { return vec![] };
        match value.trim() {
            "None" => {}
            value => match string_literal(value) {
                Some(module) => out.push((label, module)),
                None => return vec![],
            },
        }
    }
    out
}

fn strip_comment(entry: &str) -> &str {
    entry.lines().map(|l| l.split('#').next().unwrap_or_default()).find(|l| !l.trim().is_empty()).unwrap_or("")
}

/// The text of a plain Python string literal (`"x"` or `'x'`).
fn string_literal(text: &str) -> Option<String> {
    let quote = text.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = text.strip_prefix(quote)?.strip_suffix(quote)?;
    (!inner.contains(quote) && !inner.contains('\\')).then(|| inner.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_literal_setting() {
        let text = "X = 1\nMIGRATION_MODULES = {\n    'dojo': 'dojo.db_migrations',  # moved\n    \"old\": None,\n}\n";
        assert_eq!(literal_migration_modules(text), vec![("dojo".into(), "dojo.db_migrations".into())]);
    }

    #[test]
    fn a_setting_built_at_run_time_is_not_guessed() {
        assert!(literal_migration_modules("MIGRATION_MODULES = {'a': base + '.m'}\n").is_empty());
        assert!(literal_migration_modules("MIGRATION_MODULES = make()\n").is_empty());
        assert!(literal_migration_modules("if MIGRATION_MODULES == {'a': 'b'}: pass\n").is_empty());
    }
}
