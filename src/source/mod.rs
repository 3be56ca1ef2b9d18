//! Discovery (paths → migration files in runner order) and loading (files → `Migration`s).

pub mod alembic;
pub mod directives;
pub mod django;
pub mod editor_sql;
pub mod layout;
pub mod project;
pub mod python;
pub mod sql;
pub mod tree;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::{Glob, GlobSet, GlobSetBuilder};
use rayon::prelude::*;

use crate::config::Config;
use crate::ir::{Framework, Migration, Op, OpKind, SourceFile, Span, TransactionMode};
use layout::{Layout, MigrationFile};
use tree::FileTree;

/// A problem with an input path that stops it from being read at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: no such file or directory{}; give migration files, or folders that hold them", in_folder(path))]
    Missing { path: PathBuf },
    #[error("{path}: cannot be read ({source}); lockgate must read every migration it is given")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("{path}: no such file or directory in {place}")]
    MissingIn { path: PathBuf, place: &'static str },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "no migrations found in {paths}: lockgate looked for Django migrations (`<app>/migrations/*.py`, \
         or a folder `MIGRATION_MODULES` names), Alembic revisions (`.py` files that assign `revision` and \
         `down_revision` and define `upgrade()`) and SQL migrations (`*.sql`){filters}; \
         pass --allow-empty if finding none is expected"
    )]
    NoMigrations { paths: String, filters: String },
}

impl InputError {
    /// The error for a run that found nothing to read in `paths`.
    pub fn no_migrations(paths: &[PathBuf], config: &Config) -> InputError {
        let paths: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
        let mut filters = String::new();
        if !config.include.is_empty() {
            filters.push_str(&format!(", only where `include` matches ({})", config.include.join(", ")));
        }
        if !config.exclude.is_empty() {
            filters.push_str(&format!(", except where `exclude` matches ({})", config.exclude.join(", ")));
        }
        InputError::NoMigrations { paths: paths.join(", "), filters }
    }
}

/// For a relative path that does not exist: the folder it was looked for in.
fn in_folder(path: &Path) -> String {
    match std::env::current_dir() {
        Ok(cwd) if path.is_relative() => format!(" (looked for in {})", cwd.display()),
        _ => String::new(),
    }
}

/// Can the file be read? Opened and its first byte read, which is where a file the user may
/// not read, or one whose storage fails, says so; named in the error as `given`.
fn check_readable(path: &Path, given: &Path) -> Result<(), InputError> {
    let unreadable = |source| InputError::Unreadable { path: given.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    file.read(&mut [0u8; 1]).map_err(unreadable)?;
    Ok(())
}

/// What to read: paths given on the command line (`-` is standard input).
pub struct InputPaths<'a> {
    pub paths: &'a [PathBuf],
    /// The name to show for standard input.
    pub stdin_name: &'a str,
}

/// The migration files found under the inputs, by front end.
#[derive(Debug, Default)]
pub struct Discovered {
    /// SQL files, in the order their runners apply them.
    pub sql: Vec<MigrationFile>,
    /// Django migration modules; ordered later, by their dependency graph.
    pub django: Vec<PathBuf>,
    /// Alembic revision scripts; ordered later, by their revision graph.
    pub alembic: Vec<PathBuf>,
    /// Django migration folders moved by `MIGRATION_MODULES`, with their app labels.
    pub django_modules: django::modules::MigrationModules,
    /// For a git snapshot: each input path as given, with its location in the snapshot, so
    /// files are shown by the paths the user knows.
    origins: Vec<(PathBuf, PathBuf)>,
    /// Each input path that names a folder by another name (`.`, `..`, a symbolic link), with
    /// the folder it was read as: its files are shown under the path as given.
    aliases: Vec<(PathBuf, PathBuf)>,
    /// The working directory, which absolute paths are shown relative to.
    cwd: Option<PathBuf>,
    /// The frameworks and layouts the files were recognised as.
    pub recognised: Recognised,
}

impl Discovered {
    /// Nothing read is an error, unless the run allows it: a gate that looked at nothing must
    /// not pass.
    /// A run that loaded no migration from what it discovered is an error unless allowed: what
    /// discovery found may still hold none (a `migrations` package of another tool's files).
    pub fn require_migrations(
        loaded: &[Migration],
        paths: &[PathBuf],
        config: &Config,
        allow_empty: bool,
    ) -> Result<(), InputError> {
        if loaded.is_empty() && !allow_empty {
            return Err(InputError::no_migrations(paths, config));
        }
        Ok(())
    }
}

