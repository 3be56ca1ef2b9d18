//! The README and the pages in `docs/` are tested where they show commands, as the rule pages
//! are (`tests/rule_docs.rs`): a fenced block tagged `console` holds `$ lockgate …` lines, each
//! followed by lines of its output, and every such command runs and must end as shown.
//!
//! ```text
//! ```console
//! $ lockgate lint fixtures/sql/migrations/000004_index_orders_placed_at.up.sql   # exit 1
//! create-index-not-concurrently
//! …
//! 1 error, 2 warnings, 0 notes in 1 migration (golang-migrate); …
//! ```
//! ```
//!
//! - The commands of a block run one after the other in a temporary folder holding a copy of
//!   `fixtures/`, so they name `fixtures/…` paths as a reader in the repository would, and a
//!   command may read what an earlier one of the same block wrote (`plan -o plan.json`, then
//!   `apply plan.json --dry-run`).
//! - A command must exit 0, or the code its trailing comment states (`# exit 1`).
//! - Every output line shown must be one of the lines the command printed (stdout or stderr,
//!   compared without leading and trailing blanks); a line `…` stands for lines left out, and a
//!   line may end in `…` to show only its beginning.
//! - Commands that need a database or AWS (`console needs-database`, `console needs-aws`) are
//!   not run here — the tests of those commands start their own servers. Their command lines are
//!   still checked by lockgate's own argument parser (the command with `--help` appended must
//!   succeed), so an option that is renamed or removed fails this test.
//!
//! Also here: every page of docs/ that shows `lockgate` commands has such a block, and every
//! relative link in README.md, docs/ and rules/ leads to a file that exists, and to a heading
//! that exists when it names one (`file.md#heading`).

use std::path::{Path, PathBuf};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every page of docs/.
fn doc_pages() -> Vec<PathBuf> {
    let mut pages = vec![repo().join("README.md")];
    pages.extend(markdown_in(&repo().join("docs")));
    pages
}

fn markdown_in(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    paths.sort();
    paths
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A path relative to the repository, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(repo()).unwrap_or(path).display().to_string()
}

/// One fenced code block: its info string, the 1-based line of its opening fence, its lines.
struct Fence<'a> {
    info: &'a str,
    line: usize,
    body: Vec<&'a str>,
}

/// The fenced code blocks of a Markdown text, and its lines outside them (with their 1-based
/// numbers).
fn split_fences(text: &str) -> (Vec<Fence<'_>>, Vec<(usize, &str)>) {
    let (mut fences, mut prose) = (vec![], vec![]);
    let mut open: Option<Fence> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => open = Some(Fence { info: info.trim(), line: i + 1, body: vec![] }),
            (Some(_), Some(_)) => fences.extend(open.take()),
            (Some(block), None) => block.body.push(line),
            (None, None) => prose.push((i + 1, line)),
        }
    }
    fences.extend(open);
    (fences, prose)
}

/// What a `console` block asks of the commands in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Run,
    /// Needs a database or AWS: only its arguments are checked.
    ArgumentsOnly,
}

fn console_mode(info: &str) -> Option<Mode> {
    let mut words = info.split_whitespace();
    if words.next() != Some("console") {
        return None;
    }
    let needs_outside = words.any(|w| w == "needs-database" || w == "needs-aws");
    Some(if needs_outside { Mode::ArgumentsOnly } else { Mode::Run })
}

/// One `$ lockgate …` line of a block, with the output shown under it.
struct Shown {
    line: usize,
    args: Vec<String>,
    exit: i32,
    output: Vec<String>,
}

