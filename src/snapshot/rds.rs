//! RDS and Aurora snapshots through the AWS SDK. The identifier may name a DB instance (a
//! member of an Aurora or Multi-AZ DB cluster snapshots its cluster, since its storage is the
//! cluster's) or a cluster. Credentials come from the SDK's standard chain; `endpoint_url`
//! (or `AWS_ENDPOINT_URL`) points it elsewhere, for tests.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_rds::types::Tag;
use aws_sdk_rds::Client;
use aws_smithy_http_client::tls;

use super::poll::{self, State};
use super::{Log, Purpose, Snapshot, SnapshotError};
use crate::config::SnapshotConfig;

/// What the identifier names.
enum Source {
    Instance {
        id: String,
        single_az: bool,
    },
    /// `instance_class` is set for a Multi-AZ DB cluster, whose restore needs one.
    Cluster {
        id: String,
        engine: String,
        instance_class: Option<String>,
    },
}

impl Source {
    fn restore(&self, snapshot: &str) -> String {
        match self {
            Source::Instance { id, .. } => format!(
                "aws rds restore-db-instance-from-db-snapshot --db-instance-identifier {id}-restored \
                 --db-snapshot-identifier {snapshot}"
            ),
            Source::Cluster { id, engine, instance_class: Some(class) } => format!(
                "aws rds restore-db-cluster-from-snapshot --db-cluster-identifier {id}-restored \
                 --snapshot-identifier {snapshot} --engine {engine} --db-cluster-instance-class {class}"
            ),
            Source::Cluster { id, engine, instance_class: None } => format!(
                "aws rds restore-db-cluster-from-snapshot --db-cluster-identifier {id}-restored \
                 --snapshot-identifier {snapshot} --engine {engine}   (then add an instance to it with \
                 `aws rds create-db-instance --db-cluster-identifier {id}-restored …`)"
            ),
        }
    }

    fn id(&self) -> &str {
        match self {
            Source::Instance { id, .. } | Source::Cluster { id, .. } => id,
        }
    }
}

pub fn take(id: &str, purpose: &Purpose, config: &SnapshotConfig, log: Log) -> Result<Snapshot, SnapshotError> {
    let runtime = runtime()?;
    let client = runtime.block_on(client(config));
    let source = runtime.block_on(source(&client, id))?;
    if let Source::Instance { id, single_az: true } = &source {
        log(&format!(
            "warning: {id} is a Single-AZ instance: its I/O is suspended briefly (seconds to minutes) while the snapshot starts"
        ));
    }
    let snapshot = runtime.block_on(create(&client, &source, purpose, log))?;
    let mut clock = poll::Wall::start();
    poll::until_available(
        &snapshot,
        || runtime.block_on(state(&client, &source, &snapshot)),
        &mut clock,
        Duration::from_secs(config.poll_interval_s.max(1)),
        Duration::from_secs(config.timeout_s),
        log,
    )?;
    let restore = source.restore(&snapshot);
    Ok(Snapshot { provider: "rds".into(), id: snapshot, restore })
}

pub fn list(id: &str, config: &SnapshotConfig) -> Result<Vec<(String, String, String)>, SnapshotError> {
    let runtime = runtime()?;
    let client = runtime.block_on(client(config));
    let source = runtime.block_on(source_any_state(&client, id))?;
    runtime.block_on(ours(&client, &source))
}

pub fn prune(id: &str, keep: usize, config: &SnapshotConfig) -> Result<Vec<String>, SnapshotError> {
    let runtime = runtime()?;
    let client = runtime.block_on(client(config));
    let source = runtime.block_on(source_any_state(&client, id))?;
    let snapshots = runtime.block_on(ours(&client, &source))?;
    let mut deleted = vec![];
    for (snapshot, _, _) in snapshots.into_iter().skip(keep) {
        runtime.block_on(delete(&client, &source, &snapshot))?;
        deleted.push(snapshot);
    }
    Ok(deleted)
}

