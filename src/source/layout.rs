//! The file layouts of SQL migration runners: how a file name gives a version and a direction,
//! which part of a file is the up migration, and whether the runner wraps it in a transaction.

use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `<N>_<name>.up.sql` / `.down.sql` (golang-migrate, sqlx reversible).
    UpDownSuffix,
    /// `<version>_<name>/up.sql` (diesel).
    Diesel,
    /// `V1_2__name.sql`, `R__name.sql`, `U1__name.sql`.
    Flyway,
    /// `-- migrate:up` / `-- migrate:down` sections.
    Dbmate,
    /// `-- +goose Up` / `-- +goose Down` sections.
    Goose,
    /// A numeric or timestamp prefix, nothing else known (`0001_x.sql`).
    Numbered,
    /// Any other `.sql` file; ordered by name.
    Plain,
}

impl Layout {
    /// The runner (or kind of file) the layout belongs to, as a summary names it.
    pub fn runner(self) -> &'static str {
        match self {
            Layout::UpDownSuffix => "golang-migrate",
            Layout::Diesel => "diesel",
            Layout::Flyway => "Flyway",
            Layout::Dbmate => "dbmate",
            Layout::Goose => "goose",
            Layout::Numbered => "numbered SQL files",
            Layout::Plain => "plain SQL files",
        }
    }
}

#[derive(Debug, Clone)]
pub struct MigrationFile {
    pub path: PathBuf,
    pub id: String,
    pub layout: Layout,
    pub down: bool,
    /// Numeric version parts (`V1_2` → [1, 2]); empty when the name has none.
    version: Vec<u128>,
    /// Flyway repeatable migrations run after all versioned ones.
    repeatable: bool,
}

impl MigrationFile {
    pub fn stdin(name: &str) -> Self {
        MigrationFile {
            path: PathBuf::from("-"),
            id: name.to_string(),
            layout: Layout::Plain,
            down: false,
            version: vec![],
            repeatable: false,
        }
    }

    /// Recognises the runner layout from the file name (and, for section markers, its start).
    pub fn classify(path: &Path) -> Self {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let stem = name.strip_suffix(".sql").unwrap_or(name);
        let mut file = MigrationFile {
            path: path.to_path_buf(),
            id: stem.to_string(),
            layout: Layout::Plain,
            down: false,
            version: vec![],
            repeatable: false,
        };
        if stem == "up" || stem == "down" {
            let dir = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or_default();
            let version_text = dir.split('_').next().unwrap_or_default().replace('-', "");
            file.layout = Layout::Diesel;
            file.down = stem == "down";
            file.id = dir.to_string();
            file.version = numeric_prefix(&version_text).into_iter().collect();
            return file;
        }
        if let Some(rest) = flyway_version(stem) {
            file.layout = Layout::Flyway;
            match rest {
                FlywayName::Versioned(version, undo) => {
                    file.version = version;
                    file.down = undo;
                }
                FlywayName::Repeatable => file.repeatable = true,
            }
            return file;
        }
        let Some(number) = numeric_prefix(stem) else { return file };
        file.version = vec![number];
        if let Some(base) = stem.strip_suffix(".up").or_else(|| stem.strip_suffix(".down")) {
            file.layout = Layout::UpDownSuffix;
            file.down = stem.ends_with(".down");
            file.id = base.to_string();
        } else {
            // dbmate and goose files are told apart by markers inside; see `refine`.
            file.layout = Layout::Numbered;
        }
        file
    }

    /// The numeric version parts (`V1_2` → [1, 2], `0003_x` → [3]).
    pub fn version(&self) -> &[u128] {
        &self.version
    }

    pub fn order_key(&self) -> (bool, bool, Vec<u128>, PathBuf) {
        (self.repeatable, self.version.is_empty(), self.version.clone(), self.path.clone())
    }
}

enum FlywayName {
    Versioned(Vec<u128>, bool),
    Repeatable,
}

/// `V1_2__x` → versioned [1, 2]; `U3__x` → undo; `R__x` → repeatable.
fn flyway_version(stem: &str) -> Option<FlywayName> {
    let (head, _) = stem.split_once("__")?;
    if head == "R" {
        return Some(FlywayName::Repeatable);
    }
    let (undo, digits) = match head.chars().next()? {
        'V' => (false, &head[1..]),
        'U' => (true, &head[1..]),
        _ => return None,
    };
    let parts: Option<Vec<u128>> = digits.split(['.', '_']).map(|p| p.parse().ok()).collect();
    let mut parts = parts.filter(|p| !p.is_empty())?;
    while parts.len() > 1 && parts.last() == Some(&0) {
        parts.pop();
    }
    Some(FlywayName::Versioned(parts, undo))
}

