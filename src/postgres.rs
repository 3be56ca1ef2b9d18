//! What every layer names about the server itself: its major version and the features that
//! arrived with each, its eight table-level lock modes, and its spelling of built-in type names.
//! It sits below the IR, so the IR, the lock table and the front ends share one definition.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The eight table-level lock modes, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    pub const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// The SQL spelling, as in `LOCK TABLE … IN <mode> MODE`.
    pub fn sql_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// The spelling in `pg_locks.mode`.
    pub fn pg_locks_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    pub fn from_pg_locks_name(name: &str) -> Option<LockMode> {
        LockMode::ALL.into_iter().find(|m| m.pg_locks_name() == name)
    }

    /// The conflict table of the PostgreSQL documentation (§13.3, Table 13.2).
    pub fn conflicts_with(self, other: LockMode) -> bool {
        use LockMode::*;
        let conflicts: &[LockMode] = match self {
            AccessShare => &[AccessExclusive],
            RowShare => &[Exclusive, AccessExclusive],
            RowExclusive => &[Share, ShareRowExclusive, Exclusive, AccessExclusive],
            ShareUpdateExclusive => &[ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive],
            Share => &[RowExclusive, ShareUpdateExclusive, ShareRowExclusive, Exclusive, AccessExclusive],
            ShareRowExclusive => {
                &[RowExclusive, ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive]
            }
            Exclusive => {
                &[RowShare, RowExclusive, ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive]
            }
            AccessExclusive => &LockMode::ALL,
        };
        conflicts.contains(&other)
    }

    /// Does this lock stop application writes (INSERT/UPDATE/DELETE)?
    pub fn blocks_writes(self) -> bool {
        self.conflicts_with(LockMode::RowExclusive)
    }

    /// What application traffic waits while the lock is held, in words.
    pub fn blocks(self) -> &'static str {
        match self {
            LockMode::AccessExclusive => "blocks every read and write",
            LockMode::Exclusive => "blocks writes and SELECT … FOR UPDATE; plain reads continue",
            LockMode::ShareRowExclusive | LockMode::Share => "blocks writes (INSERT, UPDATE, DELETE); reads continue",
            LockMode::ShareUpdateExclusive => "blocks other schema changes and VACUUM; reads and writes continue",
            LockMode::RowExclusive | LockMode::RowShare | LockMode::AccessShare => {
                "blocks only schema changes that need a stronger lock"
            }
        }
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sql_name())
    }
}

/// Server major version; decides version-gated behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PgVersion(pub u32);

impl PgVersion {
    pub const DEFAULT: PgVersion = PgVersion(17);
    pub const OLDEST: PgVersion = PgVersion(11);
    pub const NEWEST: PgVersion = PgVersion(18);
}

impl PgVersion {
    /// Whether this server version has the behaviour or syntax.
    pub fn supports(self, feature: Feature) -> bool {
        self >= feature.since()
    }
}

/// Every server behaviour or syntax that changed across the supported versions (11–18), with
/// the version it arrived in. Rules, recipes and the lock table ask `PgVersion::supports`, so
/// each gate is written once; `tests/lock_model.rs` checks each against servers on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    /// ADD COLUMN with a non-volatile default stores it in the catalog instead of rewriting.
    FastColumnDefault,
    /// SET NOT NULL skips its scan when a valid CHECK (col IS NOT NULL) proves it.
    SetNotNullFromCheck,
    /// ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent (was ACCESS EXCLUSIVE).
    AttachPartitionShareUpdateExclusive,
    /// ALTER INDEX … RENAME takes SHARE UPDATE EXCLUSIVE (was ACCESS EXCLUSIVE).
    RenameIndexShareUpdateExclusive,
    /// REINDEX … CONCURRENTLY.
    ReindexConcurrently,
    /// GENERATED ALWAYS AS (…) STORED columns.
    StoredGeneratedColumns,
    /// ALTER TYPE … ADD VALUE inside a transaction block.
    AddEnumValueInTransaction,
    /// DETACH PARTITION … CONCURRENTLY; plain DETACH then takes ACCESS EXCLUSIVE on the
    /// partition too (it took SHARE UPDATE EXCLUSIVE before).
    DetachPartitionConcurrently,
    /// NOT NULL constraints that can be added NOT VALID and validated later.
    NotNullNotValid,
    /// Virtual generated columns (computed on read, no rewrite), the default kind.
    VirtualGeneratedColumns,
    /// `timestamp` ↔ `timestamptz` relabels without a rewrite when the session's TimeZone is
    /// UTC (or another zone with a zero offset all year).
    TimestampTimeZoneRelabelInUtc,
}

impl Feature {
    pub const ALL: [Feature; 11] = [
        Feature::FastColumnDefault,
        Feature::SetNotNullFromCheck,
        Feature::AttachPartitionShareUpdateExclusive,
        Feature::RenameIndexShareUpdateExclusive,
        Feature::ReindexConcurrently,
        Feature::StoredGeneratedColumns,
        Feature::AddEnumValueInTransaction,
        Feature::DetachPartitionConcurrently,
        Feature::NotNullNotValid,
        Feature::VirtualGeneratedColumns,
        Feature::TimestampTimeZoneRelabelInUtc,
    ];

    /// The first major version with it.
    pub fn since(self) -> PgVersion {
        PgVersion(match self {
            Feature::FastColumnDefault => 11,
            Feature::SetNotNullFromCheck
            | Feature::AttachPartitionShareUpdateExclusive
            | Feature::RenameIndexShareUpdateExclusive
            | Feature::ReindexConcurrently
            | Feature::StoredGeneratedColumns
            | Feature::AddEnumValueInTransaction
            | Feature::TimestampTimeZoneRelabelInUtc => 12,
            Feature::DetachPartitionConcurrently => 14,
            Feature::NotNullNotValid | Feature::VirtualGeneratedColumns => 18,
        })
    }
}

impl Default for PgVersion {
    fn default() -> Self {
        PgVersion::DEFAULT
    }
}

/// One spelling for each built-in type's aliases (`int4`, `int`, `integer` → `integer`), so a
/// type read from SQL, from a framework's field or from the live catalog compares equal.
pub fn canonical_type_name(raw: &str) -> String {
    match raw {
        "int" | "int4" | "integer" => "integer",
        "int8" | "bigint" => "bigint",
        "int2" | "smallint" => "smallint",
        "float4" | "real" => "real",
        "float8" | "double precision" => "double precision",
        "bool" | "boolean" => "boolean",
        "varchar" | "character varying" => "varchar",
        "bpchar" | "char" | "character" => "char",
        "decimal" | "numeric" => "numeric",
        "timestamptz" | "timestamp with time zone" => "timestamptz",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "timetz" | "time with time zone" => "timetz",
        "time" | "time without time zone" => "time",
        "serial" | "serial4" => "serial",
        "bigserial" | "serial8" => "bigserial",
        "smallserial" | "serial2" => "smallserial",
        other => other,
    }
    .to_string()
}
