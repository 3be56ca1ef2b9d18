//! Connection settings as libpq reads them, so a connection string that works with `psql`
//! works with lockgate: the URL and `key=value` forms (a URL's query parameters override its
//! authority, `?host=/var/run/postgresql` included), a service file entry (`service=name`,
//! `PGSERVICEFILE`), the `PG*` environment variables, and the password file (`~/.pgpass`,
//! `PGPASSFILE`). Precedence is libpq's: the string, then the service, then the environment,
//! then the built-in defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::LiveError;

/// Settings by libpq keyword, all resolved except the password file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings(BTreeMap<String, String>);

/// The environment variable for each libpq keyword.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("host", "PGHOST"),
    ("hostaddr", "PGHOSTADDR"),
    ("port", "PGPORT"),
    ("dbname", "PGDATABASE"),
    ("user", "PGUSER"),
    ("password", "PGPASSWORD"),
    ("passfile", "PGPASSFILE"),
    ("service", "PGSERVICE"),
    ("options", "PGOPTIONS"),
    ("application_name", "PGAPPNAME"),
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ("target_session_attrs", "PGTARGETSESSIONATTRS"),
    ("channel_binding", "PGCHANNELBINDING"),
];

/// Where libpq looks for a server's Unix-domain socket when no host is given: Debian's and
/// upstream's compiled-in defaults.
pub const SOCKET_DIRECTORIES: &[&str] = &["/var/run/postgresql", "/tmp"];

impl Settings {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_string(), value.into());
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Fills every setting `other` has that this one lacks.
    fn fill_from(&mut self, other: impl IntoIterator<Item = (String, String)>) {
        for (key, value) in other {
            self.0.entry(key).or_insert(value);
        }
    }

    /// The settings for `text` (a URL, `key=value` pairs, or empty), completed from the service
    /// file and the environment as libpq does.
    pub fn resolve(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, LiveError> {
        let mut settings = parse(text)?;
        let service = settings.get("service").map(str::to_string).or_else(|| env("PGSERVICE"));
        if let Some(name) = service {
            settings.fill_from(service_entry(&name, env)?);
        }
        let from_environment = ENVIRONMENT
            .iter()
            .filter_map(|(key, var)| env(var).filter(|v| !v.is_empty()).map(|value| (key.to_string(), value)));
        settings.fill_from(from_environment);
        if settings.get("user").is_none() {
            if let Some(user) = env("USER") {
                settings.set("user", user);
            }
        }
        Ok(settings)
    }

    /// The hosts to try in order, each with its port: `host=a,b port=5432,5433`, one port for
    /// all, or libpq's default socket directory when no host is given.
    pub fn hosts(&self) -> Result<Vec<(String, u16)>, LiveError> {
        let ports: Vec<u16> = match self.get("port") {
            None => vec![],
            Some(list) => list
                .split(',')
                .map(|p| match p.trim() {
                    "" => Ok(5432),
                    p => p.parse().map_err(|_| LiveError::Url(format!("port `{p}` is not a number"))),
                })
                .collect::<Result<_, _>>()?,
        };
        let hosts: Vec<String> = match self.get("host") {
            Some(list) => list.split(',').map(|h| h.trim().to_string()).collect(),
            None => vec![default_host(ports.first().copied().unwrap_or(5432))],
        };
        if ports.len() > 1 && ports.len() != hosts.len() {
            return Err(LiveError::Url(format!(
                "{} hosts but {} ports: give one port, or one per host",
                hosts.len(),
                ports.len()
            )));
        }
        Ok(hosts
            .into_iter()
            .enumerate()
            .map(|(i, host)| {
                let host = if host.is_empty() { default_host(5432) } else { host };
                (host, ports.get(i).or(ports.first()).copied().unwrap_or(5432))
            })
            .collect())
    }

    /// The password for one host: the setting, else the password file's matching line.
    pub fn password_for(&self, host: &str, port: u16, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        if let Some(password) = self.get("password") {
            return Some(password.to_string());
        }
        let file = match self.get("passfile") {
            Some(path) => PathBuf::from(path),
            None => home(env)?.join(".pgpass"),
        };
        let user = self.get("user").unwrap_or_default();
        let database = self.get("dbname").unwrap_or(user);
        password_from_file(&file, host, port, database, user)
    }
}

