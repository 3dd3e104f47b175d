//! Timestamps as the server wrote them: `2026-12-01 08:43:48.435 UTC` (`%m`, csvlog, jsonlog),
//! `2026-12-01 08:43:48 UTC` (`%t`) or `1764578628.435` (`%n`).
//!
//! A time is kept on the log's own clock (`log_timezone`), with its zone abbreviation as written:
//! hours are reported as the DBA reads them in the log, and a zone abbreviation (`CEST`) cannot be
//! turned into an offset without guessing. Differences between times are exact within one zone;
//! across a daylight-saving change they are off by the change.

use std::fmt;

/// One timestamp, in milliseconds on the log's clock, with its zone as written.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogTime {
    /// Milliseconds since 1970-01-01 00:00 on the log's clock.
    pub millis: i64,
    zone: Zone,
    with_millis: bool,
}

/// A zone abbreviation of up to 15 bytes, kept inline.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Zone {
    bytes: [u8; 15],
    len: u8,
}

impl Zone {
    fn new(text: &str) -> Zone {
        let mut bytes = [0u8; 15];
        let mut len = text.len().min(15);
        while !text.is_char_boundary(len) {
            len -= 1;
        }
        bytes[..len].copy_from_slice(&text.as_bytes()[..len]);
        Zone {
            bytes,
            len: len as u8,
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

fn digits(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(bytes.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl LogTime {
    /// `YYYY-MM-DD HH:MM:SS[.mmm][ ZONE]`.
    pub fn parse(text: &str) -> Option<LogTime> {
        let b = text.as_bytes();
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let year = digits(&b[0..4])?;
        let month = digits(&b[5..7])?;
        let day = digits(&b[8..10])?;
        let hour = digits(&b[11..13])?;
        let minute = digits(&b[14..16])?;
        let second = digits(&b[17..19])?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
            return None;
        }
        if second > 60 {
            return None;
        }
        let mut rest = &text[19..];
        let mut millis = 0;
        let mut with_millis = false;
        if let Some(fraction) = rest.strip_prefix('.') {
            let end = fraction.find(' ').unwrap_or(fraction.len());
            let part = &fraction.as_bytes()[..end];
            if part.is_empty() || part.len() > 6 {
                return None;
            }
            let value = digits(part)?;
            millis = match part.len() {
                1 => value * 100,
                2 => value * 10,
                3 => value,
                n => value / 10i64.pow(n as u32 - 3),
            };
            with_millis = true;
            rest = &fraction[end..];
        }
        let zone = match rest.strip_prefix(' ') {
            Some(zone) if !zone.is_empty() && !zone.contains(' ') => zone,
            None if rest.is_empty() => "",
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        Some(LogTime {
            millis: ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis,
            zone: Zone::new(zone),
            with_millis,
        })
    }

    /// `%n`: seconds since the Unix epoch with milliseconds, always UTC.
    pub fn parse_epoch(text: &str) -> Option<LogTime> {
        let (seconds, fraction) = text.split_once('.')?;
        let seconds = digits(seconds.as_bytes())?;
        if fraction.len() != 3 {
            return None;
        }
        let millis = digits(fraction.as_bytes())?;
        Some(LogTime {
            millis: seconds * 1000 + millis,
            zone: Zone::new("UTC"),
            with_millis: true,
        })
    }

    /// The zone abbreviation as written (`UTC`, `CEST`, `+03`); empty when none was.
    pub fn zone(&self) -> &str {
        self.zone.as_str()
    }

    /// This time minus `millis` milliseconds, same zone.
    pub fn minus_millis(self, millis: i64) -> LogTime {
        LogTime {
            millis: self.millis - millis,
            with_millis: true,
            ..self
        }
    }

    /// The start of the hour, same zone: `2026-12-01 08:00 UTC`.
    pub fn hour(self) -> LogTime {
        LogTime {
            millis: self.millis.div_euclid(3_600_000) * 3_600_000,
            with_millis: false,
            ..self
        }
    }

    /// `YYYY-MM-DD HH:MM` and the zone: how an hour is labelled.
    pub fn hour_label(&self) -> String {
        let text = self.to_string();
        let zone = self.zone();
        if zone.is_empty() {
            text[..16].to_string()
        } else {
            format!("{} {zone}", &text[..16])
        }
    }
}

impl fmt::Display for LogTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.millis.div_euclid(86_400_000);
        let in_day = self.millis.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
        let (second, millis) = (in_day / 1000 % 60, in_day % 1000);
        write!(
            f,
            "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}"
        )?;
        if self.with_millis {
            write!(f, ".{millis:03}")?;
        }
        if !self.zone().is_empty() {
            write!(f, " {}", self.zone())?;
        }
        Ok(())
    }
}

impl fmt::Debug for LogTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_formats_the_server_writes() {
        for text in [
            "2026-12-01 08:43:48.435 UTC",
            "2026-12-01 08:43:48 CEST",
            "1999-02-28 23:59:59.999 +03",
            "2024-02-29 00:00:00.000",
        ] {
            assert_eq!(LogTime::parse(text).unwrap().to_string(), text);
        }
        let a = LogTime::parse("2026-12-01 08:43:48.435 UTC").unwrap();
        let b = LogTime::parse("2026-12-02 08:43:49.000 UTC").unwrap();
        assert_eq!(b.millis - a.millis, 86_400_000 + 565);
        assert_eq!(a.hour().hour_label(), "2026-12-01 08:00 UTC");
        assert_eq!(
            a.minus_millis(1_000).to_string(),
            "2026-12-01 08:43:47.435 UTC"
        );
    }

    #[test]
    fn epoch_is_utc() {
        assert_eq!(
            LogTime::parse_epoch("0.001").unwrap().to_string(),
            "1970-01-01 00:00:00.001 UTC"
        );
    }

    #[test]
    fn refuses_what_is_not_a_timestamp() {
        for text in [
            "",
            "2026-13-01 08:43:48 UTC",
            "2026-12-01T08:43:48 UTC",
            "2026-12-01 08:43:48.x UTC",
            "2026-12-01 08:43:48 U T C",
            "yesterday",
        ] {
            assert!(LogTime::parse(text).is_none(), "{text}");
        }
    }
}
