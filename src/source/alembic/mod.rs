//! The Alembic front end: revision scripts under `versions/` read statically (never imported),
//! ordered by each environment's revision graph, and their `upgrade()` lowered to ops.
//!
//! Transactions: Alembic's default runs every pending revision of a run in one transaction;
//! with `transaction_per_migration` each revision gets its own. lockgate lints each revision as
//! wrapped in a transaction (`TransactionMode::Wrapped`): the locks a revision takes are held
//! until it commits either way. Modelling one transaction across the revisions of a run (locks
//! of an earlier revision still held by a later one) is out of scope, so the two settings lint
//! the same. `with op.get_context().autocommit_block():` is written out as the COMMIT before
//! the block and the BEGIN after it that Alembic issues, so the block's statements are seen
//! outside any transaction.

mod discover;
mod entities;
mod env;
mod graph;
mod lower;
mod parse;
mod project_types;
mod schema;
mod sql;
mod sqltext;
mod types;

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};
use rayon::prelude::*;

use crate::config::Config;
use crate::ir::{Framework, Migration, Op, OpKind, Problem, ProblemKind, SourceFile, Span, TransactionMode};
use crate::source::python::{Constants, Module, Prescan, ProjectPython, SyntaxError, TopLevel};
use crate::source::{directives, Rollbacks};
pub use discover::{reads_as_revision, Environments};
use parse::{Header, Upgrade};

/// One revision file, read, before the graph orders it.
struct Loaded {
    path: PathBuf,
    header: Header,
    migration: Migration,
    /// What reading the module level found, for reading `upgrade()` once the revision's turn
    /// comes; `None` when the file could not be read at all.
    module_level: Option<ModuleLevel>,
}

/// What the first pass learned of a file that the second needs.
struct ModuleLevel {
    layout: Prescan,
    constants: Constants,
    /// A syntax error at module level: the file cannot be imported, so `upgrade()` is not read.
    syntax_error: Option<SyntaxError>,
}

impl Loaded {
    /// Reads `upgrade()` and lowers it to the migration's ops. Done per revision as the graph
    /// order reaches it, so the caller lints the first revisions while later ones are lowered.
    fn lowered(self, python: &ProjectPython, rollbacks: Rollbacks) -> Migration {
        let mut migration = self.migration;
        let Some(ModuleLevel { layout, constants, syntax_error }) = self.module_level else { return migration };
        let source = migration.source.clone();
        let text = source.text_lf();
        let downgrade = layout.function(text, "downgrade");
        if let Some(error) = syntax_error {
            lower_into(&mut migration, Upgrade::unreadable(error, downgrade), text);
            return migration;
        }
        // The module level was read in the first pass: only the functions are parsed now.
        // `downgrade()` is not linted, only kept as the revision's rollback when asked for.
        let read = |statement: TopLevel<'_>| match statement {
            TopLevel::Def(name) => name != "downgrade" || rollbacks == Rollbacks::Read,
            _ => false,
        };
        match Module::parse_outline_in(text, &layout, &read) {
            None => migration.ops.push(unparsed(Span::default(), PYTHON_UNREADABLE.into())),
            Some(module) => {
                module.adopt_constants(constants);
                let mut upgrade = parse::upgrade(&module, downgrade);
                if let Ok(steps) = &mut upgrade.steps {
                    project_types::resolve(python, &self.path, steps);
                }
                lower_into(&mut migration, upgrade, text);
                if rollbacks == Rollbacks::Skip {
                    return migration;
                }
                migration.rollback = parse::downgrade(&module).and_then(|mut steps| {
                    project_types::resolve(python, &self.path, &mut steps);
                    rollback(text, &steps)
                });
            }
        }
        migration
    }
}

const PYTHON_UNREADABLE: &str = "the Python parser could not read this file";