/// libpq's default host: the first default socket directory where a server listens on
/// `port`, else `localhost`.
fn default_host(port: u16) -> String {
    SOCKET_DIRECTORIES
        .iter()
        .find(|dir| Path::new(dir).join(format!(".s.PGSQL.{port}")).exists())
        .map_or_else(|| "localhost".to_string(), |dir| dir.to_string())
}

/// Is `host` a Unix-domain socket directory (libpq: an absolute path)?
pub fn is_socket_directory(host: &str) -> bool {
    host.starts_with('/')
}

fn home(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// The settings a connection string names, without defaults.
pub fn parse(text: &str) -> Result<Settings, LiveError> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("postgresql://").or_else(|| text.strip_prefix("postgres://")) {
        parse_url(rest)
    } else {
        parse_key_values(text)
    }
}

/// `[user[:password]@][host][:port][,…][/dbname][?key=value&…]`, every part percent-decoded;
/// the query's settings are applied last, so `?host=` overrides the authority's host.
fn parse_url(rest: &str) -> Result<Settings, LiveError> {
    let mut settings = Settings::default();
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, dbname) = before_query.split_once('/').unwrap_or((before_query, ""));
    let (credentials, hosts) = match authority.rsplit_once('@') {
        Some((credentials, hosts)) => (Some(credentials), hosts),
        None => (None, authority),
    };
    if let Some(credentials) = credentials {
        let (user, password) = credentials.split_once(':').map_or((credentials, None), |(u, p)| (u, Some(p)));
        settings.set("user", decode(user)?);
        if let Some(password) = password {
            settings.set("password", decode(password)?);
        }
    }
    if !hosts.is_empty() {
        let mut names = vec![];
        let mut ports = vec![];
        for host in hosts.split(',') {
            // `[::1]:5432`: the port follows the bracket.
            let (name, port) = match host.strip_prefix('[') {
                Some(v6) => {
                    let (name, after) =
                        v6.split_once(']').ok_or_else(|| LiveError::Url(format!("unclosed `[` in host `{host}`")))?;
                    (name.to_string(), after.strip_prefix(':').unwrap_or_default().to_string())
                }
                None => match host.rsplit_once(':') {
                    Some((name, port)) => (decode(name)?, port.to_string()),
                    None => (decode(host)?, String::new()),
                },
            };
            names.push(name);
            ports.push(port);
        }
        settings.set("host", names.join(","));
        if ports.iter().any(|p| !p.is_empty()) {
            settings.set("port", ports.join(","));
        }
    }
    if !dbname.is_empty() {
        settings.set("dbname", decode(dbname)?);
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) =
            pair.split_once('=').ok_or_else(|| LiveError::Url(format!("`{pair}` in the URL's query has no `=`")))?;
        let key = decode(key)?;
        // libpq's URL spelling of `sslmode=require`.
        if key == "ssl" && value == "true" {
            settings.set("sslmode", "require");
            continue;
        }
        settings.set(&key, decode(value)?);
    }
    Ok(settings)
}

fn decode(text: &str) -> Result<String, LiveError> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| LiveError::Url(format!("`{text}` is not UTF-8 once percent-decoded")))
}

/// `key=value key2='quoted \' value'`, as libpq reads them.
fn parse_key_values(text: &str) -> Result<Settings, LiveError> {
    let mut settings = Settings::default();
    for (key, value, _) in key_values(text)? {
        settings.set(&key, value);
    }
    Ok(settings)
}