fn runtime() -> Result<tokio::runtime::Runtime, SnapshotError> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(SnapshotError::Runtime)
}

async fn client(config: &SnapshotConfig) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(region) = &config.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}

/// The instance or cluster, which must be `available` for a snapshot.
async fn source(client: &Client, id: &str) -> Result<Source, SnapshotError> {
    let (source, status) = lookup(client, id).await?;
    match status.as_str() {
        "available" => Ok(source),
        other => Err(SnapshotError::SourceUnavailable { id: id.to_string(), status: other.to_string() }),
    }
}

async fn source_any_state(client: &Client, id: &str) -> Result<Source, SnapshotError> {
    lookup(client, id).await.map(|(source, _)| source)
}

/// An instance by that id (its cluster, when it has one), else a cluster; with its status.
async fn lookup(client: &Client, id: &str) -> Result<(Source, String), SnapshotError> {
    match client.describe_db_instances().db_instance_identifier(id).send().await {
        Ok(out) => {
            let instance = out.db_instances().first().ok_or_else(|| not_found(id))?;
            match instance.db_cluster_identifier() {
                Some(cluster) => cluster_lookup(client, cluster).await,
                None => {
                    let single_az = !instance.multi_az().unwrap_or(false);
                    let status = instance.db_instance_status().unwrap_or("unknown").to_string();
                    Ok((Source::Instance { id: id.to_string(), single_az }, status))
                }
            }
        }
        Err(error) if error.as_service_error().is_some_and(|e| e.is_db_instance_not_found_fault()) => {
            cluster_lookup(client, id).await
        }
        Err(error) => Err(explain(&error, "rds:DescribeDBInstances")),
    }
}

async fn cluster_lookup(client: &Client, id: &str) -> Result<(Source, String), SnapshotError> {
    match client.describe_db_clusters().db_cluster_identifier(id).send().await {
        Ok(out) => {
            let cluster = out.db_clusters().first().ok_or_else(|| not_found(id))?;
            let engine = cluster.engine().unwrap_or("aurora-postgresql").to_string();
            let status = cluster.status().unwrap_or("unknown").to_string();
            let instance_class = cluster.db_cluster_instance_class().map(str::to_string);
            Ok((Source::Cluster { id: id.to_string(), engine, instance_class }, status))
        }
        Err(error) if error.as_service_error().is_some_and(|e| e.is_db_cluster_not_found_fault()) => Err(not_found(id)),
        Err(error) => Err(explain(&error, "rds:DescribeDBClusters")),
    }
}

fn not_found(id: &str) -> SnapshotError {
    SnapshotError::NotFound { id: id.to_string() }
}

fn tags(purpose: &Purpose) -> Vec<Tag> {
    let migrations = tag_value(&purpose.migrations.join(" "));
    [
        ("tool", "lockgate"),
        ("lockgate:plan", purpose.plan_checksum),
        ("lockgate:phase", purpose.phase),
        ("lockgate:migrations", migrations.as_str()),
    ]
    .iter()
    .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
    .collect()
}

