//! The rule pages in `rules/<id>.md` are part of the product (`lockgate explain` prints them),
//! and their examples are executable: every `### bad` example must trigger the page's rule, and
//! every `### good` example must trigger neither it nor any other rule, apart from the warnings
//! in [`ALLOWED_IN_GOOD`] (never one at severity error).
//!
//! An example is a fenced `sql` block under `### bad` or `### good` in the `## Examples`
//! section:
//!
//! ```text
//! -- options: pg_version=11 transaction=wrapped      (optional first line; transaction=wrapped|none)
//! -- setup                                           (optional: the schema before the migration)
//! CREATE TABLE users (id bigint PRIMARY KEY);
//! -- migration                                       (required after a setup part)
//! ALTER TABLE users ADD COLUMN email text;
//! ```
//!
//! The setup becomes `0001_setup.sql` and the migration `0002_migration.sql` in a temporary
//! folder; only findings in the migration file count.
//!
//! Rules about history in git (`edited-applied-migration`) add a `-- merged` part between the
//! setup and the migration: the migration file as it was merged. The example's folder becomes a
//! git repository with the setup and the merged file committed, then the migration's text
//! committed over it, and is linted with `--diff HEAD~1`.
//!
//! Rules that only a Python front end reports (`migration-graph`) or that are best shown in
//! framework terms use a fenced `python` block instead: a project given as files, each opened by
//! a `# file: <path>` line (same optional options line, as `# options: …`). Only findings in the
//! last file count:
//!
//! ```text
//! # file: store/migrations/0001_initial.py
//! from django.db import migrations, models
//! …
//! # file: store/migrations/0002_item_qty.py
//! …
//! ```
//!
//! Rules that only `lockgate trace` reports ([`TRACED`]) run their examples with trace, every
//! file from the first, on a fresh database of the throwaway test server.
//!
//! The other examples are linted in-process, through the library calls `lockgate lint` makes
//! (an example about git history through `lockgate lint --diff`). Every finding of every example
//! (rule, place, message, lock, help) is pinned in `tests/snapshots/rule_docs__<id>.snap`.
//!
//! Also here: docs/rules.md's rule tables are `lockgate rules --format markdown`, and
//! `scripts/new-rule` writes, registers and documents a rule.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const SETUP_FILE: &str = "0001_setup.sql";
const MIGRATION_FILE: &str = "0002_migration.sql";

/// The `##` sections of every page, in this order.
const SECTIONS: &[&str] = &["Lock", "Why it hurts", "Safe alternative", "PostgreSQL versions", "Examples"];

/// Warnings a good example may still produce; anything else fails it.
const ALLOWED_IN_GOOD: &[&str] =
    &["missing-lock-timeout", "statements-after-access-exclusive", "unindexed-foreign-key"];

/// The lines around docs/rules.md's generated rule tables.
const README_TABLES_START: &str = "<!-- rule tables:";
const README_TABLES_END: &str = "<!-- end of rule tables -->";

/// Rules that only `lockgate trace` reports: the server has to run their examples.
const TRACED: &[&str] = &["lock-model-mismatch"];

/// Rules whose behaviour changes at a PostgreSQL version: their pages need examples on both
/// sides of it (`pg_version` below and at or above the gate). add-column-volatile-default's gate
/// (any default rewrites before 11) lies below the oldest version lockgate accepts, so its page
/// can only show the PostgreSQL 11 side.
const VERSION_GATES: &[(&str, u32)] = &[
    ("set-not-null-scan", 12),
    ("add-primary-key-builds-index", 12),
    ("add-column-generated-stored", 18),
    ("enum-value-change", 12),
    ("reindex-not-concurrently", 12),
    ("attach-partition-scan", 12),
    ("detach-partition-not-concurrently", 14),
    ("alter-column-type-rewrite", 12),
];

fn lockgate() -> Command {
    let mut cmd = Command::cargo_bin("lockgate").expect("binary builds");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1");
    cmd
}