/// The `key=value` settings of `text` as libpq reads them (spaces around `=`, single-quoted
/// values with backslash escapes), each with the byte range its value is written in.
fn key_values(text: &str) -> Result<Vec<(String, String, std::ops::Range<usize>)>, LiveError> {
    let mut found = vec![];
    let mut chars = text.char_indices().peekable();
    let skip_blanks = |chars: &mut std::iter::Peekable<std::str::CharIndices>| {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_blanks(&mut chars);
        if chars.peek().is_none() {
            return Ok(found);
        }
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        skip_blanks(&mut chars);
        if chars.next().map(|(_, c)| c) != Some('=') {
            return Err(LiveError::Url(format!(
                "`{key}` has no `=`: give a URL (postgresql://user@host/db) or key=value settings (host=… dbname=…)"
            )));
        }
        skip_blanks(&mut chars);
        let start = chars.peek().map_or(text.len(), |(at, _)| *at);
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match chars.next().map(|(_, c)| c) {
                    Some('\\') => value.extend(chars.next().map(|(_, c)| c)),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => return Err(LiveError::Url(format!("the value of `{key}` has no closing quote"))),
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next().map(|(_, c)| c));
                } else {
                    value.push(c);
                }
            }
        }
        let end = chars.peek().map_or(text.len(), |(at, _)| *at);
        found.push((key, value, start..end));
    }
}

/// `text` (`key=value` settings) with the password's value replaced by `***`, however it is
/// written (quoted, spaced around `=`); text that does not parse is shown masked whole.
pub fn mask_password(text: &str) -> String {
    let Ok(settings) = key_values(text) else { return "***".into() };
    let mut masked = text.to_string();
    for (_, _, range) in settings.into_iter().rev().filter(|(key, _, _)| key == "password") {
        masked.replace_range(range, "***");
    }
    masked
}

/// A `key=value` string tokio-postgres reads, from settings it knows.
pub fn to_key_values<'a>(settings: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    settings.into_iter().map(|(k, v)| format!("{k}={}", quote(v))).collect::<Vec<_>>().join(" ")
}

/// The settings of the service `name`: from `PGSERVICEFILE` (or `~/.pg_service.conf`), then
/// the system-wide file in `PGSYSCONFDIR`; an unknown service is an error, as in libpq.
fn service_entry(name: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<(String, String)>, LiveError> {
    let mut files = vec![];
    match env("PGSERVICEFILE") {
        Some(file) => files.push(PathBuf::from(file)),
        None => files.extend(home(env).map(|h| h.join(".pg_service.conf"))),
    }
    let sysconf = env("PGSYSCONFDIR").unwrap_or_else(|| "/etc/postgresql-common".into());
    files.push(Path::new(&sysconf).join("pg_service.conf"));
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        if let Some(entry) = service_section(&text, name) {
            return Ok(entry);
        }
    }
    let searched: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    Err(LiveError::Url(format!("service `{name}` is not defined in {}", searched.join(" or "))))
}

fn service_section(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut current: Option<bool> = None;
    let mut entry = vec![];
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if current == Some(true) {
                return Some(entry);
            }
            current = Some(section == name);
            continue;
        }
        if current == Some(true) {
            if let Some((key, value)) = line.split_once('=') {
                entry.push((key.trim().to_string(), value.trim().to_string()));
            }
        }
    }
    (current == Some(true)).then_some(entry)
}

