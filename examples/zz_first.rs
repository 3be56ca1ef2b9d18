use lockgate::source::python::{Layout, Module, TopLevel};
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let mut texts = vec![];
    for e in walkdir::WalkDir::new(dir).into_iter().filter_map(Result::ok) {
        if e.path().to_string_lossy().contains("/versions/") && e.path().extension().is_some_and(|x| x == "py") {
            texts.push(std::fs::read_to_string(e.path()).unwrap());
        }
    }
    let mut n = 0;
    for t in &texts {
        let layout = Layout::of(t);
        if let Some(m) = Module::parse_outline_in(t, &layout, &|s| matches!(s, TopLevel::Other)) {
            n += m.root().children().count();
        }
    }
    println!("{} files {n}", texts.len());
}
