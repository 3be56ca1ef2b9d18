//! The layers of the crate hold by themselves: a module may name (`crate::…`) only the modules
//! its layer sits on. Data flows one way — front ends lower files into the IR, rules read the
//! IR and the replayed catalog, analysis runs the rules, and the gate, planner and executor sit
//! on top — so a new import that points back up the pipeline fails here, before it grows into a
//! cycle that ties two layers together.

use std::collections::BTreeMap;
use std::path::Path;

/// What every layer above the IR may use: units, the server's own facts, the volatility of its
/// functions, and git.
const FOUNDATION: &[&str] = &["units", "postgres", "volatility", "git"];
/// The IR and what is known about an op without its project: the code tokens of its file, the
/// replayed schema, the lock table, and the transaction and settings a replay is in.
const CORE: &[&str] = &["ir", "tokens", "catalog", "locks", "replay"];

/// Every top-level module of the library and the modules it may import, lowest first; a layer
/// may only name layers listed before it. Written once: adding a module means placing it here.
#[rustfmt::skip]
const ALLOWED: &[(&str, &[&[&str]])] = &[
    ("units", &[]),
    ("postgres", &[&["units"]]),
    ("volatility", &[&["units", "postgres"]]),
    ("git", &[]),
    ("ir", &[FOUNDATION]),
    ("tokens", &[FOUNDATION, &["ir"]]),
    ("catalog", &[FOUNDATION, &["ir"]]),
    ("locks", &[FOUNDATION, &["ir", "catalog"]]),
    ("replay", &[FOUNDATION, &["ir", "catalog", "locks"]]),
    // Rules read the IR, the schema, the lock table and the replay's state, and nothing above.
    ("rules", &[FOUNDATION, CORE]),
    // Configuration is plain data; it names rules (for severities) and versions, no front end.
    ("config", &[FOUNDATION, &["rules"]]),
    ("scope", &[FOUNDATION, &["ir", "rules"]]),
    // Front ends: files in, IR out. They know no rule, no analysis and no database session.
    ("source", &[FOUNDATION, CORE, &["config"]]),
    // Analysis loads, replays and runs the rules; report prints what it found.
    ("analysis", &[FOUNDATION, CORE, &["rules", "config", "scope", "source"]]),
    ("report", &[FOUNDATION, CORE, &["rules", "config", "source", "analysis"]]),
    // The entry point from paths to migrations and findings: discovery, git scope, cutoff, replay.
    ("lint", &[FOUNDATION, CORE, &["config", "scope", "source", "analysis"]]),
    // Above analysis: the database, the gate, the planner, the executor and the tracer.
    ("live", &[FOUNDATION, CORE, &["config", "source"]]),
    ("estimate", &[FOUNDATION, CORE, &["config", "live"]]),
    ("gate", &[FOUNDATION, CORE, &["rules", "config", "source", "analysis", "live", "estimate"]]),
    ("snapshot", &[FOUNDATION, &["config", "live"]]),
    ("plan", &[FOUNDATION, CORE, &["rules", "config", "source", "analysis", "live", "estimate", "gate"]]),
    ("exec", &[FOUNDATION, CORE, &["config", "source", "analysis", "live", "estimate", "gate", "snapshot", "plan"]]),
    ("trace", &[FOUNDATION, CORE, &["rules", "config", "source", "analysis", "live", "estimate", "gate", "plan", "exec"]]),
];

/// The modules a row of the table allows, its groups flattened.
fn may_use(groups: &[&[&'static str]]) -> Vec<&'static str> {
    groups.iter().flat_map(|group| group.iter().copied()).collect()
}

/// The command line sits on everything; `lib.rs` and `main.rs` only declare and call.
const TOP: &[&str] = &["cli"];

/// The top-level module a source file belongs to: `src/rules/drop_table.rs` → `rules`.
fn layer_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// How many `super::` climb from a file to the crate root: `src/ir.rs` and `src/rules/mod.rs`
/// one, `src/rules/drop_table.rs` two.
fn depth_of(relative: &Path) -> usize {
    let components = relative.components().count();
    if relative.file_name().is_some_and(|name| name == "mod.rs") {
        components - 1
    } else {
        components
    }
}

/// The top-level modules `code` names through `crate::`, including `crate::{a, b::{c, d}}`
/// groups over several lines, or through as many `super::` as it takes to climb to the root
/// from `depth`; each with its byte offset.
fn crate_imports(code: &str, depth: usize) -> Vec<(usize, String)> {
    let root = "super::".repeat(depth);
    let mut found = Vec::new();
    for prefix in ["crate::", root.as_str()] {
        found.extend(paths_after(code, prefix));
    }
    found.sort();
    found
}

fn paths_after(code: &str, prefix: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find(prefix).map(|i| from + i) {
        from = at + prefix.len();
        // `some_crate::` is another crate; `super::super::` seen from a deeper prefix climbs
        // elsewhere.
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') || code[..at].ends_with("super::") {
            continue;
        }
        let rest = &code[from..];
        match rest.strip_prefix('{') {
            Some(group) => found.extend(top_level_items(group).into_iter().map(|ident| (at, ident))),
            None => found.extend(leading_ident(rest).map(|ident| (at, ident))),
        }
    }
    found
}

/// The first name of each item of a `{…}` group, up to its closing brace; nested groups belong
/// to the item they follow.
fn top_level_items(group: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut nesting = 0;
    let mut item_start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => nesting += 1,
            '}' if nesting == 0 => break,
            '}' => nesting -= 1,
            ',' if nesting == 0 => item_start = true,
            c if item_start && !c.is_whitespace() => {
                items.extend(leading_ident(&group[i..]));
                item_start = false;
            }
            _ => {}
        }
    }
    items
}

