//! Durations and counts as every layer reads and writes them: the PostgreSQL duration syntax
//! of a timeout setting, and the `7.1 s` / `1,250,000` a person reads in a message. One
//! definition below every layer, so a lint finding, a gate verdict and an executor's progress
//! line word the same quantity the same way.

/// PostgreSQL duration syntax for timeouts: `5000`, `'5s'`, `'500ms'`, `'2min'`, `'1h'`.
pub fn parse_duration_ms(value: &str) -> Option<u64> {
    let value = value.trim().trim_matches('\'').trim();
    let split = value.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    Some((number * factor).round() as u64)
}

/// `850 ms`, `7.1 s`, `3.2 min`, `1.5 h`.
pub fn seconds(ms: f64) -> String {
    if ms < 1.0 {
        "<1 ms".into()
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms < 3_600_000.0 {
        format!("{:.1} min", ms / 60_000.0)
    } else {
        format!("{:.1} h", ms / 3_600_000.0)
    }
}

/// `1,250,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{count, parse_duration_ms, seconds};

    #[test]
    fn durations_parse_like_postgres() {
        assert_eq!(parse_duration_ms("5000"), Some(5000));
        assert_eq!(parse_duration_ms("'5s'"), Some(5000));
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("2min"), Some(120_000));
        assert_eq!(parse_duration_ms("0"), Some(0));
        assert_eq!(parse_duration_ms("soon"), None);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(1_250_000), "1,250,000");
        assert_eq!(count(999), "999");
        assert_eq!(seconds(7100.0), "7.1 s");
        assert_eq!(seconds(0.2), "<1 ms");
        assert_eq!(seconds(190_000.0), "3.2 min");
    }
}