/// The frameworks and runner layouts a run recognised, for its summary: a run that read nothing
/// it expected says so (`3 Django apps, 1 Alembic environment, golang-migrate`).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recognised {
    /// Django apps: distinct folders holding migrations.
    pub django_apps: usize,
    /// Alembic environments: distinct script locations (or revision folders without one).
    pub alembic_environments: usize,
    /// The SQL runner layouts seen, by name, sorted.
    pub sql_layouts: Vec<&'static str>,
    /// SQL files a folder walk found outside any migrations folder, with no version in their
    /// name (a query, a psql init script): not read as migrations. Named, they are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sql_not_read: Vec<PathBuf>,
}

impl Recognised {
    /// Did the run find anything to read?
    pub fn is_empty(&self) -> bool {
        self.django_apps == 0 && self.alembic_environments == 0 && self.sql_layouts.is_empty()
    }
}

impl std::fmt::Display for Recognised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = vec![];
        if self.django_apps > 0 {
            parts.push(count(self.django_apps, "Django app", "Django apps"));
        }
        if self.alembic_environments > 0 {
            parts.push(count(self.alembic_environments, "Alembic environment", "Alembic environments"));
        }
        parts.extend(self.sql_layouts.iter().map(|s| s.to_string()));
        if parts.is_empty() {
            f.write_str("nothing recognised")?;
        } else {
            f.write_str(&parts.join(", "))?;
        }
        if let Some(first) = self.sql_not_read.first() {
            let others = self.sql_not_read.len() - 1;
            let more = if others > 0 { format!(" and {others} more") } else { String::new() };
            write!(f, "; not read as migrations, outside any migrations folder: {}{more}", first.display())?;
        }
        Ok(())
    }
}

impl Discovered {
    /// The path to show for a discovered file.
    pub fn display(&self, path: &Path) -> PathBuf {
        for (given, location) in &self.origins {
            if let Ok(rest) = path.strip_prefix(location) {
                let shown = if rest.as_os_str().is_empty() { given.clone() } else { given.join(rest) };
                // `--diff` with no paths lints the repository root, given as `.`: show `db/x.sql`.
                let shown = shown.strip_prefix(".").map(Path::to_path_buf).unwrap_or(shown);
                return self.relative_to_cwd(&shown);
            }
        }
        for (given, location) in &self.aliases {
            if let Ok(rest) = path.strip_prefix(location) {
                return given.join(rest);
            }
        }
        self.relative_to_cwd(path)
    }

    fn relative_to_cwd(&self, path: &Path) -> PathBuf {
        let inside = self.cwd.as_deref().and_then(|cwd| path.strip_prefix(cwd).ok());
        inside.unwrap_or(path).to_path_buf()
    }
}

/// Finds the migration files under the inputs, in the working tree.
pub fn discover(inputs: &InputPaths, config: &Config) -> Result<Discovered, InputError> {
    discover_in(&FileTree::WorkTree, inputs, config)
}

