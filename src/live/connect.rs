//! Connecting to the target database: the URL (libpq's URL and key=value forms), TLS as
//! `sslmode` asks, and a session that cannot write.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode as WireSslMode;

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

/// Where to connect and how, parsed from `--database-url`.
#[derive(Clone)]
pub struct Target {
    pub config: tokio_postgres::Config,
    pub ssl_mode: SslMode,
    /// `sslrootcert`: a PEM bundle of trusted roots (RDS: `global-bundle.pem`), or `system`.
    pub root_cert: Option<String>,
    /// The URL with its password masked: the only form that is ever printed.
    pub display: String,
    /// The URL as given, password included: handed to a framework's own command (as
    /// `LOCKGATE_DATABASE_URL`) and never printed.
    pub url: String,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl Target {
    /// Parses `postgres://user:pass@host:port/db?sslmode=…&sslrootcert=…` or
    /// `host=… user=… sslmode=…`. Unset user, password, host and TLS settings come from the
    /// libpq environment variables (`PGUSER`, `PGPASSWORD`, `PGHOST`, `PGSSLMODE`, …).
    pub fn parse(url: &str) -> Result<Target, LiveError> {
        let url = url.trim();
        let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
        let (rest, extracted) = if is_url { split_url(url) } else { split_key_values(url) };
        let mut ssl_mode = None;
        let mut root_cert = None;
        for (key, value) in extracted {
            match key.as_str() {
                "sslmode" => ssl_mode = Some(value.parse()?),
                "sslrootcert" => root_cert = Some(value),
                other => {
                    return Err(LiveError::Url(format!(
                        "`{other}` (client certificates) is not supported; authenticate with a password or IAM token"
                    )))
                }
            }
        }
        let mut config = tokio_postgres::Config::from_str(&rest).map_err(|e| LiveError::Url(e.to_string()))?;
        apply_environment(&mut config);
        let ssl_mode = match ssl_mode {
            Some(mode) => mode,
            None => std::env::var("PGSSLMODE").ok().map(|m| m.parse()).transpose()?.unwrap_or(SslMode::Prefer),
        };
        let root_cert = root_cert.or_else(|| std::env::var("PGSSLROOTCERT").ok());
        let display = if is_url { mask_url_password(url) } else { mask_key_value_password(url) };
        Ok(Target { config, ssl_mode, root_cert, display, url: url.to_string() })
    }

    /// Opens the connection; the caller drives the returned connection future.
    pub async fn connect(&self) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), LiveError> {
        let mut config = self.config.clone();
        // libpq never uses TLS over a Unix-domain socket, whatever sslmode says.
        let unix_only = config.get_hosts().iter().all(|h| matches!(h, tokio_postgres::config::Host::Unix(_)));
        if self.ssl_mode == SslMode::Disable || unix_only && !config.get_hosts().is_empty() {
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
            .map_err(|e| LiveError::Tls(e.to_string()))?;
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
                    .map_err(|e| LiveError::Tls(e.to_string()))?;
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
                    .map_err(|e| LiveError::Tls(format!("cannot read sslrootcert {path}: {e}")))?;
                for certificate in certificates {
                    let certificate = certificate.map_err(|e| LiveError::Tls(format!("sslrootcert {path}: {e}")))?;
                    store.add(certificate).map_err(|e| LiveError::Tls(format!("sslrootcert {path}: {e}")))?;
                }
            }
            _ => {
                for certificate in rustls_native_certs::load_native_certs().certs {
                    let _ = store.add(certificate);
                }
            }
        }
        if store.is_empty() {
            return Err(LiveError::Tls(
                "no trusted root certificates to check the server with: pass sslrootcert=/path/to/ca.pem \
                 (RDS: the global-bundle.pem from AWS)"
                    .into(),
            ));
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

/// Fills what the URL left out from libpq's environment variables.
fn apply_environment(config: &mut tokio_postgres::Config) {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if config.get_user().is_none() {
        if let Some(user) = var("PGUSER").or_else(|| var("USER")) {
            config.user(user);
        }
    }
    if config.get_password().is_none() {
        if let Some(password) = var("PGPASSWORD") {
            config.password(password);
        }
    }
    if config.get_hosts().is_empty() {
        config.host(var("PGHOST").as_deref().unwrap_or("localhost"));
    }
    if config.get_ports().is_empty() {
        if let Some(port) = var("PGPORT").and_then(|p| p.parse().ok()) {
            config.port(port);
        }
    }
    if config.get_dbname().is_none() {
        if let Some(database) = var("PGDATABASE") {
            config.dbname(database);
        }
    }
    if config.get_application_name().is_none() {
        config.application_name("lockgate");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
}

/// The TLS settings tokio-postgres does not know, taken out of a URL's query.
fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_string(), vec![]) };
    let mut kept = vec![];
    let mut extracted = vec![];
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if is_tls_key(key) {
            extracted.push((key.to_string(), percent_decode(value)));
        } else {
            kept.push(pair);
        }
    }
    let rest = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    (rest, extracted)
}

fn split_key_values(text: &str) -> (String, Vec<(String, String)>) {
    let mut kept = vec![];
    let mut extracted = vec![];
    for token in text.split_whitespace() {
        match token.split_once('=') {
            Some((key, value)) if is_tls_key(key) => {
                extracted.push((key.to_string(), value.trim_matches('\'').to_string()));
            }
            _ => kept.push(token),
        }
    }
    (kept.join(" "), extracted)
}

fn is_tls_key(key: &str) -> bool {
    matches!(key, "sslmode" | "sslrootcert" | "sslcert" | "sslkey")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

fn mask_key_value_password(text: &str) -> String {
    text.split_whitespace()
        .map(|token| if token.starts_with("password=") { "password=***" } else { token })
        .collect::<Vec<_>>()
        .join(" ")
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
        assert_eq!(mask_key_value_password("host=db password=x user=app"), "host=db password=*** user=app");
    }

    #[test]
    fn tls_settings_are_taken_out_of_the_url() {
        let target = Target::parse(
            "postgres://app:pw@db.example.com/shop?sslmode=verify-full&sslrootcert=%2Fetc%2Frds.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(target.ssl_mode, SslMode::VerifyFull);
        assert_eq!(target.root_cert.as_deref(), Some("/etc/rds.pem"));
        assert_eq!(target.config.get_application_name(), Some("x"));
        assert_eq!(target.config.get_dbname(), Some("shop"));
        assert!(!target.display.contains("pw"));
        let target = Target::parse("host=/tmp user=postgres sslmode=disable").unwrap();
        assert_eq!(target.ssl_mode, SslMode::Disable);
        assert!(Target::parse("postgres://db/x?sslmode=sometimes").is_err());
        assert!(Target::parse("postgres://db/x?sslcert=/c.pem").is_err());
    }
}
