//! `lockgate trace`: the migrations run on a scratch database, each statement's locks,
//! rewrites and scans read from the server beside what lint's lock model predicts.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::lint::{self, Color, FailOn, Format};
use super::Error;
use crate::live::{self, Session};
use crate::trace::{self, Options, Outcome, Trace};

#[derive(Args)]
pub struct TraceArgs {
    /// Migration files or folders (Django, Alembic and SQL, in any mix).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The scratch database to run them on. Never read from the environment: trace changes the
    /// database it is given.
    #[arg(long, value_name = "URL")]
    database_url: String,
    /// Run every migration read, from the first, on an empty database; by default only those the
    /// database's history tables do not record.
    #[arg(long)]
    all: bool,
    /// Run even though tables of the database hold rows.
    #[arg(long)]
    allow_data: bool,
    /// Do not insert a row into each table the migrations create (scans of empty tables and
    /// rewrites of them are then harder to see).
    #[arg(long)]
    no_seed: bool,
    /// Output format [default: text, or github when GITHUB_ACTIONS=true].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Exit with 1 when a finding at or above this severity remains.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// Read settings from this file instead of the nearest lockgate.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Exit 0 when the paths hold no migration (by default that is an error: nothing was traced).
    #[arg(long)]
    allow_empty: bool,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

pub fn run(args: TraceArgs) -> Result<u8, Error> {
    let config = super::config_for(args.config.as_ref())?;
    let migrations = crate::lint::read(&args.paths, &config, args.allow_empty)?.migrations;
    let target = live::Endpoint::parse(&args.database_url).map_err(Error::Target)?;
    let mut session = Session::open_writable(&target).map_err(Error::at(&target))?;
    let options = Options { all: args.all, allow_data: args.allow_data, no_seed: args.no_seed };
    let trace = trace::trace(&mut session, migrations, &config, options)
        .map_err(|source| Error::Trace { database: target.display.clone(), source })?;

    let mut stdout = std::io::stdout().lock();
    let statements = match lint::format_or_default(args.format) {
        Format::Text => stdout.write_all(text(&trace, &target.display).as_bytes()),
        _ => Ok(()),
    };
    let written = statements
        .and_then(|()| lint::write_findings(args.format, args.color, &trace.result, &config, &mut stdout))
        .and_then(|()| stdout.flush());
    super::output::delivered(written, "the trace")?;
    if let Some(error) = &trace.failed {
        return Err(Error::TraceStopped(error.clone()));
    }
    Ok(lint::exit_code(args.fail_on, &trace.result))
}

/// Each statement with the model's prediction and what the server did.
fn text(trace: &Trace, database: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "trace · {database} · PostgreSQL {}", trace.server_version);
    let mut current = None;
    for traced in &trace.statements {
        let migration = &trace.migrations[traced.migration];
        if current != Some(traced.migration) {
            current = Some(traced.migration);
            let _ = writeln!(out, "\n{} ({})", migration.id, migration.source.display_path());
        }
        let first = traced.sql.first().map_or_else(|| "(sends no SQL)".to_string(), |s| first_line(s));
        let more = if traced.sql.len() > 1 { format!(" (+{} more)", traced.sql.len() - 1) } else { String::new() };
        let _ = writeln!(out, "  line {}: {first}{more}", traced.line);
        match &traced.outcome {
            Outcome::Traced { model, seen, mismatches } => {
                let predicted: Vec<String> = model
                    .iter()
                    .map(|p| {
                        let work = p.work.map(|w| format!(", {}", w.describe())).unwrap_or_default();
                        format!("{} on {}{work}", p.mode, p.relation)
                    })
                    .collect();
                let _ = writeln!(out, "    model:  {}", or_none(&predicted, "no lock"));
                let mut server: Vec<String> = if seen.locks_observed {
                    seen.locks
                        .iter()
                        .map(|(relation, mode, held)| {
                            format!("{mode} on {relation}{}", if *held { " (held before)" } else { "" })
                        })
                        .collect()
                } else {
                    vec!["locks not observable (runs outside a transaction)".into()]
                };
                server.extend(seen.rewritten.iter().map(|t| format!("rewrote {t}")));
                server.extend(seen.scans.iter().map(|(t, s)| {
                    format!("scanned {t} ({} seq, {} rows read, {} index)", s.seq_scan, s.seq_tup_read, s.idx_scan)
                }));
                // How long the locks it took were held: in a transaction, until its end.
                let took = seen.locks.iter().any(|(_, _, held_before)| !held_before);
                let held = match seen.held_for {
                    Some(held) if took && traced.in_transaction => {
                        format!(" · locks held {} ms", held.as_millis())
                    }
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "    server: {} · {} ms{held}{}",
                    or_none(&server, "no new lock"),
                    seen.duration.as_millis(),
                    if traced.in_transaction { "" } else { " · autocommit" }
                );
                for mismatch in mismatches {
                    let _ = writeln!(out, "    mismatch: {}", mismatch.message);
                }
            }
            Outcome::Control => {}
            Outcome::NotTraced(why) => {
                let _ = writeln!(out, "    not traced: {why}");
            }
            Outcome::Failed(error) => {
                let _ = writeln!(out, "    failed: {error}");
            }
            Outcome::NotReached => {
                let _ = writeln!(out, "    not run: an earlier statement failed");
            }
        }
    }
    for note in &trace.notes {
        let _ = writeln!(out, "\nnote: {note}");
    }
    out.push('\n');
    out
}

fn first_line(sql: &str) -> String {
    let line = sql.trim().lines().next().unwrap_or_default();
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(79).collect::<String>())
    } else {
        line.to_string()
    }
}

fn or_none(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_string()
    } else {
        items.join(", ")
    }
}
