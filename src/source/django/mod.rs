//! The Django front end: `<app>/migrations/*.py` read statically, ordered by the dependency
//! graph, and lowered to ops while the model state is replayed across every app.

mod check;
mod lower;
pub mod modules;
mod parse;
mod project_fields;
mod run_python;
mod sql;
pub mod state;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::config::Config;
use crate::ir::{Framework, Migration, Op, OpKind, Problem, ProblemKind, SourceFile, Span, TransactionMode};
use crate::source::directives;
use crate::source::python::{Module, ProjectPython};
use modules::MigrationModules;
use parse::{Dependency, Key, ParsedMigration};
use state::ProjectState;

/// Is this file a Django migration module? (`<app>/migrations/<name>.py`, not `_…`/`~…`.)
pub fn is_migration(path: &Path) -> bool {
    let in_migrations = path.parent().and_then(|p| p.file_name()).is_some_and(|d| d == "migrations");
    in_migrations && is_migration_name(path)
}

/// Is the file named as a migration module can be (`<name>.py`, not `_…`/`~…`)?
pub fn is_migration_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name.ends_with(".py") && !name.starts_with('_') && !name.starts_with('~')
}

/// The app label of each migrations folder: the folder that holds `migrations/`, unless the
/// config maps it or `MIGRATION_MODULES` moved the folder. Folders are resolved to where they
/// really are first, so the label never depends on how the path was spelled (`.`, `..`, a
/// symlink): `cd shop && lockgate lint .` still reads app `shop`.
fn app_labels<'a>(paths: &'a [PathBuf], modules: &MigrationModules, config: &Config) -> HashMap<&'a Path, String> {
    let mut labels = HashMap::new();
    for path in paths {
        let folder = path.parent().unwrap_or(Path::new(""));
        if labels.contains_key(folder) {
            continue;
        }
        let shown = if folder.as_os_str().is_empty() { Path::new(".") } else { folder };
        let real = std::fs::canonicalize(shown).unwrap_or_else(|_| shown.to_path_buf());
        let label = modules.label_of(&real).map(str::to_string).unwrap_or_else(|| {
            let app_dir = real.parent();
            let configured = config.django.app_labels.iter().find(|(dir, _)| {
                app_dir.is_some_and(|d| d.ends_with(dir.as_str()))
                    || folder.parent().is_some_and(|d| d.ends_with(dir.as_str()))
            });
            match configured {
                Some((_, label)) => label.clone(),
                None => app_dir.and_then(|d| d.file_name()).and_then(|n| n.to_str()).unwrap_or("app").to_string(),
            }
        });
        labels.insert(folder, label);
    }
    labels
}

fn label_of<'a>(labels: &'a HashMap<&Path, String>, path: &Path) -> &'a str {
    labels.get(path.parent().unwrap_or(Path::new(""))).map_or("app", String::as_str)
}

struct Loaded {
    key: Key,
    source: Arc<SourceFile>,
    parsed: Result<ParsedMigration, (Span, String)>,
    /// Another tool's file: it parses, defines no `class Migration` and never names Django.
    foreign: bool,
}

/// Reads every Django migration (in parallel), orders them like `manage.py migrate`, and lowers
/// them in that order, handing each to `emit`.
pub fn load(
    paths: &[PathBuf],
    modules: &MigrationModules,
    config: &Config,
    display: impl Fn(&Path) -> PathBuf + Sync,
    emit: &mut (impl FnMut(Migration) + Send),
) {
    let labels = app_labels(paths, modules, config);
    let (paths, shadowed) = one_folder_per_app(paths, &labels);
    let python = ProjectPython::default();
    let settings = state::DjangoSettings::from_config(&config.django);
    let loaded: Vec<Loaded> = paths
        .par_iter()
        .map(|path| {
            let app = label_of(&labels, path).to_string();
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            let (text, unreadable) = super::read_source(path, config.max_file_bytes());
            let source = Arc::new(SourceFile::new(display(path), text));
            let mut foreign = false;
            let parsed = match unreadable {
                Some(reason) => Err((Span::default(), reason.to_string())),
                None => match Module::parse_outline(source.text_lf(), &[]) {
                    None => Err((Span::default(), "the Python parser could not read this file".into())),
                    Some(module) => match parse::parse(&module, &app) {
                        Ok(mut parsed) => {
                            project_fields::resolve(&python, path, &settings, &mut parsed.operations);
                            Ok(parsed)
                        }
                        Err(failure) => {
                            let text = source.text_lf();
                            foreign = failure.no_migration_class && !text.trim().is_empty() && !text.contains("django");
                            Err((failure.span, failure.message))
                        }
                    },
                },
            };
            Loaded { key: (app, name), source, parsed, foreign }
        })
        .collect();
    let loaded = without_foreign_packages(loaded);

    let mut graph = Graph::new(&loaded, &settings);
    for (label, folder, count) in shadowed {
        let Some(host) = loaded.iter().position(|l| l.key.0 == label) else { continue };
        graph.problems.entry(host).or_default().push(Problem {
            kind: ProblemKind::MigrationGraph,
            span: Span::default(),
            message: format!(
                "app label `{label}` is also used by {} ({count} migrations), which lockgate did not lint: one run can only hold one app per label",
                folder.display()
            ),
            help: "lint that project in a run of its own, or set `exclude` in lockgate.toml".into(),
        });
    }
    let mut state = ProjectState::default();
    // Lowered in order, as each migration changes the project state the next one is read in.
    let lower_batch = |batch: Vec<usize>| {
        let lowered = batch.into_iter().map(|index| {
            let mut migration = lower_one(&loaded[index], &mut state, &settings);
            migration.problems.extend(graph.problems.get(&index).cloned().unwrap_or_default());
            migration
        });
        lowered.collect()
    };
    super::pipelined(super::batches(graph.order.iter().copied()), lower_batch, emit);
}

