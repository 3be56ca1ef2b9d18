//! Connecting to the target database: the URL (libpq's URL and key=value forms), TLS as
//! `sslmode` asks, and a session that cannot write.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode as WireSslMode;

use super::conninfo::{self, Settings};
use super::LiveError;

/// libpq's `sslmode`: how hard the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// TLS when the server offers it, certificate not checked (libpq's default).
    Prefer,
    /// TLS or nothing; the certificate is checked only when `sslrootcert` is given.
    Require,
    /// TLS, certificate chain checked against the trusted roots.
    VerifyCa,
    /// TLS, chain and host name checked.
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = LiveError;

    fn from_str(text: &str) -> Result<Self, LiveError> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(LiveError::Url(format!(
                    "sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
                )))
            }
        })
    }
}

impl SslMode {
    /// libpq's name for it.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where to connect and how, parsed from `--database-url` (or, without one, from the `PG*`
/// environment alone, as `psql` does).
#[derive(Clone)]
pub struct Endpoint {
    /// Every host, for the tools lockgate runs with the same connection (`pg_dump`).
    pub config: tokio_postgres::Config,
    pub ssl_mode: SslMode,
    /// `sslrootcert`: a PEM bundle of trusted roots (RDS: `global-bundle.pem`), or `system`.
    pub root_cert: Option<String>,
    /// The URL with its password masked: the only form that is ever printed.
    pub display: String,
    /// The URL as given, password included: handed to a framework's own command (as
    /// `LOCKGATE_DATABASE_URL`) and never printed. Empty when the `PG*` environment alone was
    /// used, which the framework's command inherits.
    pub url: String,
    /// One connection per host, in the order libpq tries them.
    attempts: Vec<Attempt>,
    session_attrs: SessionAttrs,
}

/// What went wrong with one host, without the "cannot connect" the whole failure starts with.
fn why(error: LiveError) -> String {
    match error {
        LiveError::Connect(text) => text,
        other => other.to_string(),
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

#[derive(Clone)]
struct Attempt {
    config: tokio_postgres::Config,
    /// `host:port`, for messages.
    label: String,
    /// libpq never negotiates TLS over a Unix-domain socket, whatever `sslmode` says.
    socket: bool,
}

/// libpq's `target_session_attrs`: which of several hosts to settle on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionAttrs {
    Any,
    ReadWrite,
    ReadOnly,
    Primary,
    Standby,
    PreferStandby,
}

impl FromStr for SessionAttrs {
    type Err = LiveError;

    fn from_str(text: &str) -> Result<Self, LiveError> {
        Ok(match text {
            "any" => SessionAttrs::Any,
            "read-write" => SessionAttrs::ReadWrite,
            "read-only" => SessionAttrs::ReadOnly,
            "primary" => SessionAttrs::Primary,
            "standby" => SessionAttrs::Standby,
            "prefer-standby" => SessionAttrs::PreferStandby,
            other => {
                return Err(LiveError::Url(format!(
                    "target_session_attrs `{other}` is not one of any, read-write, read-only, primary, standby, prefer-standby"
                )))
            }
        })
    }
}

impl SessionAttrs {
    /// The passes over the hosts: `prefer-standby` looks for a standby first, then takes any.
    fn passes(self) -> Vec<SessionAttrs> {
        match self {
            SessionAttrs::PreferStandby => vec![SessionAttrs::Standby, SessionAttrs::Any],
            other => vec![other],
        }
    }

    fn name(self) -> &'static str {
        match self {
            SessionAttrs::Any => "any",
            SessionAttrs::ReadWrite => "read-write",
            SessionAttrs::ReadOnly => "read-only",
            SessionAttrs::Primary => "primary",
            SessionAttrs::Standby => "standby",
            SessionAttrs::PreferStandby => "prefer-standby",
        }
    }

    /// Does the server just connected to fit? Asked as libpq asks: read-only-ness from
    /// `transaction_read_only`, primary or standby from `pg_is_in_recovery()`.
    async fn accepts(self, client: &tokio_postgres::Client) -> Result<bool, LiveError> {
        if matches!(self, SessionAttrs::Any | SessionAttrs::PreferStandby) {
            return Ok(true);
        }
        let row = client
            .query_one(
                "SELECT pg_catalog.pg_is_in_recovery(), pg_catalog.current_setting('transaction_read_only') = 'on'",
                &[],
            )
            .await
            .map_err(LiveError::connect)?;
        let (in_recovery, read_only): (bool, bool) = (row.get(0), row.get(1));
        Ok(match self {
            SessionAttrs::ReadWrite => !read_only,
            SessionAttrs::ReadOnly => read_only,
            SessionAttrs::Primary => !in_recovery,
            SessionAttrs::Standby => in_recovery,
            SessionAttrs::Any | SessionAttrs::PreferStandby => true,
        })
    }
}

/// Settings lockgate reads itself rather than handing to tokio-postgres.
const OWN_SETTINGS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "password",
    "passfile",
    "service",
    "sslmode",
    "sslrootcert",
    "target_session_attrs",
    "fallback_application_name",
];

