//! The one field of an X.509 certificate the probe reports: the end of its
//! validity (`notAfter`), read from the DER encoding without a full
//! certificate parser. Certificates come from the server probed, so every
//! length is checked and a malformed one is an error, never a panic.

use crate::date::parse_asn1_time;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// One DER element: its tag, its contents, and what follows it.
fn element(der: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let (&tag, rest) = der.split_first().ok_or("truncated element")?;
    if tag & 0x1f == 0x1f {
        return Err(format!("unexpected high tag number in {tag:#04x}"));
    }
    let (&first, rest) = rest.split_first().ok_or("truncated length")?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(format!("bad length of a {tag:#04x} element"));
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return Err(format!("a {tag:#04x} element runs past the end"));
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// The next element, which must have tag `want`.
fn expect<'a>(der: &'a [u8], want: u8, what: &str) -> Result<(&'a [u8], &'a [u8]), String> {
    let (tag, contents, rest) = element(der)?;
    if tag != want {
        return Err(format!("expected {what}, found tag {tag:#04x}"));
    }
    Ok((contents, rest))
}

/// `notAfter` of a DER certificate, as Unix seconds.
pub fn not_after(certificate: &[u8]) -> Result<i64, String> {
    let (cert, _) = expect(certificate, SEQUENCE, "a certificate")?;
    let (tbs, _) = expect(cert, SEQUENCE, "the to-be-signed certificate")?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = element(rest)?.2;
    }
    let (_, rest) = expect(rest, INTEGER, "the serial number")?;
    let (_, rest) = expect(rest, SEQUENCE, "the signature algorithm")?;
    let (_, rest) = expect(rest, SEQUENCE, "the issuer")?;
    let (validity, _) = expect(rest, SEQUENCE, "the validity")?;
    let (_, _, after) = element(validity)?;
    let (tag, time, _) = element(after)?;
    let generalized = match tag {
        UTC_TIME => false,
        GENERALIZED_TIME => true,
        other => return Err(format!("notAfter has tag {other:#04x}, not a time")),
    };
    parse_asn1_time(time, generalized)
        .ok_or_else(|| format!("notAfter {:?} is not a time", String::from_utf8_lossy(time)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1
    /// -nodes -subj /CN=127.0.0.1 -days 3650`, DER: notAfter is
    /// `Nov 27 10:32:25 2036 GMT` per `openssl x509 -enddate`.
    const CERT: &str = concat!(
        "MIIBfTCCASOgAwIBAgIUQ7ZI/WFTpss+m7Id+yhpJGVo074wCgYIKoZIzj0EAwIwFDESMBAGA1UEAwwJMTI3LjAuMC4xMB4XDTI2",
        "MTEzMDEwMzIyNVoXDTM2MTEyNzEwMzIyNVowFDESMBAGA1UEAwwJMTI3LjAuMC4xMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
        "DpTLH88bOMw5+yjnu3/Fy1pEvY9nBdKpnIPS3s9e4kFVo5ZwQsUzL9175WNR6WCZfwobfFhCn8WykgbNtcUmVqNTMFEwHQYDVR0O",
        "BBYEFMG/DuQrykmx11VBb7s3apigVbq5MB8GA1UdIwQYMBaAFMG/DuQrykmx11VBb7s3apigVbq5MA8GA1UdEwEB/wQFMAMBAf8w",
        "CgYIKoZIzj0EAwIDSAAwRQIgBzQgPFVKiFRZ7HJ+YFlh6amePVZss88BW5+yuaLqjUoCIQC85tplWLBleSKXeJlOnYNrZWpxxlIJ",
        "ZpdsIX8dHHINSw==",
    );
    const CERT_NOT_AFTER: i64 = 2_111_394_745;

    fn decode_base64(text: &str) -> Vec<u8> {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for b in text
            .bytes()
            .filter(|b| *b != b'=' && !b.is_ascii_whitespace())
        {
            let v = alphabet.iter().position(|a| *a == b).unwrap() as u32;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }

    #[test]
    fn not_after_of_an_openssl_certificate() {
        let der = decode_base64(CERT);
        assert_eq!(not_after(&der), Ok(CERT_NOT_AFTER));
    }

    #[test]
    fn truncated_or_garbage_certificates_are_errors() {
        let der = decode_base64(CERT);
        for len in 0..der.len() {
            // Any prefix either fails or still holds the whole validity.
            if let Ok(t) = not_after(&der[..len]) {
                panic!("a {len}-byte prefix parsed as {t}");
            }
        }
        assert!(not_after(b"\x30\x84\xff\xff\xff\xff").is_err());
        assert!(not_after(b"\x1f\x00").is_err());
        assert!(not_after(&[0x30; 64]).is_err());
    }
}