/// The password of the first line of a password file that matches, as libpq reads it:
/// `host:port:database:user:password`, `*` matching anything, `\:` and `\\` escaped. libpq
/// matches a socket directory that is its default as `localhost`. A file others can read is
/// ignored, with libpq's warning.
fn password_from_file(file: &Path, host: &str, port: u16, database: &str, user: &str) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            eprintln!(
                "warning: password file {} has group or world access and is ignored; permissions should be u=rw (0600) or less",
                file.display()
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(file).ok()?;
    let host = if SOCKET_DIRECTORIES.contains(&host) { "localhost" } else { host };
    let port = port.to_string();
    let wanted = [host, port.as_str(), database, user];
    text.lines().filter(|l| !l.trim_start().starts_with('#')).find_map(|line| {
        let fields = split_pgpass(line);
        let [h, p, d, u, password] = fields.as_slice() else { return None };
        let matches =
            [h, p, d, u].iter().zip(wanted).all(|(field, want)| field.as_str() == "*" || field.as_str() == want);
        matches.then(|| password.clone())
    })
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().expect("one field").extend(chars.next()),
            // The password is everything after the fourth separator.
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_host_query_parameter_overrides_the_urls_host() {
        let settings = parse("postgresql://u@localhost/db?host=/var/run/postgresql").unwrap();
        assert_eq!(settings.get("host"), Some("/var/run/postgresql"));
        assert_eq!(settings.get("user"), Some("u"));
        assert_eq!(settings.get("dbname"), Some("db"));
        let settings = parse("postgres://%2Fvar%2Frun%2Fpostgresql:5433/db").unwrap();
        assert_eq!(settings.hosts().unwrap(), vec![("/var/run/postgresql".to_string(), 5433)]);
    }

    #[test]
    fn several_hosts_take_their_ports_in_order() {
        let settings = parse("postgresql://a:5432,b:5433,[::1]:5434/db?target_session_attrs=read-write").unwrap();
        let hosts = settings.hosts().unwrap();
        assert_eq!(hosts, vec![("a".into(), 5432), ("b".into(), 5433), ("::1".into(), 5434)]);
        let settings = parse("host=a,b port=6432 dbname='my db' password='it\\'s'").unwrap();
        assert_eq!(settings.hosts().unwrap(), vec![("a".into(), 6432), ("b".into(), 6432)]);
        assert_eq!(settings.get("dbname"), Some("my db"));
        assert_eq!(settings.get("password"), Some("it's"));
        assert!(parse("host=a,b port=1,2,3").unwrap().hosts().is_err());
    }

    #[test]
    fn the_string_wins_over_the_service_which_wins_over_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("services");
        std::fs::write(&file, "# services\n[shop]\nhost=db.internal\nport=6432\ndbname=shop\n[other]\nhost=x\n")
            .unwrap();
        let file = file.to_string_lossy().into_owned();
        let env = |name: &str| match name {
            "PGSERVICEFILE" => Some(file.clone()),
            "PGPORT" => Some("7000".into()),
            "PGUSER" => Some("envuser".into()),
            "PGDATABASE" => Some("envdb".into()),
            _ => None,
        };
        let settings = Settings::resolve("service=shop dbname=override", &env).unwrap();
        assert_eq!(settings.get("host"), Some("db.internal"));
        assert_eq!(settings.get("port"), Some("6432"));
        assert_eq!(settings.get("dbname"), Some("override"));
        assert_eq!(settings.get("user"), Some("envuser"));
        let missing = Settings::resolve("service=nope", &env).unwrap_err().to_string();
        assert!(missing.contains("service `nope` is not defined"), "{missing}");
        assert_eq!(Settings::resolve("", &no_env).unwrap().get("host"), None);
    }

    #[test]
    fn the_password_file_matches_as_libpq_does() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "# comment\nother:*:*:*:no\ndb\\:1:5432:*:app:pa\\:ss:word\n*:*:*:app:fallback\n")
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(password_from_file(&file, "db:1", 5432, "shop", "app").as_deref(), Some("pa:ss:word"));
        assert_eq!(password_from_file(&file, "elsewhere", 5432, "shop", "app").as_deref(), Some("fallback"));
        assert_eq!(password_from_file(&file, "elsewhere", 5432, "shop", "bob"), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(password_from_file(&file, "elsewhere", 5432, "shop", "app"), None, "readable by others");
        }
    }
}
