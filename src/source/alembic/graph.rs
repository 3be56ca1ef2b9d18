//! The revision graph of one Alembic environment, and the order `alembic upgrade heads`
//! applies it in: every revision after its `down_revision`s and `depends_on`s; ties in file
//! order, one branch finished before the next (`RevisionMap._topological_sort`).

use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt};

use crate::ir::{Problem, ProblemKind, Span};

/// One revision as the graph needs it. Revisions are given in file order.
pub struct Revision<'a> {
    pub id: &'a str,
    /// Where `revision = …` is.
    pub span: Span,
    pub down: &'a [(String, Span)],
    pub depends_on: &'a [(String, Span)],
    pub labels: &'a [String],
    /// The file, as shown in messages.
    pub file: &'a str,
}

pub struct Graph {
    /// Indexes into the revisions, in upgrade order.
    pub order: Vec<usize>,
    /// Problems to report on a revision (by index).
    pub problems: HashMap<usize, Vec<Problem>>,
    /// Per revision, the revisions it runs after (`down_revision` and `depends_on`, resolved).
    pub parents: Vec<BTreeSet<usize>>,
}

/// Orders the revisions; `whole` says every revision of the history was read, so a parent
/// that is not among them is missing and several heads are really several heads.
pub fn order(revisions: &[Revision], whole: bool) -> Graph {
    let mut graph = Graph { order: vec![], problems: HashMap::new(), parents: vec![] };
    let by_id = graph.index(revisions);
    let mut parents: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); revisions.len()];
    // Only `down_revision` makes a branch; `depends_on` orders without merging.
    let mut versioned: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); revisions.len()];
    let mut has_child = vec![false; revisions.len()];
    for (i, revision) in revisions.iter().enumerate() {
        for (id, span) in revision.down {
            match by_id.get(id.as_str()) {
                Some(&parent) => {
                    parents[i].insert(parent);
                    versioned[i].insert(parent);
                    has_child[parent] = true;
                }
                None if whole => graph.report(i, *span, missing("down_revision", id, revision.id), MISSING_HELP),
                None => {}
            }
        }
        for (reference, span) in revision.depends_on {
            match resolve_dependency(revisions, &by_id, reference) {
                Some(parent) => {
                    parents[i].insert(parent);
                }
                None if whole => graph.report(i, *span, missing("depends_on", reference, revision.id), MISSING_HELP),
                None => {}
            }
        }
    }
    let heads: Vec<usize> =
        (0..revisions.len()).filter(|&i| !has_child[i] && by_id.get(revisions[i].id) == Some(&i)).collect();
    graph.walk(revisions, &parents, &heads);
    if whole {
        graph.check_heads(revisions, &versioned, &heads);
    }
    graph.parents = parents;
    graph
}

const MISSING_HELP: &str = "fix the reference, or lint the whole `versions` folder so lockgate sees that revision";

fn missing(field: &str, reference: &str, revision: &str) -> String {
    format!(
        "`{field}` names `{reference}`, which is not among the revisions read: Alembic fails with \"Revision {reference} referenced from {revision} is not present\""
    )
}

/// A `depends_on` entry: a revision id, a unique prefix of one, or a branch label.
fn resolve_dependency(revisions: &[Revision], by_id: &HashMap<&str, usize>, reference: &str) -> Option<usize> {
    if let Some(&exact) = by_id.get(reference) {
        return Some(exact);
    }
    let mut prefixed = by_id.iter().filter(|(id, _)| id.starts_with(reference)).map(|(_, &i)| i);
    match (prefixed.next(), prefixed.next()) {
        (Some(only), None) => Some(only),
        _ => revisions.iter().position(|r| r.labels.iter().any(|l| l == reference)),
    }
}

impl Graph {
    fn report(&mut self, revision: usize, span: Span, message: String, help: &str) {
        let problem = Problem { kind: ProblemKind::MigrationGraph, span, message, help: help.into() };
        self.problems.entry(revision).or_default().push(problem);
    }

