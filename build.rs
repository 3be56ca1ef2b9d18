//! Embeds the rule pages (`rules/*.md`) so `lockgate explain` works from any directory, and
//! compiles the SQL parse-tree writer (`src/source/sql/pgparse.c`) against the `pg_query` crate's
//! copy of libpg_query when it can (feature `fast-parse`).

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    embed_rule_pages(&out_dir);
    compile_tree_writer(&out_dir);
}

fn embed_rule_pages(out_dir: &Path) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    pages.retain(|p| p.extension().is_some_and(|e| e == "md"));
    pages.sort();
    let mut code = String::from("pub static RULE_PAGES: &[(&str, &str)] = &[\n");
    for page in pages {
        println!("cargo:rerun-if-changed={}", page.display());
        let id = page.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let _ = writeln!(code, "    ({id:?}, include_str!({:?})),", page.display().to_string());
    }
    code.push_str("];\n");
    std::fs::write(out_dir.join("rule_pages.rs"), code).expect("OUT_DIR is writable");
}

/// The writer includes libpg_query's generated per-node field lists, so it must see the very
/// sources the `pg_query` crate compiled: the locked version's folder in Cargo's source cache,
/// or `LOCKGATE_PG_QUERY_DIR` when the sources live elsewhere (e.g. `cargo vendor`). It is a
/// fast path (feature `fast-parse`, on by default): when its sources cannot be found or
/// compiled, the build says so and lockgate uses `pg_query::parse`, never failing the build.
fn compile_tree_writer(out_dir: &Path) {
    println!("cargo::rustc-check-cfg=cfg(lockgate_fast_parse)");
    if std::env::var_os("CARGO_FEATURE_FAST_PARSE").is_none() {
        return;
    }
    match try_compile_tree_writer(out_dir) {
        Ok(()) => println!("cargo:rustc-cfg=lockgate_fast_parse"),
        Err(why) => println!(
            "cargo:warning=the fast SQL parse-tree writer is not built ({why}); lockgate parses SQL through pg_query::parse instead, which is slower but gives the same trees"
        ),
    }
}

fn try_compile_tree_writer(out_dir: &Path) -> Result<(), String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/source/sql/pgparse.c");
    println!("cargo:rerun-if-changed={}", source.display());
    println!("cargo:rerun-if-env-changed=LOCKGATE_PG_QUERY_DIR");
    let crate_dir = pg_query_dir()?;
    let lib = crate_dir.join("libpg_query");
    let proto = std::fs::read_to_string(lib.join("protobuf/pg_query.proto"))
        .map_err(|e| format!("cannot read pg_query.proto under {}: {e}", lib.display()))?;
    std::fs::write(out_dir.join("lockgate_fields.h"), field_numbers(&proto)).map_err(|e| e.to_string())?;

    let mut build = cc::Build::new();
    build
        .file(&source)
        .include(out_dir)
        .include(&lib)
        .include(lib.join("src"))
        .include(lib.join("src/include"))
        .include(lib.join("src/postgres/include"))
        .warnings(false)
        .flag_if_supported("-fno-strict-aliasing")
        .flag_if_supported("-fwrapv");
    // Matches the `pg_query` crate's build, so both see the same node layouts.
    if std::env::var("PROFILE").as_deref() == Ok("debug") || std::env::var("DEBUG").as_deref() == Ok("1") {
        build.define("USE_ASSERT_CHECKING", None);
    }
    build.try_compile("lockgate_pgparse").map_err(|e| e.to_string())
}

fn pg_query_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("LOCKGATE_PG_QUERY_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed={}", manifest.join("Cargo.lock").display());
    let lock = std::fs::read_to_string(manifest.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let version = locked_version(&lock, "pg_query").ok_or("Cargo.lock lists no pg_query")?;
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let registries = cargo_home.join("registry/src");
    let wanted = format!("pg_query-{version}");
    std::fs::read_dir(&registries)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|registry| registry.path().join(&wanted))
        .find(|dir| dir.join("libpg_query/pg_query.h").is_file())
        .ok_or_else(|| format!("no {wanted} sources under {}; set LOCKGATE_PG_QUERY_DIR to them", registries.display()))
}

fn locked_version<'a>(lock: &'a str, package: &str) -> Option<&'a str> {
    let mut lines = lock.lines();
    let name_line = format!("name = \"{package}\"");
    lines.find(|line| *line == name_line)?;
    lines.next()?.strip_prefix("version = \"")?.strip_suffix('"')
}

/// `#define LGF_<Message>_<field> <number>` for every field of every message in pg_query.proto,
/// and `#define LGM_<Message> <ordinal>` for every message, so the writer can name one field
/// of one message in a constant expression.
fn field_numbers(proto: &str) -> String {
    let mut header = String::from("/* Generated by build.rs from pg_query.proto. */\n");
    let mut message: Option<&str> = None;
    let mut ordinal = 0;
    for line in proto.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("message ") {
            message = rest.split_whitespace().next();
            if let Some(name) = message {
                ordinal += 1;
                let _ = writeln!(header, "#define LGM_{name} {ordinal}");
            }
        } else if line.starts_with("enum ") {
            message = None;
        } else if let (Some(message), Some((declaration, number))) = (message, line.split_once('=')) {
            let name = declaration.split_whitespace().last();
            let number = number.trim_start().split(|c: char| !c.is_ascii_digit()).next();
            if let (Some(name), Some(number)) = (name, number.filter(|n| !n.is_empty())) {
                let _ = writeln!(header, "#define LGF_{message}_{name} {number}");
            }
        }
    }
    header
}