/// Creates the snapshot under the phase's id. When that id is taken by a snapshot of this plan
/// and phase of the same source, still usable or on its way (a crash after it was requested,
/// before it was journaled), it is that snapshot; when by any other (someone else's, another
/// instance's, a failed one), the next free `-2`, `-3`, ….
async fn create(
    client: &Client,
    source: &Source,
    purpose: &Purpose<'_>,
    log: Log<'_>,
) -> Result<String, SnapshotError> {
    let base = purpose.snapshot_id();
    for attempt in 1..=20 {
        let snapshot = if attempt == 1 { base.clone() } else { format!("{base}-{attempt}") };
        let created = match source {
            Source::Instance { id, .. } => client
                .create_db_snapshot()
                .db_instance_identifier(id)
                .db_snapshot_identifier(&snapshot)
                .set_tags(Some(tags(purpose)))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    (
                        e.as_service_error().is_some_and(|s| s.is_db_snapshot_already_exists_fault()),
                        explain(&e, "rds:CreateDBSnapshot"),
                    )
                }),
            Source::Cluster { id, .. } => client
                .create_db_cluster_snapshot()
                .db_cluster_identifier(id)
                .db_cluster_snapshot_identifier(&snapshot)
                .set_tags(Some(tags(purpose)))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    let exists = e.as_service_error().is_some_and(|s| s.is_db_cluster_snapshot_already_exists_fault());
                    (exists, explain(&e, "rds:CreateDBClusterSnapshot"))
                }),
        };
        match created {
            Ok(()) => {
                log(&format!("snapshot {snapshot}: requested"));
                return Ok(snapshot);
            }
            Err((true, _)) if reusable(client, source, &snapshot, purpose).await? => {
                log(&format!("snapshot {snapshot}: taken for this phase by an earlier run; using it"));
                return Ok(snapshot);
            }
            Err((true, _)) => log(&format!("snapshot {snapshot} exists and is not this phase's; trying another id")),
            Err((false, error)) => return Err(error),
        }
    }
    Err(SnapshotError::IdsTaken { base })
}

/// Is this existing snapshot this phase's own, of this source, and not failed?
async fn reusable(
    client: &Client,
    source: &Source,
    snapshot: &str,
    purpose: &Purpose<'_>,
) -> Result<bool, SnapshotError> {
    let Some(found) = describe(client, source, Some(snapshot)).await?.into_iter().next() else { return Ok(false) };
    let has = |k: &str, v: &str| found.tags.iter().any(|(key, value)| key == k && value == v);
    let usable = found.status == "available" || poll::in_progress(&found.status);
    // RDS keeps identifiers in lower case whatever case they were given in.
    let same_source = found.source.eq_ignore_ascii_case(source.id());
    Ok(same_source && usable && has("lockgate:plan", purpose.plan_checksum) && has("lockgate:phase", purpose.phase))
}

/// RDS takes tag values of at most 256 letters, digits, spaces and `_.:/=+-@`; a migration id
/// may have other characters, and a long plan more migrations than fit.
fn tag_value(text: &str) -> String {
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    let mut value: String = text.chars().map(|c| if allowed(c) { c } else { '_' }).collect();
    if value.chars().count() > 256 {
        value = value.chars().take(253).collect();
        value.push_str("...");
    }
    value
}

async fn state(client: &Client, source: &Source, snapshot: &str) -> Result<State, SnapshotError> {
    let found = describe(client, source, Some(snapshot)).await?;
    let found = found.into_iter().next().ok_or_else(|| SnapshotError::Disappeared { id: snapshot.to_string() })?;
    Ok(State { status: found.status, percent: found.percent })
}

/// lockgate's manual snapshots of the source (tag `tool=lockgate`), newest first, over every
/// page of the answer (a page holds 100).
async fn ours(client: &Client, source: &Source) -> Result<Vec<(String, String, String)>, SnapshotError> {
    let is_ours = |s: &Described| s.tags.iter().any(|(k, v)| k == "tool" && v == "lockgate");
    let mut found: Vec<(String, String, String)> = describe(client, source, None)
        .await?
        .into_iter()
        .filter(is_ours)
        .map(|s| (s.id, s.created, s.status))
        .collect();
    found.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    Ok(found)
}

/// An instance or cluster snapshot, as lockgate reads it.
struct Described {
    id: String,
    /// The instance or cluster it is a snapshot of.
    source: String,
    created: String,
    status: String,
    percent: Option<i32>,
    tags: Vec<(String, String)>,
}

impl Described {
    fn new(
        id: Option<&str>,
        source: Option<&str>,
        created: Option<&aws_sdk_rds::primitives::DateTime>,
        status: Option<&str>,
        percent: Option<i32>,
        tags: &[Tag],
    ) -> Described {
        let created =
            created.and_then(|t| t.fmt(aws_sdk_rds::primitives::DateTimeFormat::DateTime).ok()).unwrap_or_default();
        let tags = tags
            .iter()
            .map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string()))
            .collect();
        let status = status.unwrap_or("unknown").to_string();
        let (id, source) = (id.unwrap_or_default().to_string(), source.unwrap_or_default().to_string());
        Described { id, source, created, status, percent, tags }
    }
}