/// libpq settings tokio-postgres takes as they are.
const PASSED_ON: &[&str] = &[
    "user",
    "dbname",
    "options",
    "application_name",
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "channel_binding",
    "load_balance_hosts",
];

impl Endpoint {
    /// Parses `postgres://user:pass@host:port/db?sslmode=…&sslrootcert=…` or
    /// `host=… user=… sslmode=…`, or nothing at all; what the string leaves out comes from the
    /// service file and the libpq environment variables (`PGHOST`, `PGUSER`, `PGPASSWORD`,
    /// `PGSSLMODE`, …), and the password from `~/.pgpass` (`PGPASSFILE`), as libpq does.
    pub fn parse(url: &str) -> Result<Endpoint, LiveError> {
        Endpoint::parse_with(url, &|name: &str| std::env::var(name).ok())
    }

    fn parse_with(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Endpoint, LiveError> {
        let url = url.trim();
        let mut settings = Settings::resolve(url, env)?;
        for key in ["sslcert", "sslkey"] {
            if settings.get(key).is_some() {
                return Err(LiveError::Url(format!(
                    "`{key}` (client certificates) is not supported; authenticate with a password or IAM token"
                )));
            }
        }
        let ssl_mode = settings.get("sslmode").map(str::parse).transpose()?.unwrap_or(SslMode::Prefer);
        let root_cert = settings.get("sslrootcert").map(str::to_string);
        let session_attrs =
            settings.get("target_session_attrs").map(str::parse).transpose()?.unwrap_or(SessionAttrs::Any);
        if settings.get("application_name").is_none() {
            let name = settings.get("fallback_application_name").unwrap_or("lockgate").to_string();
            settings.set("application_name", name);
        }
        if settings.get("connect_timeout").is_none() {
            settings.set("connect_timeout", "10");
        }
        if let Some((unknown, _)) = settings.iter().find(|(k, _)| !OWN_SETTINGS.contains(k) && !PASSED_ON.contains(k)) {
            return Err(LiveError::Url(format!(
                "`{unknown}` is not a connection setting lockgate reads; it reads {} and {}",
                OWN_SETTINGS.join(", "),
                PASSED_ON.join(", ")
            )));
        }
        let passed_on: Vec<(&str, &str)> =
            settings.iter().filter(|(k, v)| PASSED_ON.contains(k) && !v.is_empty()).collect();
        let config_of = |extra: &[(&str, &str)]| {
            let text = conninfo::to_key_values(passed_on.iter().copied().chain(extra.iter().copied()));
            tokio_postgres::Config::from_str(&text).map_err(LiveError::Settings)
        };
        let hosts = settings.hosts()?;
        // `hostaddr` gives each host's address (one per host), skipping the name lookup.
        let addresses: Vec<&str> =
            settings.get("hostaddr").map(|a| a.split(',').map(str::trim).collect()).unwrap_or_default();
        if !addresses.is_empty() && addresses.len() != hosts.len() {
            return Err(LiveError::Url(format!(
                "{} hosts but {} hostaddr values: give one per host",
                hosts.len(),
                addresses.len()
            )));
        }
        let mut attempts = vec![];
        for (index, (host, port)) in hosts.iter().enumerate() {
            let port_text = port.to_string();
            let password = settings.password_for(host, *port, env);
            let mut extra = vec![("host", host.as_str()), ("port", port_text.as_str())];
            extra.extend(password.as_deref().map(|p| ("password", p)));
            extra.extend(addresses.get(index).filter(|a| !a.is_empty()).map(|a| ("hostaddr", *a)));
            let label = if conninfo::is_socket_directory(host) {
                format!("socket {host} (port {port})")
            } else {
                format!("{host}:{port}")
            };
            attempts.push(Attempt { config: config_of(&extra)?, label, socket: conninfo::is_socket_directory(host) });
        }
        let all_hosts = hosts.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>().join(",");
        let all_ports = hosts.iter().map(|(_, p)| p.to_string()).collect::<Vec<_>>().join(",");
        let mut everything = vec![("host", all_hosts.as_str()), ("port", all_ports.as_str())];
        everything.extend(settings.get("hostaddr").map(|a| ("hostaddr", a)));
        everything.extend(settings.get("password").map(|p| ("password", p)));
        let config = config_of(&everything)?;
        let display = match url {
            "" => {
                let shown = ["host", "port", "user", "dbname"].map(|k| (k, settings.get(k).unwrap_or_default()));
                let shown: Vec<(&str, &str)> = shown.into_iter().filter(|(_, v)| !v.is_empty()).collect();
                format!("{} (from the PG* environment)", conninfo::to_key_values(shown))
            }
            url if url.starts_with("postgres://") || url.starts_with("postgresql://") => mask_url_password(url),
            url => conninfo::mask_password(url),
        };
        Ok(Endpoint { config, ssl_mode, root_cert, display, url: url.to_string(), attempts, session_attrs })
    }

    /// Opens the connection: each host in turn until one answers and fits
    /// `target_session_attrs`; the caller drives the returned connection future.
    pub async fn connect(&self) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), LiveError> {
        let mut failures = vec![];
        for pass in self.session_attrs.passes() {
            for attempt in &self.attempts {
                let connected = self.connect_to(attempt).await;
                let (client, connection) = match connected {
                    Ok(connected) => connected,
                    Err(error) => {
                        failures.push(format!("{}: {}", attempt.label, why(error)));
                        continue;
                    }
                };
                match pass.accepts(&client).await {
                    Ok(true) => return Ok((client, connection)),
                    Ok(false) => failures.push(format!("{}: not a {} server", attempt.label, pass.name())),
                    Err(error) => failures.push(format!("{}: {}", attempt.label, why(error))),
                }
            }
        }
        Err(LiveError::Connect(failures.join("; ")))
    }