fn leading_ident(text: &str) -> Option<String> {
    let ident: String = text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!ident.is_empty()).then_some(ident)
}

/// The file's code with comment lines blanked, so line numbers still match: doc links may point
/// anywhere, only code ties layers together.
fn code_of(text: &str) -> String {
    let lines: Vec<&str> =
        text.lines().map(|line| if line.trim_start().starts_with("//") { "" } else { line }).collect();
    lines.join("\n")
}

#[test]
fn every_import_goes_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, Vec<&str>> = ALLOWED.iter().map(|(layer, groups)| (*layer, may_use(groups))).collect();
    let mut unplaced = Vec::new();
    let mut forbidden = Vec::new();
    for entry in walkdir::WalkDir::new(&src).sort_by_file_name() {
        let entry = entry.expect("src/ is readable");
        if entry.path().extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = entry.path().strip_prefix(&src).expect("under src/");
        let Some(layer) = layer_of(relative) else { continue };
        if TOP.contains(&layer.as_str()) {
            continue;
        }
        let Some(may_use) = allowed.get(layer.as_str()) else {
            unplaced.push(relative.display().to_string());
            continue;
        };
        let code = code_of(&std::fs::read_to_string(entry.path()).expect("source files are UTF-8"));
        for (at, used) in crate_imports(&code, depth_of(relative)) {
            // A `super::` path inside an inline module may name one of the file's own items.
            let is_module = allowed.contains_key(used.as_str()) || TOP.contains(&used.as_str());
            if is_module && used != layer && !may_use.contains(&used.as_str()) {
                let line = code[..at].matches('\n').count() + 1;
                forbidden.push(format!("src/{}:{line}: {layer} uses {used}", relative.display()));
            }
        }
    }
    assert!(unplaced.is_empty(), "modules missing from the layer table in tests/boundaries.rs: {unplaced:?}");
    assert!(
        forbidden.is_empty(),
        "imports against the layers (see the table in tests/boundaries.rs):\n{}",
        forbidden.join("\n")
    );
}

#[test]
fn the_import_reader_sees_paths_and_groups() {
    let modules = |code: &str, depth| crate_imports(code, depth).into_iter().map(|(_, m)| m).collect::<Vec<_>>();
    assert_eq!(modules("use crate::ir::{Op, OpKind};", 1), ["ir"]);
    assert_eq!(modules("use crate::{ir::Op, locks::LockMode};", 1), ["ir", "locks"]);
    assert_eq!(
        modules("use crate::{\n    analysis::{self, rules},\n    units::seconds,\n};", 1),
        ["analysis", "units"]
    );
    assert_eq!(modules("let x = crate::units::seconds(ms) + crate::rules::find(id);", 1), ["units", "rules"]);
    assert!(modules("use pg_query_crate::Node;", 1).is_empty());
    // From src/rules/drop_table.rs, two `super::` reach the root; one stays in `rules`.
    assert_eq!(modules("use super::super::analysis::Linting;", 2), ["analysis"]);
    assert!(modules("use super::Violation;", 2).is_empty());
    assert_eq!(depth_of(Path::new("rules/mod.rs")), 1);
    assert_eq!(depth_of(Path::new("rules/drop_table.rs")), 2);
    assert_eq!(depth_of(Path::new("ir.rs")), 1);
    assert_eq!(code_of("/// [`crate::rules`]\nuse crate::ir::Op;"), "\nuse crate::ir::Op;");
}

#[test]
fn the_table_names_only_modules_that_exist_and_only_lower_ones() {
    // A layer may only use layers listed before it, so the table itself has no cycle.
    for (index, (layer, groups)) in ALLOWED.iter().enumerate() {
        let earlier: Vec<&str> = ALLOWED[..index].iter().map(|(name, _)| *name).collect();
        for used in may_use(groups) {
            assert!(earlier.contains(&used), "{layer} may use {used}, which is not below it in the table");
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        assert!(
            src.join(format!("{layer}.rs")).exists() || src.join(layer).join("mod.rs").exists(),
            "{layer} is in the table but not in src/"
        );
    }
}