/// Reads every revision (in parallel), orders each environment's revisions like
/// `alembic upgrade heads`, environments in the order their first file was found, and lowers
/// them in that order, handing each to `emit`.
pub fn load(
    paths: &[PathBuf],
    config: &Config,
    rollbacks: Rollbacks,
    display: impl Fn(&Path) -> PathBuf + Sync,
    emit: &mut (impl FnMut(Migration) + Send),
) {
    let loaded: Vec<Loaded> = paths.par_iter().map(|path| load_one(path, config.max_file_bytes(), &display)).collect();
    let plans: Vec<(Plan, Vec<(String, String)>)> = environments(&loaded)
        .par_iter()
        .map(|(environment, members)| (plan(&loaded, members), env::session_settings(Path::new(environment))))
        .collect();
    let mut slots: Vec<Option<Loaded>> = loaded.into_iter().map(Some).collect();
    let mut ordered = vec![];
    for (Plan { order, mut problems, mut parents }, session) in plans {
        for index in order {
            let Some(mut loaded) = slots[index].take() else { continue };
            loaded.migration.problems.extend(problems.remove(&index).unwrap_or_default());
            loaded.migration.parents = parents.remove(&index).unwrap_or_default();
            loaded.migration.session.clone_from(&session);
            ordered.push(loaded);
        }
    }
    // Lowered in batches, so the caller works on the first revisions while later ones are lowered.
    let python = ProjectPython::default();
    super::in_batches(ordered, |loaded| loaded.lowered(&python, rollbacks), emit);
}

/// One environment's upgrade order (indexes into the loaded revisions), and the graph
/// problems found on each revision.
struct Plan {
    order: Vec<usize>,
    problems: HashMap<usize, Vec<Problem>>,
    /// Per revision (by index into the loaded list), the revision ids it runs after.
    parents: HashMap<usize, Vec<String>>,
}

/// Groups revisions by environment (its folder, with `env.py`): each has a history of its own.
fn environments(loaded: &[Loaded]) -> Vec<(OsString, Vec<usize>)> {
    let mut environments = Environments::default();
    let mut groups: Vec<(OsString, Vec<usize>)> = vec![];
    // Environment paths are normalized, so their bytes tell them apart.
    let mut group_of: HashMap<OsString, usize> = HashMap::new();
    // Revisions come folder by folder, and a folder's revisions share one environment. Folders
    // are compared as bytes: comparing `Path`s takes them apart component by component.
    fn folder(revision: &Loaded) -> Option<&OsStr> {
        revision.path.parent().map(Path::as_os_str)
    }
    let mut first = 0;
    for run in loaded.chunk_by(|a, b| folder(a) == folder(b)) {
        let path = &run[0].path;
        environments.add_ancestors_of_file(path);
        let environment = environments.environment_of(path).into_os_string();
        let group = *group_of.entry(environment.clone()).or_insert_with(|| {
            groups.push((environment, vec![]));
            groups.len() - 1
        });
        groups[group].1.extend(first..first + run.len());
        first += run.len();
    }
    groups
}

/// Orders one environment's revisions (`members` index into `loaded`).
fn plan(loaded: &[Loaded], members: &[usize]) -> Plan {
    let revisions: Vec<graph::Revision> = members
        .iter()
        .map(|&i| {
            let header = &loaded[i].header;
            graph::Revision {
                id: &loaded[i].migration.id,
                span: header.revision.as_ref().map_or_else(Span::default, |(_, span)| *span),
                down: &header.down_revisions,
                depends_on: &header.depends_on,
                labels: &header.branch_labels,
                file: loaded[i].migration.source.display_path(),
            }
        })
        .collect();
    let graph = graph::order(&revisions, whole_history(loaded, members));
    let order = graph.order.iter().map(|&position| members[position]).collect();
    let problems = graph.problems.into_iter().map(|(position, p)| (members[position], p)).collect();
    let parents = graph
        .parents
        .iter()
        .enumerate()
        .map(|(position, of)| {
            (members[position], of.iter().map(|&p| loaded[members[p]].migration.id.clone()).collect())
        })
        .collect();
    Plan { order, problems, parents }
}

/// Were all the revision files in these revisions' folders read? When only some files of a
/// history are linted (a pre-commit hook passes the changed ones), parents and children
/// outside them are not missing.
fn whole_history(loaded: &[Loaded], members: &[usize]) -> bool {
    // Sets of raw paths: hashing a `Path` takes it apart component by component.
    let read: HashSet<&OsStr> = members.iter().map(|&i| loaded[i].path.as_os_str()).collect();
    let folders: HashSet<&OsStr> =
        members.iter().filter_map(|&i| loaded[i].path.parent()).map(Path::as_os_str).collect();
    folders.into_iter().all(|folder| {
        let Ok(entries) = std::fs::read_dir(folder) else { return true };
        entries.filter_map(Result::ok).map(|e| e.path()).all(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let revision = name.ends_with(".py") && name != "__init__.py" && !name.starts_with(".#");
            !revision || read.contains(path.as_os_str())
        })
    })
}

