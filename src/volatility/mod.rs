//! How often PostgreSQL evaluates a function: `pg_proc.provolatile` of the built-in functions,
//! per supported version. A column added with a volatile default is rewritten, since every row
//! needs a value of its own; any other default is evaluated once and stored in the catalog.
//!
//! The table in [`builtin`] is generated from real servers by `scripts/pg-volatility` and
//! compared with the test server's catalog by `tests/volatility.rs`. A function it does not list
//! (a user's or an extension's) is unknown, and the conservative reading of unknown is volatile.

pub mod builtin;

use crate::postgres::PgVersion;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Volatility {
    Immutable,
    Stable,
    Volatile,
}

impl Volatility {
    /// From the `pg_proc.provolatile` letter.
    pub fn from_letter(letter: u8) -> Option<Volatility> {
        match letter {
            b'i' => Some(Volatility::Immutable),
            b's' => Some(Volatility::Stable),
            b'v' => Some(Volatility::Volatile),
            _ => None,
        }
    }
}

/// The versions the table covers, oldest first; a version outside it reads as the nearest.
const FIRST: u32 = PgVersion::OLDEST.0;
const LAST: u32 = PgVersion::NEWEST.0;

/// A set of supported PostgreSQL versions (11–18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Versions(u8);

impl Versions {
    pub const NONE: Versions = Versions(0);
    pub const ALL: Versions = Versions(u8::MAX);

    pub fn contains(self, pg: PgVersion) -> bool {
        self.0 & bit(pg) != 0
    }

    pub fn with(self, pg: PgVersion) -> Versions {
        Versions(self.0 | bit(pg))
    }

    pub fn union(self, other: Versions) -> Versions {
        Versions(self.0 | other.0)
    }

    /// Every supported version, oldest first.
    pub fn supported() -> impl Iterator<Item = PgVersion> {
        (FIRST..=LAST).map(PgVersion)
    }
}

/// As the list of majors (`[11, 12, 13, 14]`).
impl serde::Serialize for Versions {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(Versions::supported().filter(|pg| self.contains(*pg)).map(|pg| pg.0))
    }
}

fn bit(pg: PgVersion) -> u8 {
    1 << (pg.0.clamp(FIRST, LAST) - FIRST)
}

/// One version's letter of a generated entry: one letter for every version, or one per version.
fn letter_on(letters: &str, pg: PgVersion) -> Option<Volatility> {
    let letters = letters.as_bytes();
    let letter = if letters.len() == 1 { letters[0] } else { letters[(pg.0.clamp(FIRST, LAST) - FIRST) as usize] };
    Volatility::from_letter(letter)
}

/// What lockgate can tell of an argument's type without a catalog of the user's objects.
pub type ArgType<'a> = Option<&'a str>;

/// The volatility of a call of the built-in function `name` with arguments of these types
/// (`None` where unknown) on version `pg`; `None` when `pg` has no built-in of that name.
/// Overloads that differ in volatility are told apart by the argument count and known types;
/// when the arguments do not decide, the most volatile overload counts.
pub fn builtin(name: &str, args: &[ArgType], pg: PgVersion) -> Option<Volatility> {
    let most_volatile = most_volatile(name, pg)?;
    let matching: Vec<Volatility> = builtin::OVERLOADS
        .iter()
        .filter(|(n, params, _)| *n == name && accepts(params, args))
        .filter_map(|(_, _, letters)| letter_on(letters, pg))
        .collect();
    Some(matching.into_iter().max().unwrap_or(most_volatile))
}

/// The volatility of the most volatile overload of the built-in function `name` on `pg`.
pub fn most_volatile(name: &str, pg: PgVersion) -> Option<Volatility> {
    let found = builtin::FUNCTIONS.binary_search_by(|(n, _)| n.cmp(&name)).ok()?;
    letter_on(builtin::FUNCTIONS[found].1, pg)
}

/// Whether an overload with these parameter types (comma-separated `typname`s) matches the
/// arguments: the same count, and the same type wherever the argument's type is known.
/// PostgreSQL prefers an exact match, so a known type rules the other overloads out.
fn accepts(params: &str, args: &[ArgType]) -> bool {
    let params: Vec<&str> = if params.is_empty() { vec![] } else { params.split(',').collect() };
    params.len() == args.len()
        && params.iter().zip(args).all(|(param, arg)| arg.is_none_or(|arg| same_type(param, arg)))
}

fn same_type(typname: &str, name: &str) -> bool {
    let canonical = crate::postgres::canonical_type_name;
    canonical(typname) == canonical(name)
}

/// The result type of the built-in function `name` called without arguments.
pub fn result_type(name: &str) -> Option<&'static str> {
    let found = builtin::RESULT_TYPES.binary_search_by(|(n, _)| n.cmp(&name)).ok()?;
    Some(builtin::RESULT_TYPES[found].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(builtin::FUNCTIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(builtin::RESULT_TYPES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn volatility_per_version() {
        let v = |name, args: &[ArgType], pg| builtin(name, args, PgVersion(pg));
        assert_eq!(v("pi", &[], 11), Some(Volatility::Immutable));
        assert_eq!(v("now", &[], 18), Some(Volatility::Stable));
        assert_eq!(v("random", &[], 15), Some(Volatility::Volatile));
        // Built in from 13; before that only pgcrypto's, which the table does not know.
        assert_eq!(v("gen_random_uuid", &[], 12), None);
        assert_eq!(v("gen_random_uuid", &[], 13), Some(Volatility::Volatile));
        // timezone(text, timetz) was volatile before 15; the timestamptz overload never was.
        assert_eq!(v("timezone", &[None, Some("timestamptz")], 11), Some(Volatility::Immutable));
        assert_eq!(v("timezone", &[None, Some("timetz")], 14), Some(Volatility::Volatile));
        assert_eq!(v("timezone", &[None, None], 14), Some(Volatility::Volatile));
        assert_eq!(v("timezone", &[None, None], 15), Some(Volatility::Stable));
        assert_eq!(v("ts_rewrite", &[None, None, None], 17), Some(Volatility::Immutable));
        assert_eq!(v("my_function", &[], 17), None);
    }

    #[test]
    fn versions_outside_the_table_read_as_the_nearest() {
        assert!(Versions::NONE.with(PgVersion(18)).contains(PgVersion(19)));
        assert!(Versions::NONE.with(PgVersion(11)).contains(PgVersion(10)));
        assert!(!Versions::NONE.with(PgVersion(11)).contains(PgVersion(12)));
    }
}
