//! The library's entry point, from paths to migrations and findings. [`read`] is what `check`,
//! `plan` and `trace` take: the migrations the paths hold, in runner order. [`lint`] is built on
//! the same reading and adds discovery with the project around the paths, the git scope of
//! `--diff`/`--staged`, the cutoff that grandfathers old migrations, and the replay that runs the
//! rules. The command line turns its arguments into a request and prints what comes back;
//! everything between lives here.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::analysis::{LintResult, Linting, Reporting};
use crate::catalog::Catalog;
use crate::config::Config;
use crate::git::{GitError, Repo, Side};
use crate::ir::Migration;
use crate::scope::{self, ChangeSet, Cutoff, CutoffError, Touched};
use crate::source::tree::{FileTree, GitVersionError};
use crate::source::{self, InputError, InputPaths, Recognised, Rollbacks};

/// What to lint, besides the configuration.
pub struct LintRequest<'a> {
    /// Migration files or folders, in any mix; `-` is standard input. With `diff` or `staged`,
    /// empty means the whole repository.
    pub paths: &'a [PathBuf],
    /// The name to show for standard input.
    pub stdin_name: &'a str,
    /// Report only migrations added or changed since the merge base of HEAD and this revision.
    pub diff: Option<&'a str>,
    /// Report only migrations staged for the next commit, as staged.
    pub staged: bool,
    /// Also read and replay these, but report only the migrations in `paths`.
    pub context: &'a [PathBuf],
    /// Succeed when the paths hold no migration at all.
    pub allow_empty: bool,
}

/// What a lint read and found: every migration in runner order, and the findings and coverage
/// of those it reports.
pub struct Linted {
    pub migrations: Vec<Migration>,
    pub result: LintResult,
}

/// What a run read: every migration in runner order, and the frameworks and layouts discovery
/// recognised them as.
pub struct Read {
    pub migrations: Vec<Migration>,
    pub recognised: Recognised,
}