fn load_one(path: &Path, max_bytes: u64, display: &impl Fn(&Path) -> PathBuf) -> Loaded {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let stem = file_name.strip_suffix(".py").unwrap_or(file_name).to_string();
    let (text, unreadable) = super::read_source(path, max_bytes);
    let source = Arc::new(SourceFile::new(display(path), text));
    let mut migration = Migration {
        id: stem,
        source: source.clone(),
        framework: Framework::Alembic,
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
    let mut module_level = None;
    let header = match unreadable {
        Some(reason) => {
            migration.ops.push(unparsed(Span::default(), reason.to_string()));
            Header::default()
        }
        None => {
            let layout = Prescan::of(source.text_lf());
            // Only the module-level names are needed to order the revisions: the functions are
            // read later, in graph order.
            match Module::parse_outline_in(source.text_lf(), &layout, &|s| {
                matches!(s, TopLevel::Class(_) | TopLevel::Other)
            }) {
                None => {
                    migration.ops.push(unparsed(Span::default(), PYTHON_UNREADABLE.into()));
                    Header::default()
                }
                Some(module) => {
                    let header = identify(&mut migration, parse::header(&module, file_name));
                    let syntax_error = module.syntax_error();
                    module_level = Some(ModuleLevel { layout, constants: module.into_constants(), syntax_error });
                    header
                }
            }
        }
    };
    Loaded { path: path.to_path_buf(), header, migration, module_level }
}

fn unparsed(span: Span, reason: String) -> Op {
    Op::new(OpKind::Unparsed { reason }, span, 0)
}

/// The migration id is the revision id; header values that are not literals are reported.
fn identify(migration: &mut Migration, mut header: Header) -> Header {
    match &header.revision {
        Some((id, _)) => migration.id = id.clone(),
        None => migration.problems.push(graph_problem(
            Span::default(),
            "no `revision = \"…\"` in this file, so Alembic cannot tell which revision it is".into(),
        )),
    }
    for (span, message) in std::mem::take(&mut header.problems) {
        migration.problems.push(graph_problem(span, message));
    }
    header
}

fn graph_problem(span: Span, message: String) -> Problem {
    Problem {
        kind: ProblemKind::MigrationGraph,
        span,
        message,
        help:
            "Alembic reads these names when it imports the file; write them as literals so the history can be checked"
                .into(),
    }
}

/// Lowers `upgrade()` and reads the `# lockgate:` comments outside `downgrade()`.
fn lower_into(migration: &mut Migration, upgrade: parse::Upgrade, text: &str) {
    match upgrade.steps {
        Err((span, reason)) => migration.ops.push(unparsed(span, reason)),
        Ok(steps) => {
            let lowered = lower::lower(text, &steps);
            migration.ops = lowered.ops;
            migration.ignores = lowered.ignores;
            migration.problems.extend(lowered.bad_directives.into_iter().map(directives::problem));
        }
    }
    let statements = statement_spans(&migration.ops);
    let (before, after) = match upgrade.downgrade {
        Some(skip) => (0..skip.start, Some(skip.end..text.len())),
        None => (0..text.len(), None),
    };
    for range in std::iter::once(before).chain(after) {
        let found = directives::read(text, range, "#", &statements);
        migration.ignores.extend(found.ignores);
        migration.problems.extend(found.bad.into_iter().map(directives::problem));
        if found.transaction_override == Some(false) {
            migration.transaction = TransactionMode::Autocommit;
        }
    }
}

/// The ops of `downgrade()`, when every one of them could be read (no code lockgate cannot
/// follow, no transaction control): then they are what undoes the revision. An empty
/// `downgrade()` undoes nothing, so it is no rollback.
fn rollback(text: &str, steps: &[parse::UpgradeStep]) -> Option<Vec<Op>> {
    let ops = lower::lower(text, steps).ops;
    let readable = ops
        .iter()
        .all(|op| !matches!(op.kind, OpKind::Unparsed { .. } | OpKind::Opaque { .. } | OpKind::Transaction(_)));
    (readable && !ops.is_empty()).then_some(ops)
}

/// Each statement's span (its first op's) with its index, in file order.
fn statement_spans(ops: &[Op]) -> Vec<(Span, usize)> {
    let mut statements: Vec<(Span, usize)> = vec![];
    for op in ops {
        if statements.last().is_none_or(|(_, s)| *s != op.statement) {
            statements.push((op.span, op.statement));
        }
    }
    statements.sort_by_key(|(span, _)| span.start);
    statements
}