/// The commands of a `console` block; a problem for each line that is not one.
fn commands(fence: &Fence, problems: &mut Vec<String>, at: &str) -> Vec<Shown> {
    let mut shown: Vec<Shown> = vec![];
    for (i, line) in fence.body.iter().enumerate() {
        let number = fence.line + 1 + i;
        let Some(command) = line.strip_prefix("$ ") else {
            match shown.last_mut() {
                Some(last) if !line.trim().is_empty() => last.output.push(line.trim().to_string()),
                Some(_) => {}
                None if line.trim().is_empty() => {}
                None => problems.push(format!("{at}:{number}: output before any `$ lockgate` line")),
            }
            continue;
        };
        // A shell comment after the command: `# exit N` states the exit code.
        let (command, comment) = match command.split_once(" #") {
            Some((command, comment)) => (command, Some(comment.trim())),
            None => (command, None),
        };
        let exit = match comment.and_then(|c| c.strip_prefix("exit ")) {
            Some(code) => match code.trim().parse() {
                Ok(code) => code,
                Err(_) => {
                    problems.push(format!("{at}:{number}: `# exit {code}` is not an exit code"));
                    continue;
                }
            },
            None => 0,
        };
        if command.contains(['"', '\'', '|', '>', '<', '$', '`']) {
            problems.push(format!("{at}:{number}: a console command is one lockgate call with plain arguments"));
            continue;
        }
        let mut words = command.split_whitespace();
        if words.next() != Some("lockgate") {
            problems.push(format!("{at}:{number}: console blocks show `$ lockgate …` commands"));
            continue;
        }
        shown.push(Shown { line: number, args: words.map(str::to_string).collect(), exit, output: vec![] });
    }
    if shown.is_empty() {
        problems.push(format!("{at}:{}: a console block without a `$ lockgate` command", fence.line));
    }
    shown
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("readable folder") {
        let entry = entry.expect("readable entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

fn lockgate_in(dir: &Path, args: &[String]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lockgate"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("LOCKGATE_DATABASE_URL")
        .output()
        .expect("lockgate runs")
}

/// Whether the output shows the line: as one of its lines, or its beginning when it ends in `…`.
fn shows(printed: &[&str], expected: &str) -> bool {
    match expected.strip_suffix('…') {
        Some(start) => printed.iter().any(|l| l.starts_with(start.trim_end())),
        None => printed.contains(&expected),
    }
}

fn check_command(dir: &Path, mode: Mode, command: &Shown, at: &str) -> Option<String> {
    let line = command.line;
    let written = format!("lockgate {}", command.args.join(" "));
    if mode == Mode::ArgumentsOnly {
        let mut args = command.args.clone();
        args.push("--help".into());
        let out = lockgate_in(dir, &args);
        return (!out.status.success()).then(|| {
            format!("{at}:{line}: `{written}` is not a valid command line:\n{}", String::from_utf8_lossy(&out.stderr))
        });
    }
    let out = lockgate_in(dir, &command.args);
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = printed.lines().map(str::trim).collect();
    let mut problems = vec![];
    if out.status.code() != Some(command.exit) {
        problems.push(format!("exits {:?}, the page says {}", out.status.code(), command.exit));
    }
    for expected in command.output.iter().filter(|l| l.as_str() != "…") {
        if !shows(&lines, expected) {
            problems.push(format!("does not print `{expected}`"));
        }
    }
    // Enough of the output to see what changed, not pages of it.
    let excerpt: Vec<&str> = printed.lines().take(40).collect();
    (!problems.is_empty()).then(|| {
        format!(
            "{at}:{line}: `{written}` {}; it printed (first 40 lines):\n{}",
            problems.join(", "),
            excerpt.join("\n")
        )
    })
}

#[test]
fn console_examples_run_as_shown() {
    let mut problems = vec![];
    let mut ran = 0;
    for page in doc_pages() {
        let text = read(&page);
        let at = shown(&page);
        for fence in split_fences(&text).0 {
            let Some(mode) = console_mode(fence.info) else { continue };
            let commands = commands(&fence, &mut problems, &at);
            let dir = tempfile::tempdir().expect("temporary directory");
            copy_dir(&repo().join("fixtures"), &dir.path().join("fixtures"));
            for command in &commands {
                problems.extend(check_command(dir.path(), mode, command, &at));
                ran += usize::from(mode == Mode::Run);
            }
        }
    }
    assert!(ran > 0, "no console example ran");
    assert!(problems.is_empty(), "{} problem(s):\n\n{}", problems.len(), problems.join("\n\n"));
}

/// A page that shows how to call lockgate shows at least one call that is tested.
#[test]
fn pages_that_show_commands_have_console_examples() {
    let mut problems = vec![];
    for page in doc_pages() {
        let text = read(&page);
        let fences = split_fences(&text).0;
        let shows_commands = fences.iter().any(|f| {
            f.body.iter().any(|l| {
                let l = l.trim_start();
                l.starts_with("lockgate ") || l.starts_with("$ lockgate ")
            })
        });
        if shows_commands && !fences.iter().any(|f| console_mode(f.info).is_some()) {
            problems.push(format!("{} shows lockgate commands but no ```console example", shown(&page)));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces as dashes.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file's headings (outside code blocks), numbered as GitHub numbers
/// repeated ones.
fn anchors(text: &str) -> Vec<String> {
    let mut seen: Vec<String> = vec![];
    for (_, line) in split_fences(text).1 {
        let Some(heading) = line.strip_prefix('#') else { continue };
        let heading = heading.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let base = anchor(heading);
        let repeats = seen.iter().filter(|a| **a == base || a.starts_with(&format!("{base}-"))).count();
        seen.push(if repeats == 0 { base.clone() } else { format!("{base}-{repeats}") });
    }
    seen
}

/// The targets of a line's Markdown links `[text](target)`, outside inline code.
fn link_targets(line: &str) -> Vec<&str> {
    let mut targets = vec![];
    for (i, part) in line.split('`').enumerate() {
        if i % 2 == 1 {
            continue; // inside `code`
        }
        let mut rest = part;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            if let Some(end) = rest.find(')') {
                targets.push(rest[..end].trim());
                rest = &rest[end..];
            }
        }
    }
    targets
}

#[test]
fn relative_links_lead_to_files_and_headings_that_exist() {
    let mut files = doc_pages();
    files.extend(markdown_in(&repo().join("rules")));
    let mut problems = vec![];
    let mut checked = 0;
    for file in &files {
        let text = read(file);
        for (number, line) in split_fences(&text).1 {
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (path, heading) = match target.split_once('#') {
                    Some((path, heading)) => (path, Some(heading)),
                    None => (target, None),
                };
                let linked = if path.is_empty() { file.clone() } else { file.parent().expect("a folder").join(path) };
                let at = format!("{}:{number}", shown(file));
                if !linked.exists() {
                    problems.push(format!("{at}: `{target}`: no {}", shown(&linked)));
                    continue;
                }
                if let Some(heading) = heading {
                    if linked.extension().is_some_and(|e| e == "md")
                        && !anchors(&read(&linked)).iter().any(|a| a == heading)
                    {
                        problems.push(format!("{at}: `{target}`: {} has no heading `#{heading}`", shown(&linked)));
                    }
                }
            }
        }
    }
    assert!(checked > 0, "no relative link found");
    assert!(problems.is_empty(), "{} broken link(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn anchors_follow_github() {
    assert_eq!(anchor("Configuration: `lockgate.toml`"), "configuration-lockgatetoml");
    assert_eq!(anchor("The pre-deploy gate: `lockgate check`"), "the-pre-deploy-gate-lockgate-check");
    assert_eq!(anchors("# A\n```\n# not a heading\n```\n## A\n"), ["a", "a-1"]);
}