fn numeric_prefix(text: &str) -> Option<u128> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.get(..digits.len().min(38))?.parse().ok()
}

/// A numbered file is a dbmate or goose migration when its text has their section markers.
pub fn refine(layout: Layout, text: &str) -> Layout {
    // Most numbered files have neither marker: one substring search rules both out.
    let may_have = |marker: &str| memchr::memmem::find(text.as_bytes(), marker.as_bytes()).is_some();
    if layout != Layout::Numbered || !(may_have("migrate:up") || may_have("+goose")) {
        return layout;
    }
    if text.lines().any(|l| is_marker(l, "migrate:up")) {
        Layout::Dbmate
    } else if text.lines().any(|l| l.trim_start().starts_with("-- +goose Up") || l.starts_with("-- +goose up")) {
        Layout::Goose
    } else {
        Layout::Numbered
    }
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix("--").is_some_and(|rest| rest.trim_start().starts_with(marker))
}

/// A part of the file that the runner applies going up.
pub struct Section {
    pub range: Range<usize>,
    /// The section's own transaction option (`transaction:false`, `NO TRANSACTION`).
    pub no_transaction: Option<bool>,
}

/// The byte ranges of the up migration inside a file.
pub fn up_sections(layout: Layout, text: &str) -> Vec<Section> {
    match layout {
        Layout::Dbmate => marked_sections(text, |line| {
            if is_marker(line, "migrate:up") {
                Some(Some(line.contains("transaction:false")))
            } else if is_marker(line, "migrate:down") {
                Some(None)
            } else {
                None
            }
        }),
        Layout::Goose => {
            let no_transaction = text.lines().any(|l| l.trim().eq_ignore_ascii_case("-- +goose NO TRANSACTION"));
            let mut sections = marked_sections(text, |line| {
                let lower = line.trim().to_ascii_lowercase();
                if lower == "-- +goose up" {
                    Some(Some(no_transaction))
                } else if lower == "-- +goose down" {
                    Some(None)
                } else {
                    None
                }
            });
            sections.iter_mut().for_each(|s| s.no_transaction = Some(no_transaction));
            sections
        }
        _ => vec![Section { range: 0..text.len(), no_transaction: None }],
    }
}

/// Splits at marker lines: `marker` returns `Some(Some(no_txn))` for an up marker and
/// `Some(None)` for a down marker.
fn marked_sections(text: &str, marker: impl Fn(&str) -> Option<Option<bool>>) -> Vec<Section> {
    let mut sections = vec![];
    let mut current: Option<(usize, Option<bool>)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let Some(kind) = marker(line.trim_end()) else { continue };
        if let Some((from, no_transaction)) = current.take() {
            sections.push(Section { range: from..start, no_transaction });
        }
        if let Some(no_transaction) = kind {
            current = Some((offset, Some(no_transaction)));
        }
    }
    if let Some((from, no_transaction)) = current {
        sections.push(Section { range: from..text.len(), no_transaction });
    }
    sections
}

/// Whether the runner applies the file inside one transaction, before any per-file override.
pub fn runner_wraps(file: &MigrationFile, layout: Layout, configured: Option<bool>) -> bool {
    if let Some(configured) = configured {
        return configured;
    }
    match layout {
        // golang-migrate sends the file as one simple-protocol Exec: one implicit transaction.
        Layout::UpDownSuffix | Layout::Dbmate | Layout::Goose | Layout::Flyway => true,
        Layout::Diesel => !diesel_opts_out(&file.path),
        // Plain numbered files may belong to any runner: assume none unless configured.
        Layout::Numbered | Layout::Plain => false,
    }
}

/// diesel's `metadata.toml` beside `up.sql` can say `run_in_transaction = false`.
fn diesel_opts_out(up_sql: &Path) -> bool {
    let Some(dir) = up_sql.parent() else { return false };
    std::fs::read_to_string(dir.join("metadata.toml"))
        .map(|t| t.lines().any(|l| l.replace(' ', "") == "run_in_transaction=false"))
        .unwrap_or(false)
}
