//! Tables no deploy has filled yet. A finding about the work a migration does on a table (a
//! rewrite, a scan, an index build) is moot when that table is certainly empty as the migration
//! runs — not only when the migration itself creates it (the rules see that), but when an
//! earlier migration of the same release does. Such findings stay, as notes that say why, so
//! nothing passes in silence.

use foldhash::HashSet;

use crate::ir::Migration;
use crate::rules::Violation;

/// Per migration: has no deploy run it yet, and does it run only on new installs?
pub struct Unpopulated<'a> {
    migrations: &'a [Migration],
    unreleased: &'a [bool],
    new_installs_only: Vec<bool>,
}

impl<'a> Unpopulated<'a> {
    /// `unreleased[index]`: the migration is part of the release being checked — added by the
    /// change under review, or pending on the live database — so no deploy has run it.
    pub fn new(migrations: &'a [Migration], unreleased: &'a [bool]) -> Self {
        let ids: HashSet<&str> = migrations.iter().map(|m| m.id.as_str()).collect();
        // A squashed Django migration whose replaced migrations are gone from the project runs
        // only on a database that applied none of them: Django marks it applied wherever they
        // all ran, and cannot migrate one where only some did.
        let new_installs_only = migrations
            .iter()
            .map(|m| !m.replaces.is_empty() && m.replaces.iter().all(|r| !ids.contains(r.as_str())))
            .collect();
        Unpopulated { migrations, unreleased, new_installs_only }
    }

    /// Why the table `violation` is about is certainly empty when migration `index` runs, if
    /// it is: the words to add to the finding.
    pub fn why_empty(&self, index: usize, violation: &Violation) -> Option<String> {
        let (table, created_by) = violation.table_origin.as_ref()?;
        let created_by = *created_by;
        // Created by this migration: the rules themselves know it is empty.
        if created_by >= index {
            return None;
        }
        let creator = &self.migrations[created_by].id;
        if self.unreleased[index] && self.unreleased[created_by] {
            return Some(format!(
                "`{table}` is created by `{creator}`, which no deploy has run yet, and nothing writes rows to it \
                 before this, so it is still empty when this runs: harmless now"
            ));
        }
        if self.new_installs_only[index] && self.new_installs_only[created_by] {
            let replaced = self.migrations[index].replaces.len();
            return Some(format!(
                "this squashed migration runs only on a database that applied none of the {replaced} migrations \
                 it replaces: a new install, where `{table}` (from the squashed `{creator}`) is empty"
            ));
        }
        None
    }
}