/// Finds the migration files under the inputs, in the given tree.
pub fn discover_in(tree: &FileTree, inputs: &InputPaths, config: &Config) -> Result<Discovered, InputError> {
    let include = glob_set(&config.include);
    let exclude = glob_set(&config.exclude);
    let mut files = vec![];
    // Python files are sorted out after the walk, once every `alembic.ini` has been seen:
    // `(path, given directly on the command line)`.
    let mut python = vec![];
    let mut alembic_environments = alembic::Environments::default();
    let mut modules = django::modules::MigrationModules::from_config(config);
    let mut aliases = vec![];
    // SQL files with no version in their name, found by a walk: `(file, the folder walked)`.
    let mut loose = vec![];
    for path in inputs.paths {
        if path.as_os_str() == "-" {
            files.push(MigrationFile::stdin(inputs.stdin_name));
            continue;
        }
        let given = path;
        let path = &tree.locate(given);
        // `.` and `..` name no folder, and a symbolic link names another: walk the folder they
        // stand for, so the files inside are seen in their app's `migrations` folder
        // (`cd shop/migrations && lockgate lint .`). Files are still shown as under the path given.
        let resolved;
        let path = match (tree, path.file_name()) {
            (FileTree::WorkTree, name) if name.is_none() || path.is_symlink() => {
                resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
                aliases.push((given.clone(), resolved.clone()));
                &resolved
            }
            _ => path,
        };
        if !path.exists() {
            return Err(match tree {
                FileTree::WorkTree => InputError::Missing { path: given.clone() },
                FileTree::GitVersion(_) => InputError::MissingIn { path: given.clone(), place: tree.describe() },
            });
        }
        alembic_environments.add_ancestors_of(path);
        if let Some(root) = std::fs::canonicalize(path).ok().and_then(|p| project::project_root(&p)) {
            modules.add_project(&root);
        }
        if path.is_file() {
            check_readable(path, given)?;
            if path.extension().is_some_and(|e| e == "py") {
                python.push((path.clone(), true));
            } else {
                files.push(MigrationFile::classify(path));
            }
            continue;
        }
        // Siblings share their parent's path, so comparing whole paths orders them by file name
        // without taking each path apart (as `sort_by_file_name` does, per comparison).
        let walk = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by(|a, b| a.path().as_os_str().cmp(b.path().as_os_str()));
        for entry in walk.into_iter().filter_entry(|e| e.depth() == 0 || !is_foreign_dir(e)) {
            let entry = entry.map_err(|e| InputError::Io { path: given.clone(), source: e.into() })?;
            let file = entry.path();
            if entry.file_type().is_file() && entry.file_name() == "alembic.ini" {
                alembic_environments.add_ini(file);
            }
            let sql = file.extension().is_some_and(|e| e == "sql");
            let py = file.extension().is_some_and(|e| e == "py");
            if !entry.file_type().is_file() || !(sql || py) {
                continue;
            }
            let relative = || file.strip_prefix(path).unwrap_or(file);
            if include.as_ref().is_some_and(|set| !set.is_match(relative()))
                || exclude.as_ref().is_some_and(|set| set.is_match(relative()))
            {
                continue;
            }
            if py {
                python.push((file.to_path_buf(), false));
            } else {
                let classified = MigrationFile::classify(file);
                match classified.layout {
                    Layout::Plain => loose.push((classified, path.clone())),
                    _ => files.push(classified),
                }
            }
        }
    }
    let sql_not_read = keep_migrations(loose, &mut files);
    let mut django = vec![];
    let mut alembic = vec![];
    // Folder → was it moved by `MIGRATION_MODULES` (asked once per folder).
    let mut moved: HashMap<PathBuf, bool> = HashMap::new();
    let mut in_moved = |file: &Path| {
        let folder = file.parent().unwrap_or(Path::new(""));
        *moved.entry(folder.to_path_buf()).or_insert_with(|| modules.label_of(folder).is_some())
    };
    for (file, direct) in python {
        if alembic_environments.is_revision(&file) {
            alembic.push(file);
        } else if alembic_environments.is_environment_file(&file) {
            continue;
        } else if django::is_migration(&file) || (django::is_migration_name(&file) && in_moved(&file)) {
            django.push(file);
        } else if (direct || django::is_migration_name(&file)) && alembic::reads_as_revision(&file) {
            // A revision with no `env.py` or `alembic.ini` in reach.
            alembic.push(file);
        } else if direct {
            django.push(file);
        }
    }
    for list in [&mut django, &mut alembic] {
        // A single folder's walk is in order already; comparing paths takes them apart.
        if !list.is_sorted() {
            list.sort();
        }
        list.dedup();
    }
    files.retain(|f| config.lint_down || !f.down);
    files.sort_by_cached_key(MigrationFile::order_key);
    files.dedup_by(|a, b| a.path == b.path && a.path.as_os_str() != "-");
    let recognised = recognise(&files, &django, &alembic, &mut alembic_environments);
    let mut discovered = Discovered {
        sql: files,
        django,
        alembic,
        django_modules: modules,
        origins: tree.origins(),
        aliases,
        cwd: std::env::current_dir().ok(),
        recognised,
    };
    discovered.recognised.sql_not_read = sql_not_read.iter().map(|p| discovered.display(p)).collect();
    Ok(discovered)
}