/// Leaves out the `migrations` packages whose every file is another tool's (a vector store's,
/// a plugin system's schema steps), which Django never loads; an app with a broken or empty
/// file stays, and that file is reported.
fn without_foreign_packages(loaded: Vec<Loaded>) -> Vec<Loaded> {
    let django_apps: HashSet<String> = loaded.iter().filter(|l| !l.foreign).map(|l| l.key.0.clone()).collect();
    loaded.into_iter().filter(|l| django_apps.contains(&l.key.0)).collect()
}

/// Keeps one migrations folder per app label (the first in path order): a test project or a
/// vendored copy often reuses an app's label, and Django itself only ever loads one. Returns
/// the kept paths and, per label, the folders left out with their file counts.
fn one_folder_per_app(
    paths: &[PathBuf],
    labels: &HashMap<&Path, String>,
) -> (Vec<PathBuf>, Vec<(String, PathBuf, usize)>) {
    let mut owner: HashMap<String, &Path> = HashMap::new();
    let mut kept = vec![];
    let mut shadowed: BTreeMap<(String, PathBuf), usize> = BTreeMap::new();
    for path in paths {
        let folder = path.parent().unwrap_or(path);
        let label = label_of(labels, path).to_string();
        match owner.get(&label) {
            Some(first) if *first != folder => *shadowed.entry((label, folder.to_path_buf())).or_default() += 1,
            Some(_) => kept.push(path.clone()),
            None => {
                owner.insert(label, folder);
                kept.push(path.clone());
            }
        }
    }
    (kept, shadowed.into_iter().map(|((label, folder), count)| (label, folder, count)).collect())
}