/// Why the migrations could not be read, or a lint could not run.
#[derive(Debug, thiserror::Error)]
pub enum LintError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("standard input (`-`) has no git history; --diff and --staged read files from git")]
    StdinHasNoHistory,
    #[error("cannot read the working directory: {0}")]
    WorkingDirectory(std::io::Error),
    #[error("--diff and --staged need a git repository: {0}")]
    NotARepository(GitError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    GitVersion(#[from] GitVersionError),
    #[error(transparent)]
    Cutoff(#[from] CutoffError),
}

/// Reads the migrations `paths` name (files or folders, `-` for standard input) from the working
/// tree, without running the rules. Only the paths are read: unlike [`lint`], no project
/// around them is added, because `check`, `plan` and `trace` act on exactly the migrations
/// they are given (a file named alone is judged, planned or run alone). Reading no migration is
/// an error unless `allow_empty`.
pub fn read(paths: &[PathBuf], config: &Config, allow_empty: bool) -> Result<Read, LintError> {
    load(&FileTree::WorkTree, paths, "<stdin>", config, allow_empty, Rollbacks::Read, |_| {})
}

/// Lints what `request` names under `config`.
pub fn lint(request: &LintRequest, config: &Config) -> Result<Linted, LintError> {
    let sources = sources(request, config)?;
    // Each migration is replayed and checked as it arrives, while later ones load.
    let mut linting = Linting::new(config, Catalog::default());
    let Read { mut migrations, recognised } = load(
        &sources.tree,
        &sources.paths,
        request.stdin_name,
        config,
        request.allow_empty,
        Rollbacks::Skip,
        |migration| linting.add(migration),
    )?;
    let reporting = reporting(&mut migrations, &sources, config)?;
    let mut result = linting.finish(&migrations, &reporting);
    result.recognised = recognised;
    Ok(Linted { migrations, result })
}

/// What a run reads and what it compares against.
struct Sources {
    repo: Option<Repo>,
    tree: FileTree,
    changes: Option<ChangeSet>,
    /// What discovery reads.
    paths: Vec<PathBuf>,
    /// With `--context`: the paths whose migrations are reported.
    report_only: Option<Vec<PathBuf>>,
}

/// Discovers and loads the migrations `paths` name in `tree`, handing each to `each` in runner
/// order as soon as it is loaded; reading none is an error unless `allow_empty`.
fn load(
    tree: &FileTree,
    paths: &[PathBuf],
    stdin_name: &str,
    config: &Config,
    allow_empty: bool,
    rollbacks: Rollbacks,
    mut each: impl FnMut(&Migration) + Send,
) -> Result<Read, LintError> {
    let inputs = InputPaths { paths, stdin_name };
    let discovered = source::discover_in(tree, &inputs, config)?;
    let mut migrations = vec![];
    source::load_each(&discovered, config, rollbacks, |migration| {
        each(&migration);
        migrations.push(migration);
    });
    source::Discovered::require_migrations(&migrations, paths, config, allow_empty)?;
    Ok(Read { migrations, recognised: discovered.recognised })
}

/// The working tree, or for --diff/--staged a snapshot of HEAD or the index and the changes
/// since the base.
fn sources(request: &LintRequest, config: &Config) -> Result<Sources, LintError> {
    let in_git = request.diff.is_some() || request.staged;
    if !in_git {
        if let Some(missing) = request.paths.iter().find(|p| !p.exists() && p.as_os_str() != "-") {
            return Err(InputError::Missing { path: missing.clone() }.into());
        }
        // Without --context, the project around the paths is their context, found by walking
        // up from each: a file or folder inside a project is read with the history before it.
        let read = match request.context.is_empty() {
            true => project_context(request.paths, config),
            false => Some(scope::with_context(request.paths, request.context)),
        };
        let (paths, report_only) = match read {
            None => (request.paths.to_vec(), None),
            Some(read) => (read, Some(request.paths.to_vec())),
        };
        return Ok(Sources { repo: None, tree: FileTree::WorkTree, changes: None, paths, report_only });
    }
    if request.paths.iter().any(|p| p.as_os_str() == "-") {
        return Err(LintError::StdinHasNoHistory);
    }
    let cwd = std::env::current_dir().map_err(LintError::WorkingDirectory)?;
    let repo = Repo::discover(&cwd).map_err(LintError::NotARepository)?;
    let side = if request.staged { Side::Index } else { Side::Head };
    let (label, revision) = match request.diff {
        Some(base) => (base.to_string(), repo.merge_base(base)?),
        None => ("HEAD".to_string(), repo.head_or_empty()),
    };
    let changes = repo.changes(&revision, side)?;
    let paths =
        if request.paths.is_empty() { vec![repo.root_from_cwd().to_path_buf()] } else { request.paths.to_vec() };
    let tree = FileTree::git_version(&repo, side, &paths)?;
    let changes = Some(ChangeSet { label, revision, changes });
    Ok(Sources { repo: Some(repo), tree, changes, paths, report_only: None })
}

/// What to read so that `paths` are replayed with the history of the projects around them:
/// the folders found by walking up from each path that it does not already cover, and each
/// path not inside one of them (read once, as the user spelled it). `None` when every path is
/// the whole of its project's history.
fn project_context(paths: &[PathBuf], config: &Config) -> Option<Vec<PathBuf>> {
    let mut modules = source::django::modules::MigrationModules::from_config(config);
    let mut environments = source::alembic::Environments::default();
    let given: Vec<(PathBuf, Option<PathBuf>)> =
        paths.iter().map(|p| (p.clone(), std::fs::canonicalize(p).ok())).collect();
    let inside_given = |folder: &PathBuf| given.iter().any(|(_, g)| g.as_ref().is_some_and(|g| folder.starts_with(g)));
    let mut context: Vec<PathBuf> = vec![];
    for path in paths.iter().filter(|p| p.as_os_str() != "-") {
        for folder in source::project::context_of(path, &mut modules, &mut environments) {
            if !context.contains(&folder) && !inside_given(&folder) {
                context.push(folder);
            }
        }
    }
    if context.is_empty() {
        return None;
    }
    let outside = given
        .into_iter()
        .filter(|(_, real)| !real.as_ref().is_some_and(|r| context.iter().any(|c| r.starts_with(c))))
        .map(|(path, _)| path);
    let read: Vec<PathBuf> = context.iter().cloned().chain(outside).collect();
    Some(read)
}

/// Per migration: is it reported? With a change set, only the migrations it touched (with
/// `--context`, only those in the paths given); with a cutoff, none at or before it — unless
/// edited after being merged, which is new work. Only a change set tells which migrations no
/// deploy has run: those it adds. (A cutoff is where adoption began, not the last release.)
fn reporting(migrations: &mut [Migration], sources: &Sources, config: &Config) -> Result<Reporting, LintError> {
    let touched = match (&sources.changes, &sources.repo, &sources.report_only) {
        (Some(set), Some(repo), _) => Some(scope::apply_changes(migrations, repo, set)?),
        (_, _, Some(given)) => {
            let touched = scope::within(migrations, given);
            Some(Touched { edited: vec![false; touched.len()], added: vec![false; touched.len()], touched })
        }
        _ => None,
    };
    let old = match &config.start_after {
        Some(text) => grandfathered(migrations, &Cutoff::parse(text), sources)?,
        None => vec![false; migrations.len()],
    };
    let reported = (0..migrations.len())
        .map(|i| match &touched {
            Some(t) => t.touched[i] && (!old[i] || t.edited[i]),
            None => !old[i],
        })
        .collect();
    let unreleased = match touched {
        Some(t) => t.added,
        None => vec![false; migrations.len()],
    };
    Ok(Reporting { reported, unreleased })
}

/// Migrations at or before the cutoff. A date needs git for first-commit dates when there is a
/// repository; outside one, version prefixes that spell dates still work.
fn grandfathered(migrations: &[Migration], cutoff: &Cutoff, sources: &Sources) -> Result<Vec<bool>, LintError> {
    let discovered;
    let repo = match (&sources.repo, cutoff) {
        (Some(repo), _) => Some(repo),
        (None, Cutoff::Date(_)) => {
            discovered = Repo::discover(&std::env::current_dir().unwrap_or_default()).ok();
            discovered.as_ref()
        }
        (None, Cutoff::Migration(_)) => None,
    };
    let first_commits = match (cutoff, repo) {
        (Cutoff::Date(_), Some(repo)) => {
            let paths: Vec<PathBuf> = sources.paths.iter().filter_map(|p| repo.relative(p)).collect();
            repo.first_commit_dates(&paths)?
        }
        _ => HashMap::new(),
    };
    Ok(scope::grandfathered(migrations, cutoff, &first_commits, repo)?)
}