/// Of the SQL files a walk found with no version in their name, keeps as migrations those in
/// the folder walked, beside versioned migrations, or under a folder named for migrations;
/// returns the others (a query file, a psql init script), which are not migrations.
fn keep_migrations(loose: Vec<(MigrationFile, PathBuf)>, files: &mut Vec<MigrationFile>) -> Vec<PathBuf> {
    let versioned: std::collections::HashSet<PathBuf> =
        files.iter().filter_map(|f| f.path.parent()).map(Path::to_path_buf).collect();
    // diesel runs only `<version>_<name>/up.sql`: a loose file beside those folders is not one
    // of its migrations (crates.io keeps a data script there).
    let diesel_roots: std::collections::HashSet<PathBuf> = files
        .iter()
        .filter(|f| f.layout == Layout::Diesel)
        .filter_map(|f| f.path.parent()?.parent())
        .map(Path::to_path_buf)
        .collect();
    let mut not_read = vec![];
    for (file, walked) in loose {
        let folder = file.path.parent().unwrap_or(Path::new(""));
        let named_for_migrations =
            folder.components().any(|c| c.as_os_str().to_string_lossy().to_ascii_lowercase().contains("migrat"));
        let migration = folder == walked || versioned.contains(folder) || named_for_migrations;
        match migration && !diesel_roots.contains(folder) {
            true => files.push(file),
            false => not_read.push(file.path),
        }
    }
    not_read
}

/// What the discovered files are: apps and environments counted, SQL layouts named.
fn recognise(
    sql: &[MigrationFile],
    django: &[PathBuf],
    alembic: &[PathBuf],
    environments: &mut alembic::Environments,
) -> Recognised {
    let apps: std::collections::HashSet<&Path> = django.iter().filter_map(|p| p.parent()).collect();
    let envs: std::collections::HashSet<PathBuf> = alembic.iter().map(|p| environments.environment_of(p)).collect();
    let mut layouts: Vec<&'static str> = vec![];
    // dbmate and goose files are numbered files told apart by markers inside: one file per
    // folder is read to name its runner (a folder holds one runner's migrations).
    let mut folders_named: std::collections::HashSet<&Path> = std::collections::HashSet::new();
    for file in sql {
        let name = match file.layout {
            _ if file.path.as_os_str() == "-" => "SQL from standard input",
            Layout::Numbered => {
                let folder = file.path.parent().unwrap_or(Path::new(""));
                if !folders_named.insert(folder) {
                    continue;
                }
                let text = std::fs::read_to_string(&file.path).unwrap_or_default();
                layout::refine(Layout::Numbered, &text).runner()
            }
            layout => layout.runner(),
        };
        if !layouts.contains(&name) {
            layouts.push(name);
        }
    }
    layouts.sort_unstable();
    Recognised { django_apps: apps.len(), alembic_environments: envs.len(), sql_layouts: layouts, sql_not_read: vec![] }
}

/// Folders that hold other people's code, never the project's own migrations: hidden ones
/// (`.git`, `.venv`, `.tox`) and installed packages. A virtualenv inside the project would
/// otherwise bring Django's own `contrib/*/migrations` into the lint of `.`.
fn is_foreign_dir(entry: &walkdir::DirEntry) -> bool {
    let name = entry.file_name().to_string_lossy();
    entry.file_type().is_dir() && (name.starts_with('.') || name == "site-packages" || name == "node_modules")
}

fn glob_set(patterns: &[String]) -> Option<GlobSet> {
    if patterns.is_empty() {
        return None;
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        // Validated when the config was loaded.
        if let Ok(glob) = Glob::new(pattern) {
            builder.add(glob);
        }
    }
    builder.build().ok()
}

/// Whether loading reads each migration's rollback where it is code of its own (Alembic's
/// `downgrade()`; Django's `reverse_sql` comes with its RunSQL): only the executor runs one,
/// so a lint skips it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollbacks {
    Read,
    Skip,
}

/// Reads and parses every file (in parallel): Django migrations in graph order, Alembic
/// revisions in graph order, then SQL files in runner order; rollbacks included.
pub fn load_all(discovered: &Discovered, config: &Config) -> Vec<Migration> {
    let mut migrations = vec![];
    load_each(discovered, config, Rollbacks::Read, |migration| migrations.push(migration));
    migrations
}

/// Files are turned into migrations a batch at a time: the first batches small, so the first
/// migrations are handed on early, later ones large enough to keep every core busy.
const FIRST_BATCH: usize = 16;
const LARGEST_BATCH: usize = 256;