fn run(cmd: &mut Command) -> String {
    let output = cmd.output().expect("lockgate runs");
    assert!(
        output.status.success(),
        "lockgate failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// `(id, severity)` of every registered rule, from `lockgate rules --format json`.
fn registered_rules() -> BTreeMap<String, String> {
    let out = run(lockgate().args(["rules", "--format", "json"]));
    let rules: Vec<Value> = serde_json::from_str(&out).expect("valid JSON");
    rules
        .iter()
        .map(|r| {
            let id = r["id"].as_str().expect("rule id").to_string();
            let severity = r["severity"].as_str().expect("rule severity").to_string();
            (id, severity)
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bad,
    Good,
}

#[derive(Debug)]
struct Example {
    kind: Kind,
    /// 1-based line of the `###` heading, for messages.
    line: usize,
    pg_version: Option<u32>,
    wrapped: bool,
    /// The files of the example, relative to its folder; findings count in the last one only.
    files: Vec<(String, String)>,
    /// The last file's text as merged, before the example's edit (`-- merged`).
    merged: Option<String>,
}

#[derive(Debug)]
struct Page {
    id: String,
    path: PathBuf,
    severity: String,
    examples: Vec<Example>,
}

impl Page {
    fn at(&self, example: &Example) -> String {
        let kind = match example.kind {
            Kind::Bad => "bad",
            Kind::Good => "good",
        };
        format!("{}:{} ({kind} example)", self.path.display(), example.line)
    }
}

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn page_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(rules_dir())
        .expect("rules/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    paths.sort();
    paths
}

/// Parses every page, panicking with every format problem found.
fn pages() -> Vec<Page> {
    let mut problems = vec![];
    let mut pages = vec![];
    for path in page_paths() {
        let text = std::fs::read_to_string(&path).expect("readable page");
        match parse_page(&path, &text) {
            Ok(page) => pages.push(page),
            Err(errors) => problems.extend(errors.into_iter().map(|e| format!("{}: {e}", path.display()))),
        }
    }
    assert!(problems.is_empty(), "malformed rule pages:\n{}", problems.join("\n"));
    pages
}

fn parse_page(path: &Path, text: &str) -> Result<Page, Vec<String>> {
    let mut errors = vec![];
    let id = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
    let lines: Vec<&str> = text.lines().collect();
    if lines.first() != Some(&format!("# {id}").as_str()) {
        errors.push(format!("the first line must be `# {id}`"));
    }

    // `# id`, a one-paragraph summary, the severity line, then the sections.
    let summary = lines.get(2).copied().unwrap_or_default();
    if lines.get(1) != Some(&"") || summary.trim().is_empty() || summary.starts_with('#') || lines.get(3) != Some(&"") {
        errors.push("the title must be followed by a blank line, a one-paragraph summary and a blank line".into());
    }
    let severity = lines
        .get(4)
        .and_then(|l| l.strip_prefix("**Default severity:** "))
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    if !["error", "warning", "info"].contains(&severity.as_str()) {
        errors.push("line 5 must be `**Default severity:** error|warning|info`".into());
    }

    // The `##` sections, in order, outside code blocks.
    let mut fenced = false;
    let mut sections = vec![];
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            if let Some(title) = line.strip_prefix("## ") {
                sections.push((title.trim(), i));
            }
        }
    }
    if fenced {
        errors.push("a code block is not closed".into());
    }
    let titles: Vec<&str> = sections.iter().map(|(t, _)| *t).collect();
    if titles != SECTIONS {
        errors.push(format!("sections must be {SECTIONS:?}, found {titles:?}"));
    }
    for window in sections.windows(2) {
        let body = &lines[window[0].1 + 1..window[1].1];
        if body.iter().all(|l| l.trim().is_empty()) {
            errors.push(format!("section `{}` is empty", window[0].0));
        }
    }

    let body_of = |title: &str| -> Vec<&str> {
        let Some(at) = sections.iter().position(|(t, _)| *t == title) else { return vec![] };
        let end = sections.get(at + 1).map_or(lines.len(), |(_, i)| *i);
        lines[sections[at].1 + 1..end].to_vec()
    };
    let why = body_of("Why it hurts");
    let paragraphs =
        why.iter().enumerate().filter(|(i, l)| !l.trim().is_empty() && (*i == 0 || why[i - 1].trim().is_empty()));
    if paragraphs.count() > 1 {
        errors.push("`Why it hurts` must be one paragraph".into());
    }
    let safe = body_of("Safe alternative");
    for framework in ["In Django:", "In Alembic:"] {
        if !safe.iter().any(|l| l.starts_with(framework)) {
            errors.push(format!("`Safe alternative` needs a line starting with `{framework}`"));
        }
    }

    let examples_start = sections.iter().find(|(t, _)| *t == "Examples").map(|(_, i)| i + 1);
    let examples = match examples_start {
        Some(start) => parse_examples(&lines, start, &mut errors),
        None => vec![],
    };
    for (kind, name) in [(Kind::Bad, "bad"), (Kind::Good, "good")] {
        if !examples.iter().any(|e| e.kind == kind) {
            errors.push(format!("needs at least one `### {name}` example"));
        }
    }

    if errors.is_empty() {
        Ok(Page { id, path: path.to_path_buf(), severity, examples })
    } else {
        Err(errors)
    }
}

/// The `### bad` / `### good` headings after `start`, each followed by one ```sql block.
fn parse_examples(lines: &[&str], start: usize, errors: &mut Vec<String>) -> Vec<Example> {
    let mut examples = vec![];
    let mut heading: Option<(Kind, usize)> = None;
    let mut i = start;
    while i < lines.len() {
        let line = lines[i].trim_end();
        if let Some(title) = line.strip_prefix("### ") {
            if let Some((_, at)) = heading {
                errors.push(format!("line {}: example heading without a ```sql block", at + 1));
            }
            heading = match title.trim() {
                "bad" => Some((Kind::Bad, i)),
                "good" => Some((Kind::Good, i)),
                other => {
                    errors.push(format!("line {}: example headings are `### bad` or `### good`, not `{other}`", i + 1));
                    None
                }
            };
        } else if line.starts_with("```") {
            let end = (i + 1..lines.len()).find(|&j| lines[j].starts_with("```")).unwrap_or(lines.len());
            match heading.take() {
                Some((kind, at)) if line == "```sql" || line == "```python" => {
                    let parsed = if line == "```sql" {
                        parse_block(&lines[i + 1..end])
                    } else {
                        parse_python_block(&lines[i + 1..end])
                    };
                    match parsed {
                        Ok((pg_version, wrapped, files, merged)) => {
                            examples.push(Example { kind, line: at + 1, pg_version, wrapped, files, merged })
                        }
                        Err(e) => errors.push(format!("line {}: {e}", i + 1)),
                    }
                }
                Some(_) => errors.push(format!("line {}: examples are ```sql or ```python blocks", i + 1)),
                None => errors.push(format!("line {}: code block in Examples without a bad/good heading", i + 1)),
            }
            i = end;
        }
        i += 1;
    }
    if let Some((_, at)) = heading {
        errors.push(format!("line {}: example heading without a ```sql block", at + 1));
    }
    examples
}

type Block = (Option<u32>, bool, Vec<(String, String)>, Option<String>);

/// Reads the optional options line (`<comment> options: …`) at the top of a block.
fn parse_options<'a>(body: &'a [&'a str], comment: &str) -> Result<(Option<u32>, bool, &'a [&'a str]), String> {
    let mut rest = body;
    let (mut pg_version, mut wrapped) = (None, false);
    if let Some(options) = rest.first().and_then(|l| l.trim().strip_prefix(comment)?.trim().strip_prefix("options:")) {
        for option in options.split_whitespace() {
            match option.split_once('=') {
                Some(("pg_version", v)) => {
                    let v: u32 = v.parse().map_err(|_| format!("bad pg_version `{v}`"))?;
                    if !(11..=18).contains(&v) {
                        return Err(format!("pg_version={v}: lockgate supports 11 to 18"));
                    }
                    pg_version = Some(v);
                }
                Some(("transaction", "wrapped")) => wrapped = true,
                Some(("transaction", "none")) => wrapped = false,
                _ => return Err(format!("unknown option `{option}` (pg_version=N, transaction=wrapped|none)")),
            }
        }
        rest = &rest[1..];
    }
    Ok((pg_version, wrapped, rest))
}

/// Splits a ```sql example block into its options, setup and migration.
fn parse_block(body: &[&str]) -> Result<Block, String> {
    let (pg_version, wrapped, rest) = parse_options(body, "--")?;
    let is = |line: &&str, marker: &str| line.trim() == marker;
    let join = |lines: &[&str]| {
        let mut text = lines.join("\n");
        text.push('\n');
        text
    };
    let merged_at = rest.iter().position(|l| is(l, "-- merged"));
    let migration_at = rest.iter().position(|l| is(l, "-- migration"));
    let merged = match (merged_at, migration_at) {
        (Some(m), Some(n)) if m < n => Some(join(&rest[m + 1..n])),
        (Some(_), _) => return Err("`-- merged` must come before `-- migration`".into()),
        (None, _) => None,
    };
    // Take the merged part out; the rest reads as setup and migration, like any block.
    let rest: Vec<&str> = match merged_at {
        Some(m) => rest[..m].iter().chain(&rest[migration_at.unwrap_or(m)..]).copied().collect(),
        None => rest.to_vec(),
    };
    let setup_at = rest.iter().position(|l| is(l, "-- setup"));
    let migration_at = rest.iter().position(|l| is(l, "-- migration"));
    let (setup, migration) = match (setup_at, migration_at) {
        (Some(0), Some(m)) if m > 0 => (Some(join(&rest[1..m])), join(&rest[m + 1..])),
        (Some(_), _) => return Err("`-- setup` must open the block and be followed by `-- migration`".into()),
        (None, Some(0)) => (None, join(&rest[1..])),
        (None, Some(_)) => return Err("`-- migration` must open the block when there is no setup".into()),
        (None, None) => (None, join(&rest)),
    };
    if migration.trim().is_empty() {
        return Err("the migration part is empty".into());
    }
    if setup.as_ref().is_some_and(|s| s.trim().is_empty()) {
        return Err("the setup part is empty (drop the `-- setup` marker)".into());
    }
    let mut files: Vec<(String, String)> = setup.map(|s| (SETUP_FILE.to_string(), s)).into_iter().collect();
    files.push((MIGRATION_FILE.to_string(), migration));
    Ok((pg_version, wrapped, files, merged))
}

/// Splits a ```python example block into its options and its `# file: <path>` files.
fn parse_python_block(body: &[&str]) -> Result<Block, String> {
    let (pg_version, wrapped, rest) = parse_options(body, "#")?;
    let mut files: Vec<(String, Vec<&str>)> = vec![];
    for line in rest {
        if let Some(path) = line.trim().strip_prefix("# file:") {
            let path = path.trim();
            if path.is_empty() || path.starts_with('/') || path.contains("..") {
                return Err(format!("`# file:` needs a relative path inside the example, not `{path}`"));
            }
            files.push((path.to_string(), vec![]));
        } else if let Some((_, text)) = files.last_mut() {
            text.push(line);
        } else if !line.trim().is_empty() {
            return Err("a ```python example must open with a `# file: <path>` line".into());
        }
    }
    if files.is_empty() {
        return Err("a ```python example needs at least one `# file: <path>` line".into());
    }
    let files = files.into_iter().map(|(path, lines)| (path, lines.join("\n") + "\n")).collect();
    Ok((pg_version, wrapped, files, None))
}

#[derive(Debug)]
struct Found {
    rule: String,
    severity: String,
    line: u64,
    column: u64,
    message: String,
    lock: Option<String>,
    help: String,
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} (line {}): {}", self.severity, self.rule, self.line, self.message)
    }
}

/// The findings of an example in its last file: linted in-process, through the library calls
/// `lockgate lint` makes; an example about git history (`-- merged`) through `lockgate lint
/// --diff`, and one of a rule only trace reports through `lockgate trace`.
fn findings(page: &Page, example: &Example) -> Vec<Found> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = write_example(dir.path(), example);
    let found = if TRACED.contains(&page.id.as_str()) {
        let db = common::database();
        run_cli(dir.path(), &config, example, &["trace", "--all", "--database-url", &db.url()])
    } else if example.merged.is_some() {
        run_cli(dir.path(), &config, example, &["lint"])
    } else {
        lint_in_process(dir.path(), &config, example)
    };
    // Messages may name the example's files: by their place in the example, not the temporary
    // folder, so the snapshots hold from run to run.
    let prefix = format!("{}/", dir.path().display());
    found
        .into_iter()
        .map(|f| Found { message: f.message.replace(&prefix, ""), help: f.help.replace(&prefix, ""), ..f })
        .collect()
}

