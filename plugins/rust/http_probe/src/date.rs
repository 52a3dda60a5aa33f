//! Calendar dates as Unix seconds: the `Last-Modified` header (the three
//! formats HTTP/1.1 allows, as Go's `http.ParseTime` reads them) and the
//! `UTCTime`/`GeneralizedTime` of a certificate's validity.

/// Days from 1970-01-01 to the proleptic Gregorian date `year-month-day`
/// (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Unix seconds of a UTC date and time, or `None` if a field is out of
/// range (no leap seconds, as in Go).
pub fn unix_seconds(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> Option<i64> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(
        days_from_civil(year, month, day) * 86_400
            + i64::from(hour) * 3_600
            + i64::from(minute) * 60
            + i64::from(second),
    )
}

/// The decimal number of `digits`, which must all be ASCII digits.
fn number(digits: &str) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn month(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS.iter().position(|m| *m == name).map(|i| i as u32 + 1)
}

/// `15:04:05` → (hour, minute, second).
fn clock(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.len() != 2 || m.len() != 2 || s.len() != 2 {
        return None;
    }
    Some((number(h)?, number(m)?, number(s)?))
}

/// An HTTP date: `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate),
/// `Sunday, 06-Nov-94 08:49:37 GMT` (RFC 850) or `Sun Nov  6 08:49:37 1994`
/// (asctime), as Unix seconds.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let text = text.trim();
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    match fields.as_slice() {
        [weekday, day, mon, year, time, "GMT"] if weekday.ends_with(',') && year.len() == 4 => {
            let (h, m, s) = clock(time)?;
            unix_seconds(i64::from(number(year)?), month(mon)?, number(day)?, h, m, s)
        }
        [weekday, date, time, "GMT"] if weekday.ends_with(',') => {
            let mut parts = date.split('-');
            let (day, mon, year) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || year.len() != 2 {
                return None;
            }
            // Go's rule for two-digit years: 69-99 are 19xx, 00-68 20xx.
            let year = i64::from(number(year)?);
            let year = if year >= 69 { 1900 + year } else { 2000 + year };
            let (h, m, s) = clock(time)?;
            unix_seconds(year, month(mon)?, number(day)?, h, m, s)
        }
        [_weekday, mon, day, time, year] if year.len() == 4 => {
            let (h, m, s) = clock(time)?;
            unix_seconds(i64::from(number(year)?), month(mon)?, number(day)?, h, m, s)
        }
        _ => None,
    }
}

/// An ASN.1 `UTCTime` (`YYMMDDHHMMSSZ`, years 1950-2049) or
/// `GeneralizedTime` (`YYYYMMDDHHMMSSZ`) as DER writes them, as Unix
/// seconds.
pub fn parse_asn1_time(text: &[u8], generalized: bool) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?;
    let digits = text.strip_suffix('Z')?;
    let (year, rest) = if generalized {
        if digits.len() != 14 {
            return None;
        }
        (i64::from(number(&digits[..4])?), &digits[4..])
    } else {
        if digits.len() != 12 {
            return None;
        }
        let yy = i64::from(number(&digits[..2])?);
        (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
    };
    let field = |i: usize| number(&rest[i..i + 2]);
    unix_seconds(year, field(0)?, field(2)?, field(4)?, field(6)?, field(8)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_http_date_formats_agree() {
        // RFC 9110's example date.
        let expected = Some(784_111_777);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), expected);
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 23:59:59 GMT"),
            Some(951_868_799)
        );
    }

    #[test]
    fn malformed_http_dates_are_refused() {
        for bad in [
            "",
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn asn1_times_cover_both_centuries() {
        assert_eq!(
            parse_asn1_time(b"491231235959Z", false),
            Some(2_524_607_999)
        );
        assert_eq!(parse_asn1_time(b"500101000000Z", false), Some(-631_152_000));
        assert_eq!(
            parse_asn1_time(b"20491231235959Z", true),
            Some(2_524_607_999)
        );
        assert_eq!(
            parse_asn1_time(b"99991231235959Z", true),
            Some(253_402_300_799)
        );
        assert_eq!(parse_asn1_time(b"4912312359Z", false), None);
        assert_eq!(parse_asn1_time(b"491231235959", false), None);
        assert_eq!(parse_asn1_time(b"\xff\xff", true), None);
    }
}