    /// Revision ids to indexes; a second file with the same id is reported and left out.
    fn index<'a>(&mut self, revisions: &[Revision<'a>]) -> HashMap<&'a str, usize> {
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        for (i, revision) in revisions.iter().enumerate() {
            if let Some(&first) = by_id.get(revision.id) {
                let message = format!(
                    "revision id `{}` is also declared by `{}`: Alembic cannot load both",
                    revision.id, revisions[first].file
                );
                self.report(i, revision.span, message, "give one of them a new id (`alembic revision` generates one)");
                continue;
            }
            by_id.insert(revision.id, i);
        }
        by_id
    }

    /// Post-order from each head (file order), parents in file order; revisions only reachable
    /// through a cycle come last, in file order.
    fn walk(&mut self, revisions: &[Revision], parents: &[BTreeSet<usize>], heads: &[usize]) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let mut mark = vec![Mark::New; revisions.len()];
        let mut cycle = None;
        let starts = heads.iter().copied().chain(0..revisions.len());
        for start in starts {
            let mut stack = vec![(start, false)];
            while let Some((node, expanded)) = stack.pop() {
                if expanded {
                    if mark[node] != Mark::Done {
                        mark[node] = Mark::Done;
                        self.order.push(node);
                    }
                    continue;
                }
                if mark[node] != Mark::New {
                    continue;
                }
                mark[node] = Mark::Open;
                stack.push((node, true));
                for &parent in parents[node].iter().rev() {
                    match mark[parent] {
                        Mark::Open => {
                            cycle.get_or_insert(parent);
                        }
                        Mark::New => stack.push((parent, false)),
                        Mark::Done => {}
                    }
                }
            }
        }
        if let Some(member) = cycle {
            self.report(
                member,
                revisions[member].span,
                "this revision is part of a cycle of `down_revision`/`depends_on` references; lockgate broke it to keep going, but Alembic refuses to load the history".into(),
                "remove the reference that closes the cycle",
            );
        }
    }

    /// Several heads are a problem unless each sits on a branch of its own label.
    fn check_heads(&mut self, revisions: &[Revision], versioned: &[BTreeSet<usize>], heads: &[usize]) {
        if heads.len() < 2 {
            return;
        }
        let labels: Vec<BTreeSet<&str>> = heads.iter().map(|&h| branch_labels(revisions, versioned, h)).collect();
        let separate = labels.iter().enumerate().all(|(i, own)| {
            own.iter().any(|label| labels.iter().enumerate().all(|(j, other)| i == j || !other.contains(label)))
        });
        if separate {
            return;
        }
        let names: Vec<String> =
            heads.iter().map(|&h| format!("`{}` in {}", revisions[h].id, revisions[h].file)).collect();
        let last = heads[heads.len() - 1];
        self.report(
            last,
            revisions[last].span,
            format!("the history has {} heads ({}): `alembic upgrade head` refuses to run until they are merged", heads.len(), names.join(", ")),
            "run `alembic merge heads`; if the branches are meant to stay apart, give each a `branch_labels` and upgrade with `alembic upgrade heads`",
        );
    }
}

/// The branch labels of a revision and all its versioned ancestors.
fn branch_labels<'a>(revisions: &[Revision<'a>], versioned: &[BTreeSet<usize>], head: usize) -> BTreeSet<&'a str> {
    let mut seen = vec![false; revisions.len()];
    let mut stack = vec![head];
    let mut labels = BTreeSet::new();
    while let Some(node) = stack.pop() {
        if std::mem::replace(&mut seen[node], true) {
            continue;
        }
        labels.extend(revisions[node].labels.iter().map(String::as_str));
        stack.extend(versioned[node].iter().copied());
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Spec {
        id: &'static str,
        down: Vec<(String, Span)>,
        depends_on: Vec<(String, Span)>,
        labels: Vec<String>,
    }

    fn spec(id: &'static str, down: &[&str]) -> Spec {
        Spec {
            id,
            down: down.iter().map(|d| (d.to_string(), Span::default())).collect(),
            depends_on: vec![],
            labels: vec![],
        }
    }

    fn run(specs: &[Spec]) -> (Vec<&'static str>, Vec<String>) {
        let revisions: Vec<Revision> = specs
            .iter()
            .map(|s| Revision {
                id: s.id,
                span: Span::default(),
                down: &s.down,
                depends_on: &s.depends_on,
                labels: &s.labels,
                file: s.id,
            })
            .collect();
        let graph = order(&revisions, true);
        let ids = graph.order.iter().map(|&i| specs[i].id).collect();
        let mut problems: Vec<String> = graph.problems.values().flatten().map(|p| p.message.clone()).collect();
        problems.sort();
        (ids, problems)
    }

    #[test]
    fn merge_comes_after_both_branches() {
        // File order deliberately differs from the graph order.
        let (order, problems) = run(&[
            spec("merge", &["b2", "c1"]),
            spec("b2", &["b1"]),
            spec("c1", &["base"]),
            spec("b1", &["base"]),
            spec("base", &[]),
        ]);
        assert_eq!(order, vec!["base", "b1", "b2", "c1", "merge"]);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn two_heads_and_a_missing_parent_are_reported() {
        let (order, problems) = run(&[spec("a", &[]), spec("b", &["a"]), spec("c", &["a"]), spec("d", &["gone"])]);
        assert_eq!(order.len(), 4);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("3 heads")));
        assert!(problems.iter().any(|p| p.contains("`gone`")));
    }

    #[test]
    fn cycles_are_broken_and_reported() {
        let (order, problems) = run(&[spec("a", &["b"]), spec("b", &["a"])]);
        assert_eq!(order.len(), 2);
        assert!(problems.iter().any(|p| p.contains("cycle")), "{problems:?}");
    }

    #[test]
    fn labelled_branches_may_have_their_own_heads() {
        let mut first = spec("a", &[]);
        first.labels = vec!["core".into()];
        let mut second = spec("x", &[]);
        second.labels = vec!["plugin".into()];
        let mut dependent = spec("y", &["x"]);
        dependent.depends_on = vec![("core".into(), Span::default())];
        let (order, problems) = run(&[first, second, dependent]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(order, vec!["a", "x", "y"]);
    }
}