/// Writes the example's files and its own config (so no lockgate.toml from the surroundings
/// applies); the config's path.
fn write_example(dir: &Path, example: &Example) -> PathBuf {
    let (counted, last_text) = example.files.last().expect("an example has files");
    for (path, text) in &example.files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent folder")).expect("create folders");
        let text = if path.ends_with(counted) { example.merged.as_ref().unwrap_or(text) } else { text };
        std::fs::write(path, text).expect("write example file");
    }
    if example.merged.is_some() {
        git(dir, &["init", "-q"]);
        git(dir, &["add", "."]);
        git(dir, &["commit", "-q", "-m", "merged"]);
        std::fs::write(dir.join(counted), last_text).expect("write the edit");
        git(dir, &["commit", "-q", "-a", "-m", "edit"]);
    }
    let mut config = String::new();
    if let Some(version) = example.pg_version {
        writeln!(config, "pg_version = {version}").expect("write to string");
    }
    writeln!(config, "\n[sql]\nassume_in_transaction = {}", example.wrapped).expect("write to string");
    let config_path = dir.join("lockgate.toml");
    std::fs::write(&config_path, config).expect("write config");
    config_path
}

/// Whether a finding's file is the example's last one, the only one whose findings count.
fn in_counted_file(example: &Example, path: &Path) -> bool {
    path.ends_with(&example.files.last().expect("an example has files").0)
}