    async fn connect_to(
        &self,
        attempt: &Attempt,
    ) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), LiveError> {
        let mut config = attempt.config.clone();
        if self.ssl_mode == SslMode::Disable || attempt.socket {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await.map_err(LiveError::connect)?;
            return Ok((client, tokio::spawn(async move { drop(connection.await) })));
        }
        config.ssl_mode(if self.ssl_mode == SslMode::Prefer { WireSslMode::Prefer } else { WireSslMode::Require });
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(self.tls_config()?);
        let (client, connection) = config.connect(tls).await.map_err(LiveError::connect)?;
        Ok((client, tokio::spawn(async move { drop(connection.await) })))
    }

    fn tls_config(&self) -> Result<rustls::ClientConfig, LiveError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(LiveError::Tls)?;
        // libpq: `require` with a root certificate file given behaves as verify-ca.
        let check = match (self.ssl_mode, &self.root_cert) {
            (SslMode::VerifyFull, _) => Check::Full,
            (SslMode::VerifyCa, _) | (SslMode::Require, Some(_)) => Check::Chain,
            _ => Check::Nothing,
        };
        let verifier: Arc<dyn ServerCertVerifier> = match check {
            Check::Nothing => Arc::new(Lenient { provider, chain: None }),
            Check::Chain | Check::Full => {
                let roots = Arc::new(self.roots()?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(LiveError::Verifier)?;
                if check == Check::Full {
                    webpki
                } else {
                    Arc::new(Lenient { provider, chain: Some(webpki) })
                }
            }
        };
        Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
    }

    /// The trusted roots: the `sslrootcert` bundle, else the system's.
    fn roots(&self) -> Result<RootCertStore, LiveError> {
        let mut store = RootCertStore::empty();
        match self.root_cert.as_deref() {
            Some(path) if path != "system" => {
                let certificates = CertificateDer::pem_file_iter(path)
                    .map_err(|source| LiveError::RootCertUnreadable { path: path.into(), source })?;
                let refused = |source: Box<dyn std::error::Error + Send + Sync>| LiveError::RootCert {
                    path: path.into(),
                    source,
                };
                for certificate in certificates {
                    let certificate = certificate.map_err(|e| refused(e.into()))?;
                    store.add(certificate).map_err(|e| refused(e.into()))?;
                }
            }
            _ => {
                for certificate in rustls_native_certs::load_native_certs().certs {
                    let _ = store.add(certificate);
                }
            }
        }
        if store.is_empty() {
            return Err(LiveError::NoRootCertificates);
        }
        Ok(store)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    Nothing,
    Chain,
    Full,
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; query-string passwords too.
pub fn mask_url_password(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{credentials}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some(("password", _)) => "password=***".to_string(),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// `prefer`/`require` without roots accept any certificate (TLS for privacy, as libpq);
/// `verify-ca` checks the chain against the roots but not the host name. The handshake's
/// signatures are checked either way.
#[derive(Debug)]
struct Lenient {
    provider: Arc<CryptoProvider>,
    /// The chain check (`verify-ca`); `None` checks nothing.
    chain: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(mask_url_password("postgres://app:s3cr%40t@db:5432/shop"), "postgres://app:***@db:5432/shop");
        assert_eq!(
            mask_url_password("postgres://db/shop?password=x&sslmode=require"),
            "postgres://db/shop?password=***&sslmode=require"
        );
        assert_eq!(conninfo::mask_password("host=db password=x user=app"), "host=db password=*** user=app");
        // However the value is written, none of it shows.
        assert_eq!(conninfo::mask_password("host=db password = s3cret"), "host=db password = ***");
        assert_eq!(conninfo::mask_password("password='a b' user=app"), "password=*** user=app");
    }

    #[test]
    fn tls_settings_are_taken_out_of_the_url() {
        let target = Endpoint::parse(
            "postgres://app:pw@db.example.com/shop?sslmode=verify-full&sslrootcert=%2Fetc%2Frds.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(target.ssl_mode, SslMode::VerifyFull);
        assert_eq!(target.root_cert.as_deref(), Some("/etc/rds.pem"));
        assert_eq!(target.config.get_application_name(), Some("x"));
        assert_eq!(target.config.get_dbname(), Some("shop"));
        assert!(!target.display.contains("pw"));
        let target = Endpoint::parse("host=/tmp user=postgres sslmode=disable").unwrap();
        assert_eq!(target.ssl_mode, SslMode::Disable);
        assert!(Endpoint::parse("postgres://db/x?sslmode=sometimes").is_err());
        let unknown = Endpoint::parse("host=/tmp colour=blue").unwrap_err().to_string();
        assert!(unknown.contains("`colour` is not a connection setting"), "{unknown}");
        assert!(Endpoint::parse("host=a,b hostaddr=10.0.0.1").is_err(), "one hostaddr per host");
        assert!(Endpoint::parse("host=a,b hostaddr=10.0.0.1,10.0.0.2").is_ok());
        assert!(Endpoint::parse("postgres://db/x?sslcert=/c.pem").is_err());
    }
}