/// Like [`load_all`], but hands each migration to `emit` as soon as it and every migration
/// before it are loaded, so the caller works on one batch while the next is made.
pub fn load_each(
    discovered: &Discovered,
    config: &Config,
    rollbacks: Rollbacks,
    mut emit: impl FnMut(Migration) + Send,
) {
    let placeholders = config.placeholders();
    let display = |path: &Path| discovered.display(path);
    {
        let mut framework = |mut migration: Migration| {
            editor_sql::complete(&mut migration);
            emit(migration)
        };
        django::load(&discovered.django, &discovered.django_modules, config, display, &mut framework);
        alembic::load(&discovered.alembic, config, rollbacks, display, &mut framework);
    }
    let sql = |file: &MigrationFile| {
        let shown = if file.path.as_os_str() == "-" { PathBuf::from(&file.id) } else { display(&file.path) };
        load_file(file, shown, config, &placeholders)
    };
    in_batches(&discovered.sql, sql, &mut emit);
}

/// Turns `items` into migrations in parallel a batch at a time, handing them to `emit` in order.
fn in_batches<T: Send>(
    items: impl IntoIterator<Item = T>,
    to_migration: impl Fn(T) -> Migration + Sync + Send,
    emit: &mut (impl FnMut(Migration) + Send),
) {
    pipelined(batches(items), |batch| batch.into_par_iter().map(&to_migration).collect(), emit);
}

/// `items` in batches of [`FIRST_BATCH`], then twice as many each time up to [`LARGEST_BATCH`].
fn batches<T>(items: impl IntoIterator<Item = T>) -> impl Iterator<Item = Vec<T>> {
    let mut items = items.into_iter();
    let mut size = FIRST_BATCH;
    std::iter::from_fn(move || {
        let batch: Vec<T> = items.by_ref().take(size).collect();
        size = (size * 2).min(LARGEST_BATCH);
        (!batch.is_empty()).then_some(batch)
    })
}

/// Makes the migrations of each batch with `make` and hands them to `emit` in order, one batch
/// handed on while the next is made. Both run on the thread pool, so a caller's work on a
/// migration (the replay, which must go in order) always has a core of its own, and the core
/// that makes batches is joined by the other one whenever it is free.
fn pipelined<B: Send>(
    batches: impl Iterator<Item = B>,
    mut make: impl FnMut(B) -> Vec<Migration> + Send,
    emit: &mut (impl FnMut(Migration) + Send),
) {
    let mut ready = vec![];
    for batch in batches {
        let hand_on = || ready.into_iter().for_each(&mut *emit);
        ready = rayon::join(hand_on, || make(batch)).1;
    }
    ready.into_iter().for_each(emit);
}

fn load_file(file: &MigrationFile, shown: PathBuf, config: &Config, placeholders: &[(String, String)]) -> Migration {
    let text = match read_text(file, config.max_file_bytes()) {
        Ok(text) => text,
        Err(reason) => return unreadable(file, shown, reason.to_string()),
    };
    let source = Arc::new(SourceFile::new(shown, text));
    let text = &source.text;
    let layout = layout::refine(file.layout, text);
    let sections = layout::up_sections(layout, text);
    let mut migration = Migration {
        id: file.id.clone(),
        source: source.clone(),
        framework: Framework::Sql,
        transaction: TransactionMode::Autocommit,
        ops: vec![],
        ignores: vec![],
        skipped_meta_commands: 0,
        psql_variables: 0,
        templates: 0,
        session: vec![],
        problems: vec![],
        parents: vec![],
        replaces: vec![],
        rollback: None,
    };
    let mut statements = 0;
    let mut wrapped = layout::runner_wraps(file, layout, config.sql.assume_in_transaction);
    for section in sections {
        let loaded = sql::load(text, section.range, placeholders, statements);
        statements += loaded.statements;
        migration.ops.extend(loaded.ops);
        migration.ignores.extend(loaded.directives.ignores);
        migration.problems.extend(loaded.directives.bad.into_iter().map(directives::problem));
        migration.skipped_meta_commands += loaded.meta_commands;
        migration.psql_variables += loaded.psql_variables;
        migration.templates += loaded.templates;
        if let Some(no_transaction) = section.no_transaction {
            wrapped = !no_transaction;
        }
        if let Some(over) = loaded.directives.transaction_override {
            wrapped = over;
        }
    }
    if layout == Layout::Flyway && migration.ops.iter().any(is_non_transactional) {
        // Flyway detects statements that cannot run in a transaction and runs the file without one.
        wrapped = false;
    }
    if layout == Layout::UpDownSuffix && statements == 1 && config.sql.assume_in_transaction.is_none() {
        // golang-migrate sends the file as one query string: a single statement runs on its own,
        // outside any transaction block.
        wrapped = false;
    }
    migration.transaction = if wrapped { TransactionMode::Wrapped } else { TransactionMode::Autocommit };
    migration
}