fn lint_in_process(dir: &Path, config: &Path, example: &Example) -> Vec<Found> {
    let config = lockgate::config::Config::load(config).expect("the example's config loads");
    let paths = [dir.to_path_buf()];
    let inputs = lockgate::source::InputPaths { paths: &paths, stdin_name: "<stdin>" };
    let discovered = lockgate::source::discover(&inputs, &config).expect("the example's folder is read");
    let migrations = lockgate::source::load_all(&discovered, &config);
    let result = lockgate::analysis::lint_on(
        &migrations,
        &config,
        lockgate::catalog::Catalog::default(),
        &lockgate::analysis::Reporting::all(migrations.len(), false),
    );
    result
        .findings
        .iter()
        .filter(|f| in_counted_file(example, &f.source.path))
        .map(|f| {
            let (line, column) = f.source.line_col(f.span.start);
            Found {
                rule: f.rule.to_string(),
                severity: f.severity.as_str().to_string(),
                line: line as u64,
                column: column as u64,
                message: f.message.clone(),
                lock: f.lock.clone(),
                help: f.help.clone(),
            }
        })
        .collect()
}

fn run_cli(dir: &Path, config: &Path, example: &Example, subcommand: &[&str]) -> Vec<Found> {
    let mut command = lockgate();
    command.current_dir(dir).args(subcommand).arg(dir).args([
        "--format",
        "json",
        "--fail-on",
        "never",
        "--config",
        config.to_str().expect("UTF-8 path"),
    ]);
    if example.merged.is_some() {
        command.args(["--diff", "HEAD~1"]);
    }
    let out = run(&mut command);
    let json: Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(json["schema_version"], 1);
    let text = |f: &Value, key: &str| f[key].as_str().unwrap_or_else(|| panic!("finding {key}")).to_string();
    json["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| in_counted_file(example, Path::new(f["path"].as_str().expect("finding path"))))
        .map(|f| Found {
            rule: text(f, "rule"),
            severity: text(f, "severity"),
            line: f["line"].as_u64().expect("line"),
            column: f["column"].as_u64().expect("column"),
            message: text(f, "message"),
            lock: f["lock"].as_str().map(str::to_string),
            help: text(f, "help"),
        })
        .collect()
}

/// Runs git in an example's folder, with an identity of its own.
fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=lockgate", "-c", "user.email=lockgate@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?} failed");
}

