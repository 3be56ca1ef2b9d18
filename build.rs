//! Embeds the rule pages (`rules/*.md`) so `lockgate explain` works from any directory.

use std::fmt::Write;
use std::path::Path;

fn main() {
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
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("rule_pages.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