fn lower_one(loaded: &Loaded, state: &mut ProjectState, settings: &state::DjangoSettings) -> Migration {
    let (app, name) = &loaded.key;
    let mut migration = Migration {
        id: format!("{app}.{name}"),
        source: loaded.source.clone(),
        framework: Framework::Django,
        transaction: TransactionMode::Wrapped,
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
    let parsed = match &loaded.parsed {
        Ok(parsed) => parsed,
        Err((span, reason)) => {
            migration.ops.push(Op::new(OpKind::Unparsed { reason: reason.clone() }, *span, 0));
            return migration;
        }
    };
    if !parsed.atomic {
        migration.transaction = TransactionMode::Autocommit;
    }
    migration.replaces = parsed.replaces.iter().map(|(app, name)| format!("{app}.{name}")).collect();
    let mut lowering = lower::Lowering::new(app, state, settings, loaded.source.text_lf());
    for operation in &parsed.operations {
        lowering.operation(operation);
    }
    if let Some(what) = &parsed.dynamic_operations {
        let what = format!("`operations` built at run time ({what})");
        lowering.ops.push(Op::new(OpKind::Opaque { what }, parsed.operations_span, 0));
    }
    let text = &loaded.source.text;
    let (ops, operations) = lowering.finish();
    let found = directives::read(text, 0..text.len(), "#", &operations);
    migration.ops = ops;
    migration.ignores = found.ignores;
    migration.problems.extend(found.bad.into_iter().map(directives::problem));
    migration
}

/// The dependency graph of all migrations read, and the order `migrate` applies them in.
struct Graph {
    order: Vec<usize>,
    /// Problems to report on a migration (by index into the loaded list).
    problems: HashMap<usize, Vec<Problem>>,
}

impl Graph {
    fn new(loaded: &[Loaded], settings: &state::DjangoSettings) -> Graph {
        let mut problems: HashMap<usize, Vec<Problem>> = HashMap::new();
        let mut report = |index: usize, span: Span, message: String, help: &str| {
            problems.entry(index).or_default().push(Problem {
                kind: ProblemKind::MigrationGraph,
                span,
                message,
                help: help.into(),
            });
        };
        let index_of: HashMap<&Key, usize> = loaded.iter().enumerate().map(|(i, l)| (&l.key, i)).collect();
        // A squash replaces the migrations it lists when they are present: statically nothing is
        // applied, so Django uses the squash and drops the replaced nodes.
        let mut replaced_by: HashMap<usize, usize> = HashMap::new();
        for (i, l) in loaded.iter().enumerate() {
            if let Ok(parsed) = &l.parsed {
                for key in &parsed.replaces {
                    if let Some(&r) = index_of.get(key) {
                        replaced_by.insert(r, i);
                    }
                }
            }
        }
        let live = |i: usize| -> usize {
            let mut i = i;
            while let Some(&by) = replaced_by.get(&i) {
                if by == i {
                    break;
                }
                i = by;
            }
            i
        };
        let apps: BTreeSet<&str> = loaded.iter().map(|l| l.key.0.as_str()).collect();
        let mut parents: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for (i, l) in loaded.iter().enumerate() {
            if replaced_by.contains_key(&i) {
                continue;
            }
            parents.entry(i).or_default();
            let Ok(parsed) = &l.parsed else { continue };
            for (dependency, span) in &parsed.dependencies {
                let key = match dependency {
                    Dependency::Migration(key) => key.clone(),
                    Dependency::Swappable(_) => {
                        let (app, _) = settings.auth_user_model.split_once('.').unwrap_or(("auth", ""));
                        (app.to_string(), "__first__".to_string())
                    }
                };
                if !apps.contains(key.0.as_str()) {
                    continue; // an app outside the files read (django.contrib, a package)
                }
                match resolve_special(loaded, &index_of, &key, &replaced_by) {
                    Some(parent) if live(parent) != i => {
                        parents.entry(i).or_default().insert(live(parent));
                    }
                    Some(_) => {}
                    None => report(
                        i,
                        *span,
                        format!(
                            "depends on `{}.{}`, which is not among the migrations of app `{}`",
                            key.0, key.1, key.0
                        ),
                        "fix the dependency, or lint the folder that contains that migration too",
                    ),
                }
            }
            for key in &parsed.run_before {
                if let Some(&child) = index_of.get(key) {
                    parents.entry(live(child)).or_default().insert(i);
                }
            }
        }
        let (order, cycle) = post_order(loaded, &parents);
        if let Some(member) = cycle {
            report(
                member,
                Span::default(),
                "this migration is part of a dependency cycle; lockgate broke it to keep going, but `migrate` will refuse".into(),
                "remove one of the dependencies that close the cycle",
            );
        }
        let mut leaves: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let has_child: BTreeSet<usize> = parents.values().flatten().copied().collect();
        for &i in parents.keys() {
            if !has_child.contains(&i) {
                leaves.entry(loaded[i].key.0.as_str()).or_default().push(i);
            }
        }
        for (app, app_leaves) in leaves.into_iter().filter(|(_, l)| l.len() > 1) {
            let names: Vec<&str> = app_leaves.iter().map(|&i| loaded[i].key.1.as_str()).collect();
            report(
                app_leaves[app_leaves.len() - 1],
                Span::default(),
                format!(
                    "app `{app}` has {} leaf migrations ({}); `migrate` refuses until they are merged",
                    names.len(),
                    names.join(", ")
                ),
                "run `manage.py makemigrations --merge`",
            );
        }
        Graph { order, problems }
    }
}

/// `__first__` / `__latest__` and plain names, to an index.
fn resolve_special(
    loaded: &[Loaded],
    index_of: &HashMap<&Key, usize>,
    key: &Key,
    replaced_by: &HashMap<usize, usize>,
) -> Option<usize> {
    if let Some(&i) = index_of.get(key) {
        return Some(i);
    }
    let in_app = || loaded.iter().enumerate().filter(|(i, l)| l.key.0 == key.0 && !replaced_by.contains_key(i));
    match key.1.as_str() {
        "__first__" => in_app().min_by(|a, b| a.1.key.1.cmp(&b.1.key.1)).map(|(i, _)| i),
        "__latest__" => in_app().max_by(|a, b| a.1.key.1.cmp(&b.1.key.1)).map(|(i, _)| i),
        _ => None,
    }
}

/// Django's plan: for each leaf in key order, its ancestors in post-order, parents visited in
/// key order. Returns the order and, if a cycle was broken, one of its members.
fn post_order(loaded: &[Loaded], parents: &BTreeMap<usize, BTreeSet<usize>>) -> (Vec<usize>, Option<usize>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; loaded.len()];
    let mut order = vec![];
    let mut cycle = None;
    let mut roots: Vec<usize> = parents.keys().copied().collect();
    roots.sort_by(|&a, &b| loaded[a].key.cmp(&loaded[b].key));
    for root in roots {
        let mut stack = vec![(root, false)];
        while let Some((node, expanded)) = stack.pop() {
            if expanded {
                if mark[node] != Mark::Done {
                    mark[node] = Mark::Done;
                    order.push(node);
                }
                continue;
            }
            match mark[node] {
                Mark::Done => continue,
                Mark::Open => {
                    cycle.get_or_insert(node);
                    continue;
                }
                Mark::New => {}
            }
            mark[node] = Mark::Open;
            stack.push((node, true));
            let mut node_parents: Vec<usize> = parents.get(&node).into_iter().flatten().copied().collect();
            node_parents.sort_by(|&a, &b| loaded[b].key.cmp(&loaded[a].key));
            for parent in node_parents {
                if mark[parent] == Mark::Open {
                    cycle.get_or_insert(parent);
                } else if mark[parent] == Mark::New {
                    stack.push((parent, false));
                }
            }
        }
    }
    (order, cycle)
}