fn listing(found: &[Found]) -> String {
    if found.is_empty() {
        return "    (no findings)".into();
    }
    found.iter().map(|f| format!("    {f}")).collect::<Vec<_>>().join("\n")
}

fn fail_if_any(problems: Vec<String>) {
    assert!(problems.is_empty(), "{} problem(s):\n\n{}", problems.len(), problems.join("\n\n"));
}

#[test]
fn every_rule_has_a_page_and_every_page_a_rule() {
    let registered = registered_rules();
    assert!(!registered.is_empty());
    let pages: BTreeSet<String> =
        page_paths().iter().map(|p| p.file_stem().and_then(|s| s.to_str()).expect("UTF-8 name").to_string()).collect();
    let mut problems = vec![];
    for id in registered.keys().filter(|id| !pages.contains(*id)) {
        problems.push(format!("rule `{id}` has no page rules/{id}.md"));
    }
    for id in pages.iter().filter(|id| !registered.contains_key(*id)) {
        problems.push(format!("rules/{id}.md names no registered rule"));
    }
    // `lockgate explain` prints the page embedded at build time.
    for id in registered.keys().filter(|id| pages.contains(*id)) {
        let page = std::fs::read_to_string(rules_dir().join(format!("{id}.md"))).expect("readable page");
        let explained = run(lockgate().args(["explain", id]));
        if explained != page {
            problems.push(format!("`lockgate explain {id}` does not print rules/{id}.md"));
        }
    }
    fail_if_any(problems);
}