/// The snapshot named `snapshot`, or (with `None`) the source's manual snapshots, over every
/// page of the answer (a page holds 100).
async fn describe(client: &Client, source: &Source, snapshot: Option<&str>) -> Result<Vec<Described>, SnapshotError> {
    match source {
        Source::Instance { id, .. } => {
            let found = match snapshot {
                Some(snapshot) => client
                    .describe_db_snapshots()
                    .db_snapshot_identifier(snapshot)
                    .send()
                    .await
                    .map(|out| out.db_snapshots().to_vec()),
                None => {
                    let request = client.describe_db_snapshots().db_instance_identifier(id).snapshot_type("manual");
                    request.into_paginator().items().send().try_collect().await
                }
            };
            let found = found.map_err(|e| explain(&e, "rds:DescribeDBSnapshots"))?;
            Ok(found
                .iter()
                .map(|s| {
                    let (id, of) = (s.db_snapshot_identifier(), s.db_instance_identifier());
                    Described::new(id, of, s.snapshot_create_time(), s.status(), s.percent_progress(), s.tag_list())
                })
                .collect())
        }
        Source::Cluster { id, .. } => {
            let found = match snapshot {
                Some(snapshot) => client
                    .describe_db_cluster_snapshots()
                    .db_cluster_snapshot_identifier(snapshot)
                    .send()
                    .await
                    .map(|out| out.db_cluster_snapshots().to_vec()),
                None => {
                    let request =
                        client.describe_db_cluster_snapshots().db_cluster_identifier(id).snapshot_type("manual");
                    request.into_paginator().items().send().try_collect().await
                }
            };
            let found = found.map_err(|e| explain(&e, "rds:DescribeDBClusterSnapshots"))?;
            Ok(found
                .iter()
                .map(|s| {
                    let (id, of) = (s.db_cluster_snapshot_identifier(), s.db_cluster_identifier());
                    Described::new(id, of, s.snapshot_create_time(), s.status(), s.percent_progress(), s.tag_list())
                })
                .collect())
        }
    }
}

async fn delete(client: &Client, source: &Source, snapshot: &str) -> Result<(), SnapshotError> {
    match source {
        Source::Instance { .. } => client
            .delete_db_snapshot()
            .db_snapshot_identifier(snapshot)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| explain(&e, "rds:DeleteDBSnapshot")),
        Source::Cluster { .. } => client
            .delete_db_cluster_snapshot()
            .db_cluster_snapshot_identifier(snapshot)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| explain(&e, "rds:DeleteDBClusterSnapshot")),
    }
}

/// An SDK error, said for the operator: the permission to grant, the quota to raise, or what
/// the service said.
fn explain<E, R>(error: &aws_sdk_rds::error::SdkError<E, R>, action: &'static str) -> SnapshotError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let message = error.message().unwrap_or_default().to_string();
    match error.code() {
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
            SnapshotError::AccessDenied { action, message }
        }
        Some("SnapshotQuotaExceeded") => SnapshotError::QuotaExceeded { action },
        Some("InvalidDBInstanceState" | "InvalidDBClusterStateFault") => SnapshotError::SourceBusy { action, message },
        Some(code) => SnapshotError::Service { action, code: code.to_string(), message },
        None => SnapshotError::Unreachable { action, detail: DisplayErrorContext(error).to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_value_is_one_rds_accepts() {
        assert_eq!(tag_value("0001_initial app.0002_x(v2)#"), "0001_initial app.0002_x_v2__");
        let long = tag_value(&"0001_migration ".repeat(40));
        assert_eq!(long.chars().count(), 256);
        assert!(long.ends_with("..."));
    }
}
