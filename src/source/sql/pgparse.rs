//! PostgreSQL's parser, with the tree handed over in `pg_query`'s protobuf types.
//!
//! Two paths give the same message. The fast one (feature `fast-parse`, built when build.rs can
//! compile it) is `pgparse.c`, which writes the tree field by field instead of through upb,
//! whose encoder dominated the cost of linting SQL, and can leave out what lowering never reads
//! ([`parse_for_lowering`]). The reference one is `pg_query::parse`. `LOCKGATE_PARSER=reference`
//! forces the reference path at run time; the tests hold the two to the same trees.

use std::sync::OnceLock;

use pg_query::protobuf::ParseResult;

/// Parses `sql` into its statements, or says why PostgreSQL's parser refused it.
pub fn parse(sql: &str) -> Result<ParseResult, String> {
    parse_tree(sql, false)
}

/// [`parse`] without what [`lower`](super::lower::lower) never reads: the clauses of queries,
/// what data changes write, function bodies, comment texts. VALUES rows and the WHERE of an
/// UPDATE or DELETE are kept as one empty item, so their presence still shows. (The reference
/// path gives the whole tree, which lowers the same.)
pub fn parse_for_lowering(sql: &str) -> Result<ParseResult, String> {
    parse_tree(sql, true)
}

/// Which path parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parser {
    Fast,
    Reference,
}

/// The path in use: the fast one when it was built and `LOCKGATE_PARSER` is not `reference`.
pub fn parser() -> Parser {
    static CHOSEN: OnceLock<Parser> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let forced = std::env::var("LOCKGATE_PARSER").is_ok_and(|v| v == "reference");
        if cfg!(lockgate_fast_parse) && !forced {
            Parser::Fast
        } else {
            Parser::Reference
        }
    })
}

fn parse_tree(sql: &str, lean: bool) -> Result<ParseResult, String> {
    match parser() {
        // The fast path finds a NUL byte as it copies the text for C.
        #[cfg(lockgate_fast_parse)]
        Parser::Fast => fast::parse_tree(sql, lean),
        _ => {
            let _ = lean;
            if sql.contains('\0') {
                return Err("the text holds a NUL byte".into());
            }
            reference_parse(sql)
        }
    }
}

/// `pg_query::parse`, its refusal worded as the fast path words it.
pub fn reference_parse(sql: &str) -> Result<ParseResult, String> {
    match pg_query::parse(sql, pg_query::ParserOptions::DEFAULT) {
        Ok(result) => Ok(result.protobuf),
        Err(pg_query::Error::Parse(message)) => Err(message),
        Err(other) => Err(other.to_string()),
    }
}

#[cfg(lockgate_fast_parse)]
mod fast {
    use std::ffi::{c_char, CStr, CString};

    use pg_query::protobuf::ParseResult;
    use prost::Message;

    #[repr(C)]
    struct RawParse {
        data: *mut u8,
        len: usize,
        error: *mut c_char,
    }

    extern "C" {
        fn lockgate_parse(input: *const c_char, lean: bool) -> RawParse;
        fn lockgate_parse_free(result: RawParse);
    }