#[test]
fn pages_follow_the_format_and_state_the_default_severity() {
    let registered = registered_rules();
    let mut problems = vec![];
    for page in pages() {
        if let Some(severity) = registered.get(&page.id) {
            if &page.severity != severity {
                problems.push(format!(
                    "{}: says default severity {}, the rule has {severity}",
                    page.path.display(),
                    page.severity
                ));
            }
        }
    }
    fail_if_any(problems);
}

#[test]
fn bad_examples_trigger_their_rule() {
    let mut problems = vec![];
    for page in pages() {
        for example in page.examples.iter().filter(|e| e.kind == Kind::Bad) {
            let found = findings(&page, example);
            if !found.iter().any(|f| f.rule == page.id) {
                problems.push(format!("{}: no `{}` finding; got\n{}", page.at(example), page.id, listing(&found)));
            }
        }
    }
    fail_if_any(problems);
}

#[test]
fn good_examples_do_not_trigger_their_rule_or_any_error() {
    let mut problems = vec![];
    for page in pages() {
        for example in page.examples.iter().filter(|e| e.kind == Kind::Good) {
            let found = findings(&page, example);
            let unexpected: Vec<&Found> = found
                .iter()
                .filter(|f| f.rule == page.id || f.severity == "error" || !ALLOWED_IN_GOOD.contains(&f.rule.as_str()))
                .collect();
            if !unexpected.is_empty() {
                problems.push(format!(
                    "{}: a good example must not trigger `{}` nor any rule outside {ALLOWED_IN_GOOD:?}; got\n{}",
                    page.at(example),
                    page.id,
                    listing(&found)
                ));
            }
        }
    }
    fail_if_any(problems);
}

#[test]
fn version_gated_rules_have_examples_on_both_sides_of_the_gate() {
    let pages = pages();
    let mut problems = vec![];
    for (id, gate) in VERSION_GATES {
        let Some(page) = pages.iter().find(|p| p.id == *id) else {
            problems.push(format!("no page for the version-gated rule `{id}`"));
            continue;
        };
        let below = page.examples.iter().any(|e| e.pg_version.is_some_and(|v| v < *gate));
        let above = page.examples.iter().any(|e| e.pg_version.is_some_and(|v| v >= *gate));
        if !below || !above {
            problems.push(format!(
                "{}: needs examples with `-- options: pg_version=` below {gate} and at {gate} or above",
                page.path.display()
            ));
        }
    }
    fail_if_any(problems);
}

/// Every finding of every page example — rule, place, message, lock and help — pinned per page
/// in `tests/snapshots/rule_docs__<id>.snap`, so a change of wording is seen in review.
#[test]
fn page_example_findings_are_pinned() {
    for page in pages() {
        let mut text = String::new();
        for example in &page.examples {
            let kind = if example.kind == Kind::Bad { "bad" } else { "good" };
            writeln!(text, "### {kind} (line {})", example.line).expect("write to string");
            let found = findings(&page, example);
            if found.is_empty() {
                writeln!(text, "(no findings)").expect("write to string");
            }
            for f in found {
                writeln!(text, "{} {} at {}:{}", f.severity, f.rule, f.line, f.column).expect("write to string");
                writeln!(text, "  message: {}", f.message).expect("write to string");
                if let Some(lock) = &f.lock {
                    writeln!(text, "  lock: {lock}").expect("write to string");
                }
                writeln!(text, "  help: {}", f.help).expect("write to string");
            }
            text.push('\n');
        }
        // The file numbers a traced rewrite reports depend on what the server ran before.
        insta::with_settings!({ filters => vec![(r"relfilenode \d+ -> \d+", "relfilenode [before] -> [after]")] }, {
            insta::assert_snapshot!(page.id.as_str(), text);
        });
    }
}

