//! Units, in one place: what a `pg_settings.unit` means, and how pgvac writes sizes and
//! durations (exact `postgresql.conf` spellings for settings, approximate sizes in messages).
//! Pure functions of their arguments; the analysis and every renderer use these.

/// Milliseconds in one `pg_settings.unit` of a time setting (`ms`, `s`, `min`, ...).
pub fn unit_millis(unit: Option<&str>) -> Option<f64> {
    match unit? {
        "us" => Some(0.001),
        "ms" => Some(1.0),
        "s" => Some(1000.0),
        "min" => Some(60_000.0),
        "h" => Some(3_600_000.0),
        "d" => Some(86_400_000.0),
        _ => None,
    }
}

/// Bytes in one `pg_settings.unit` of a memory setting (`B`, `kB`, `8kB`, `16MB`, ...).
pub fn unit_bytes(unit: Option<&str>) -> Option<i64> {
    let unit = unit?;
    let digits = unit.chars().take_while(|c| c.is_ascii_digit()).count();
    let (count, suffix) = unit.split_at(digits);
    let count: i64 = if count.is_empty() {
        1
    } else {
        count.parse().ok()?
    };
    let size: i64 = match suffix {
        "B" => 1,
        "kB" => 1024,
        "MB" => 1024 * 1024,
        "GB" => 1024 * 1024 * 1024,
        "TB" => 1024_i64.pow(4),
        _ => return None,
    };
    count.checked_mul(size)
}

/// A `pg_settings` value with its unit, as a person writes it: `64MB`, `2ms`, `1min`, `on`.
pub fn setting_with_unit(setting: &str, unit: Option<&str>, vartype: &str) -> String {
    let Some(unit) = unit.filter(|u| !u.is_empty()) else {
        return setting.to_string();
    };
    if vartype != "integer" && vartype != "real" {
        return format!("{setting}{unit}");
    }
    let Ok(value) = setting.trim().parse::<f64>() else {
        return format!("{setting}{unit}");
    };
    if value < 0.0 {
        return setting.to_string();
    }
    match unit_bytes(Some(unit)) {
        Some(per) => conf_bytes((value * per as f64) as i64),
        None => format!("{setting}{unit}"),
    }
}

/// `64MB`, `1GB`, `512kB`: the largest unit that divides exactly, as `postgresql.conf` writes it.
pub fn conf_bytes(bytes: i64) -> String {
    const UNITS: [(&str, i64); 4] = [
        ("TB", 1 << 40),
        ("GB", 1 << 30),
        ("MB", 1 << 20),
        ("kB", 1 << 10),
    ];
    for (name, size) in UNITS {
        if bytes >= size && bytes % size == 0 {
            return format!("{}{name}", bytes / size);
        }
    }
    format!("{bytes}B")
}

/// `1.5 GB`, `300.0 MB`, `512 bytes`: an approximate size in a message.
pub fn size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `3d 04h`, `1h 02m`, `5m 10s`, `42s`: a duration in a message or a table cell.
pub fn duration(secs: i64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}d {h:02}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_and_write_as_postgresql_does() {
        assert_eq!(unit_bytes(Some("8kB")), Some(8192));
        assert_eq!(unit_bytes(Some("16MB")), Some(16 << 20));
        assert_eq!(unit_millis(Some("min")), Some(60_000.0));
        assert_eq!(setting_with_unit("65536", Some("kB"), "integer"), "64MB");
        assert_eq!(setting_with_unit("16384", Some("8kB"), "integer"), "128MB");
        assert_eq!(setting_with_unit("2", Some("ms"), "real"), "2ms");
        assert_eq!(setting_with_unit("-1", Some("kB"), "integer"), "-1");
        assert_eq!(conf_bytes(1536), "1536B");
        assert_eq!(size(1536 << 20), "1.5 GB");
        assert_eq!(size(512), "512 bytes");
        assert_eq!(duration(3 * 86_400 + 4 * 3_600), "3d 04h");
        assert_eq!(duration(42), "42s");
    }
}