    pub fn parse_tree(sql: &str, lean: bool) -> Result<ParseResult, String> {
        let input = CString::new(sql).map_err(|_| "the text holds a NUL byte".to_string())?;
        // SAFETY: `input` is NUL-terminated and outlives the call; the result owns malloc'd
        // memory that is read before `lockgate_parse_free` releases it, exactly once.
        unsafe {
            let raw = lockgate_parse(input.as_ptr(), lean);
            let parsed = if raw.error.is_null() {
                let bytes = if raw.data.is_null() { &[][..] } else { std::slice::from_raw_parts(raw.data, raw.len) };
                ParseResult::decode(bytes).map_err(|e| format!("the parse tree could not be read: {e}"))
            } else {
                Err(CStr::from_ptr(raw.error).to_string_lossy().into_owned())
            };
            lockgate_parse_free(raw);
            parsed
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::ir::{DataChangeKind, OpKind};
    use crate::source::sql::lower::lower_statement;

    /// One statement of every kind lowering reads, and of the kinds it passes by.
    const STATEMENT_KINDS: &[&str] = &[
        "CREATE TABLE a (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n numeric(10,2) DEFAULT 1.5, \
         b bit(3) DEFAULT B'101', t text NOT NULL DEFAULT 'x' CHECK (length(t) > 0), f boolean DEFAULT false, \
         u uuid DEFAULT gen_random_uuid(), r int REFERENCES b (id) ON DELETE CASCADE)",
        "ALTER TABLE a ADD COLUMN c int DEFAULT -1, ALTER COLUMN t TYPE varchar(20) USING t::varchar, \
         ADD CONSTRAINT fk FOREIGN KEY (r) REFERENCES b (id) NOT VALID, VALIDATE CONSTRAINT fk",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON s.a USING btree (lower(t) DESC NULLS LAST) \
         INCLUDE (n) WHERE f IS NOT NULL",
        "INSERT INTO a (t, n) VALUES ('a', 1), ('b', -2.5), (NULL, 3e10) ON CONFLICT (t) DO UPDATE SET n = EXCLUDED.n",
        "UPDATE a SET n = n + 1 WHERE id IN (SELECT id FROM a WHERE n < 0 LIMIT 1000) RETURNING id",
        "WITH x AS (DELETE FROM a WHERE id = $1 RETURNING *) SELECT count(*) FILTER (WHERE f) OVER (PARTITION BY t) FROM x",
        "COMMENT ON COLUMN a.t IS 'text'; GRANT SELECT ON a TO reader; SET lock_timeout = '5s'",
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        "DO $$ BEGIN PERFORM 1; END $$; BEGIN; LOCK TABLE a IN ACCESS EXCLUSIVE MODE; COMMIT",
        "CREATE TYPE mood AS ENUM ('sad', 'ok'); ALTER TYPE mood ADD VALUE 'happy' AFTER 'ok'",
        "CREATE MATERIALIZED VIEW v AS SELECT t, sum(n) FROM a GROUP BY ROLLUP (t) WITH NO DATA",
        "SELECT CASE WHEN x BETWEEN 1 AND 2 THEN ARRAY[1,2] ELSE '{}'::int[] END, x::json->>'k' FROM generate_series(1, 3) x",
        "CREATE TABLE p (d date NOT NULL) PARTITION BY RANGE (d); CREATE TABLE p1 PARTITION OF p FOR VALUES FROM ('2024-01-01') TO (MAXVALUE)",
        "SELECT 1; ;; SELECT 2",
        "",
    ];

    /// Data changes and queries in the shapes the lean tree cuts down.
    const DATA_CHANGES: &[&str] = &[
        "INSERT INTO a VALUES (1), (2), (3)",
        "INSERT INTO a (t) SELECT t FROM b WHERE f UNION ALL SELECT 'x'",
        "INSERT INTO a DEFAULT VALUES",
        "WITH s AS (SELECT 1) INSERT INTO a SELECT * FROM s ON CONFLICT DO NOTHING RETURNING id",
        "UPDATE a SET n = 0",
        "UPDATE a SET n = b.n FROM b WHERE a.id = b.id AND b.n > (SELECT avg(n) FROM b) RETURNING a.id",
        "DELETE FROM a",
        "DELETE FROM a USING b WHERE a.id = b.id RETURNING a.*",
        "CREATE VIEW v AS SELECT id FROM a WHERE n > 0",
        "CREATE TABLE c AS SELECT * FROM a WITH NO DATA",
        "CREATE OR REPLACE FUNCTION g(x int DEFAULT 1) RETURNS int LANGUAGE sql AS 'SELECT x'",
        "COMMENT ON TABLE a IS 'a long comment'",
        "ALTER TABLE a ADD COLUMN d timestamptz DEFAULT (SELECT now())",
        "SELECT * INTO TEMP t FROM a",
    ];

    /// Every SQL fixture and every SQL example of the rule pages, whole, as the linter reads them.
    fn fixture_and_rule_texts() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = vec![];
        for entry in walkdir::WalkDir::new(root.join("fixtures")).into_iter().filter_map(Result::ok) {
            if entry.path().extension().is_some_and(|e| e == "sql") {
                texts.push(std::fs::read_to_string(entry.path()).expect("fixture is UTF-8"));
            }
        }
        for entry in std::fs::read_dir(root.join("rules")).expect("rules/ exists").filter_map(Result::ok) {
            let page = std::fs::read_to_string(entry.path()).expect("rule page is UTF-8");
            texts
                .extend(page.split("```sql\n").skip(1).filter_map(|block| block.split("```").next()).map(String::from));
        }
        assert!(texts.len() > 100, "found only {} texts", texts.len());
        texts
    }

    /// The writer must yield exactly libpg_query's own message: the planner deparses these trees.
    #[cfg(lockgate_fast_parse)]
    fn same_as_pg_query(sql: &str) {
        let ours = fast::parse_tree(sql, false).expect("parses");
        let theirs = pg_query::parse(sql, pg_query::ParserOptions::DEFAULT).expect("parses").protobuf;
        assert_eq!(ours, theirs, "{sql}");
    }

    /// What the linter sees of each statement: its place and its ops.
    fn lowered(tree: &ParseResult) -> Vec<(i32, i32, Vec<OpKind>)> {
        tree.stmts.iter().map(|raw| (raw.stmt_location, raw.stmt_len, lower_statement(raw))).collect()
    }

    #[cfg(lockgate_fast_parse)]
    #[test]
    fn trees_match_pg_query_on_every_statement_kind() {
        for sql in STATEMENT_KINDS.iter().chain(DATA_CHANGES) {
            same_as_pg_query(sql);
        }
    }

    /// Every fixture and rule example: the same tree, or the same refusal, by both paths.
    #[cfg(lockgate_fast_parse)]
    #[test]
    fn trees_match_pg_query_on_fixtures_and_rule_examples() {
        for text in &fixture_and_rule_texts() {
            assert_eq!(fast::parse_tree(text, false), reference_parse(text), "{text}");
        }
    }

    /// Without the fast path (feature off, or it could not be built) the reference path parses.
    #[test]
    fn the_parser_in_use_is_the_fast_one_when_built() {
        let expected = if cfg!(lockgate_fast_parse) && std::env::var("LOCKGATE_PARSER").as_deref() != Ok("reference") {
            Parser::Fast
        } else {
            Parser::Reference
        };
        assert_eq!(parser(), expected);
        assert_eq!(parse("SELECT 1"), reference_parse("SELECT 1"));
    }

    /// What the lean tree leaves out, lowering never reads: every statement lowers to the same
    /// ops at the same place, and every refusal is the same refusal.
    #[test]
    fn lean_trees_lower_like_whole_trees() {
        let texts = fixture_and_rule_texts();
        let all = STATEMENT_KINDS.iter().chain(DATA_CHANGES).copied().chain(texts.iter().map(String::as_str));
        for sql in all {
            match (parse(sql), parse_for_lowering(sql)) {
                (Ok(whole), Ok(lean)) => assert_eq!(lowered(&lean), lowered(&whole), "{sql}"),
                (whole, lean) => assert_eq!(lean.err(), whole.err(), "{sql}"),
            }
        }
    }

    #[test]
    fn lean_trees_drop_rows_but_keep_what_tells_data_changes_apart() {
        let rows = format!("INSERT INTO a (t, n) VALUES {}", vec!["('row', 1)"; 500].join(", "));
        let (whole, lean) = (parse(&rows).unwrap(), parse_for_lowering(&rows).unwrap());
        if parser() == Parser::Fast {
            assert!(lean.encoded_len() * 20 < whole.encoded_len(), "{} vs {}", lean.encoded_len(), whole.encoded_len());
        }

        let kind = |sql: &str| match lowered(&parse_for_lowering(sql).unwrap()).remove(0).2.remove(0) {
            OpKind::DataChange { kind, has_where, .. } => (kind, has_where),
            other => panic!("{sql}: {other:?}"),
        };
        assert_eq!(kind(&rows), (DataChangeKind::Insert, true));
        assert_eq!(kind("INSERT INTO a SELECT * FROM b"), (DataChangeKind::InsertSelect, true));
        assert_eq!(kind("UPDATE a SET n = 0"), (DataChangeKind::Update, false));
        assert_eq!(kind("UPDATE a SET n = 0 WHERE id < 10"), (DataChangeKind::Update, true));
        assert_eq!(kind("DELETE FROM a"), (DataChangeKind::Delete, false));
        assert_eq!(kind("DELETE FROM a WHERE id IN (SELECT id FROM b)"), (DataChangeKind::Delete, true));
    }

    #[test]
    fn refusals_carry_the_parser_message() {
        let error = parse("ALTER TABLE a ADD COLUMN").unwrap_err();
        assert_eq!(error, reference_parse("ALTER TABLE a ADD COLUMN").unwrap_err());
        assert!(error.starts_with("syntax error at end of input"), "{error}");
        assert_eq!(parse("SELECT '\0'").unwrap_err(), "the text holds a NUL byte");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let parenthesized = format!("SELECT {}1{}", "(".repeat(20_000), ")".repeat(20_000));
        assert!(parse(&parenthesized).is_err());
        // The parser takes this one; the tree is too deep to hand over, for pg_query too.
        let chain = format!("SELECT 1{}", " || 1".repeat(6_000));
        assert!(parse(&chain).is_err());
        assert!(pg_query::parse(&chain, pg_query::ParserOptions::DEFAULT).is_err());
    }
}