/// docs/rules.md's rule tables (which the README links to) are `lockgate rules --format
/// markdown`: a rule's summary is written once, in its own file. The page sits in docs/, so its
/// links to the rule pages go one folder up.
#[test]
fn readme_rule_tables_are_the_registrys() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md");
    let page = std::fs::read_to_string(&path).expect("docs/rules.md");
    let start = page.find(README_TABLES_START).expect("docs/rules.md marks the start of its rule tables");
    let body = &page[start..];
    let body = &body[body.find('\n').expect("a line after the marker") + 1..];
    let end = body.find(README_TABLES_END).expect("docs/rules.md marks the end of its rule tables");
    let tables = lockgate::rules::markdown_tables().replace("](rules/", "](../rules/");
    assert!(
        body[..end].trim() == tables.trim(),
        "docs/rules.md's rule tables differ from the registry: run `scripts/new-rule --readme` to write them again"
    );
}

/// `scripts/new-rule` on a copy of the registry, without building: it writes the template with
/// the new id and category (the template builds with the crate's unit tests, so the copy does),
/// registers the rule, and writes a page in the format with bad and good examples. It refuses an
/// id that is taken or not kebab-case, and leaves the checkout as it was.
#[test]
fn the_new_rule_scaffold_writes_registers_and_documents_a_rule() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = tempfile::tempdir().expect("temporary directory");
    std::fs::create_dir_all(root.path().join("src/rules")).expect("create folders");
    std::fs::create_dir_all(root.path().join("rules")).expect("create folders");
    let registry_before = std::fs::read_to_string(repo.join("src/rules/mod.rs")).expect("the registry");
    std::fs::write(root.path().join("src/rules/mod.rs"), &registry_before).expect("copy the registry");
    let scaffold = |args: &[&str]| {
        std::process::Command::new(repo.join("scripts/new-rule"))
            .args(args)
            .args(["--no-build", "--root", root.path().to_str().expect("UTF-8 path")])
            .output()
            .expect("scripts/new-rule runs")
    };

    let out = scaffold(&["lock-table-share", "--category", "timeouts"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let template = std::fs::read_to_string(repo.join("scripts/new-rule.d/rule.rs")).expect("the template");
    let rule = std::fs::read_to_string(root.path().join("src/rules/lock_table_share.rs")).expect("the rule file");
    assert!(rule.contains("\n    \"lock-table-share\",\n    Category::Timeouts,\n"), "{rule}");
    assert_eq!(
        rule.replace("lock-table-share", "new-rule-template").replace("Category::Timeouts", "Category::Locks"),
        template,
        "the rule file is the template with only its id and category changed"
    );

    let registry = std::fs::read_to_string(root.path().join("src/rules/mod.rs")).expect("the registry");
    let added: Vec<&str> = {
        let before: BTreeSet<&str> = registry_before.lines().collect();
        registry.lines().filter(|l| !before.contains(l)).collect()
    };
    assert_eq!(added, ["mod lock_table_share;", "    &lock_table_share::RULE,"]);
    // The block of rule modules at the top of the registry.
    let is_module = |l: &&str| (l.starts_with("mod ") || l.starts_with("pub mod ")) && l.ends_with(';');
    let modules: Vec<&str> = registry.lines().skip_while(|l| !is_module(l)).take_while(is_module).collect();
    let modules: Vec<&str> = modules.iter().map(|l| l.trim_start_matches("pub ")).collect();
    assert!(modules.windows(2).all(|w| w[0] < w[1]), "rule modules in name order: {modules:?}");
    let registered = registry.find("    &lock_table_share::RULE,").expect("registered");
    let list = registry.find("pub static REGISTRY").expect("the registry list");
    assert!(list < registered && !registry[list..registered].contains("];"), "inside REGISTRY");

    let page_path = root.path().join("rules/lock-table-share.md");
    let page = parse_page(&page_path, &std::fs::read_to_string(&page_path).expect("the page"))
        .unwrap_or_else(|errors| panic!("the new page is malformed: {errors:?}"));
    assert_eq!((page.id.as_str(), page.severity.as_str()), ("lock-table-share", "warning"));
    assert!(page.examples.iter().any(|e| e.kind == Kind::Bad) && page.examples.iter().any(|e| e.kind == Kind::Good));

    for (args, why) in [
        (&["lock-table-share"][..], "already exists"),
        (&["Lock_Table"][..], "not a kebab-case id"),
        (&["lock-table-exclusive", "--category", "speed"][..], "no category `speed`"),
    ] {
        let out = scaffold(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(why), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_to_string(root.path().join("src/rules/mod.rs")).expect("the registry"), registry);
    assert_eq!(std::fs::read_dir(root.path().join("rules")).expect("rules/").count(), 1, "no other page written");
}
