//! The generated table of built-in functions' volatility (`lockgate::volatility`, written by
//! `scripts/pg-volatility`) checked against the test server's own `pg_proc`, on every version
//! `LOCKGATE_TEST_PG` selects.

mod common;

use std::collections::BTreeMap;

use lockgate::postgres::PgVersion;
use lockgate::volatility::{self, builtin, Volatility};

fn letter(volatility: Option<Volatility>) -> char {
    match volatility {
        Some(Volatility::Immutable) => 'i',
        Some(Volatility::Stable) => 's',
        Some(Volatility::Volatile) => 'v',
        None => '-',
    }
}

/// Every disagreement between the table and the server of this major version.
fn disagreements(major: u32) -> Vec<String> {
    let pg = PgVersion(major);
    let mut db = common::database_on(major);
    let rows = db
        .client
        .query(
            "SELECT proname::text, provolatile::text,
                    ARRAY(SELECT t.typname::text FROM unnest(proargtypes) WITH ORDINALITY a(oid, n)
                          JOIN pg_type t ON t.oid = a.oid ORDER BY n),
                    (SELECT typname::text FROM pg_type WHERE oid = prorettype)
             FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace",
            &[],
        )
        .expect("read pg_proc");
    let mut problems = vec![];
    // The most volatile overload of each name, on the server and in the table.
    let mut server: BTreeMap<String, char> = BTreeMap::new();
    for row in &rows {
        let (name, volatile): (String, String) = (row.get(0), row.get(1));
        let rank = |c: char| "isv".find(c);
        let this = volatile.chars().next().unwrap_or('-');
        let entry = server.entry(name).or_insert(this);
        if rank(this) > rank(*entry) {
            *entry = this;
        }
    }
    let table: BTreeMap<String, char> = builtin::FUNCTIONS
        .iter()
        .map(|(name, _)| (name.to_string(), letter(volatility::most_volatile(name, pg))))
        .filter(|(_, letter)| *letter != '-')
        .collect();
    for (name, letter) in &server {
        if table.get(name) != Some(letter) {
            problems.push(format!("{name}: the server says {letter}, the table {:?}", table.get(name)));
        }
    }
    for name in table.keys().filter(|name| !server.contains_key(*name)) {
        problems.push(format!("{name}: in the table for {major}, not on the server"));
    }
    // Each overload of a name whose overloads differ, called with its own argument types.
    for row in &rows {
        let (name, volatile, args, result): (String, String, Vec<String>, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if builtin::OVERLOADS.iter().any(|(n, _, _)| *n == name) {
            let types: Vec<Option<&str>> = args.iter().map(|a| Some(a.as_str())).collect();
            let found = letter(volatility::builtin(&name, &types, pg));
            if !volatile.starts_with(found) {
                problems.push(format!("{name}({}): the server says {volatile}, the table {found}", args.join(", ")));
            }
        }
        if args.is_empty() {
            if let Some(typname) = volatility::result_type(&name).filter(|t| *t != result) {
                problems.push(format!("{name}(): the server returns {result}, the table {typname}"));
            }
        }
    }
    problems
}

#[test]
fn the_volatility_table_matches_the_servers_catalog() {
    let problems: Vec<String> = common::versions()
        .into_iter()
        .flat_map(|major| disagreements(major).into_iter().map(move |p| format!("PostgreSQL {major}: {p}")))
        .collect();
    assert!(
        problems.is_empty(),
        "regenerate with scripts/pg-volatility:\n{}",
        problems.iter().take(50).cloned().collect::<Vec<_>>().join("\n")
    );
}