/// The statements Flyway's PostgreSQL parser recognises as non-transactional.
fn is_non_transactional(op: &Op) -> bool {
    matches!(op.kind, OpKind::CreateIndex { concurrently: true, .. } | OpKind::DropIndex { concurrently: true, .. })
}

/// Why a migration file's text could not be read: the file is still a migration, whose one
/// finding says why.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    #[error("cannot read standard input: {0}")]
    Stdin(#[source] std::io::Error),
    #[error("cannot read file: {0}")]
    Io(#[source] std::io::Error),
    #[error(
        "file is {} MB, above the {} MB limit; it was not analyzed (raise `max_file_bytes` in lockgate.toml to lint it)",
        size / MB,
        limit / MB
    )]
    TooLarge { size: u64, limit: u64 },
    #[error("binary file (it contains NUL bytes); not a SQL migration")]
    Binary,
    #[error("not valid UTF-8 (first bad byte on line {line}); save the file as UTF-8")]
    NotUtf8 { line: usize },
}

const MB: u64 = 1024 * 1024;

fn read_text(file: &MigrationFile, max_bytes: u64) -> Result<String, Unreadable> {
    let bytes = if file.path.as_os_str() == "-" {
        let mut bytes = vec![];
        std::io::stdin().read_to_end(&mut bytes).map_err(Unreadable::Stdin)?;
        bytes
    } else {
        read_file(&file.path, max_bytes)?
    };
    if bytes.iter().take(8192).any(|&b| b == 0) {
        return Err(Unreadable::Binary);
    }
    utf8(bytes)
}

/// A migration file's bytes, or why it was not read: a file above `max_bytes` is left out.
fn read_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, Unreadable> {
    let file = std::fs::File::open(path).map_err(Unreadable::Io)?;
    let size = file.metadata().map_err(Unreadable::Io)?.len();
    if size > max_bytes {
        return Err(Unreadable::TooLarge { size, limit: max_bytes });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    // Through `Take`, which reads into the buffer as sized: `File::read_to_end` asks the
    // file's size and position again, two more system calls for every file.
    file.take(u64::MAX).read_to_end(&mut bytes).map_err(Unreadable::Io)?;
    Ok(bytes)
}

/// A migration file's text and, when it could not be read, why (the text is then empty): the
/// file is still a migration, whose one finding says so.
pub(crate) fn read_source(path: &Path, max_bytes: u64) -> (String, Option<Unreadable>) {
    match read_file(path, max_bytes).and_then(utf8) {
        Ok(text) => (text, None),
        Err(reason) => (String::new(), Some(reason)),
    }
}

/// A migration file's text, or where it is not UTF-8.
fn utf8(bytes: Vec<u8>) -> Result<String, Unreadable> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = std::str::from_utf8(&e.as_bytes()[..at]).map_or(1, |valid| crate::ir::line_starts(valid).len());
        Unreadable::NotUtf8 { line }
    })
}

/// A file that could not be read becomes a migration with one `Unparsed` op, so it is reported
/// like any other statement that lockgate could not analyze.
fn unreadable(file: &MigrationFile, shown: PathBuf, reason: String) -> Migration {
    Migration {
        id: file.id.clone(),
        source: Arc::new(SourceFile::new(shown, String::new())),
        framework: Framework::Sql,
        transaction: TransactionMode::Autocommit,
        ops: vec![Op::new(OpKind::Unparsed { reason }, Span::default(), 0)],
        ignores: vec![],
        skipped_meta_commands: 0,
        psql_variables: 0,
        templates: 0,
        session: vec![],
        problems: vec![],
        parents: vec![],
        replaces: vec![],
        rollback: None,
    }
}
