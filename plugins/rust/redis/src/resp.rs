//! The RESP2 protocol, as far as a monitoring client needs it: commands
//! encoded as arrays of bulk strings, and replies read back with every
//! size bounded, so a wrong or hostile server cannot make the plugin
//! allocate more than its byte budget or recurse without end.

/// Elements one array reply may have. The replies read here have a few
/// (CONFIG GET: 2, SLOWLOG GET 1: one entry of 6, LATENCY LATEST: one per
/// event); a larger count is a protocol error, not a reason to allocate.
const MAX_ARRAY_LEN: i64 = 4096;

/// Nesting of arrays in one reply (SLOWLOG GET nests three deep).
const MAX_DEPTH: usize = 4;

/// One reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`
    Simple(String),
    /// `-ERR ...`: the command failed; the connection is still usable.
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$3\r\nabc`, or `$-1` (none).
    Bulk(Option<Vec<u8>>),
    /// `*2\r\n...`, or `*-1` (none).
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// What kind of reply it is, for an error message (the reply itself
    /// may be megabytes).
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::Simple(_) => "a simple string",
            Reply::Error(_) => "an error",
            Reply::Integer(_) => "an integer",
            Reply::Bulk(Some(_)) => "a bulk string",
            Reply::Bulk(None) => "a null bulk string",
            Reply::Array(Some(_)) => "an array",
            Reply::Array(None) => "a null array",
        }
    }

    /// The text of a bulk or simple string reply.
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Bulk(Some(bytes)) => Some(String::from_utf8_lossy(bytes).into_owned()),
            Reply::Simple(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// The value of an integer reply.
    pub fn integer(&self) -> Option<i64> {
        match self {
            Reply::Integer(n) => Some(*n),
            _ => None,
        }
    }

    /// The elements of an array reply (none for a null array).
    pub fn elements(&self) -> Option<&[Reply]> {
        match self {
            Reply::Array(Some(items)) => Some(items),
            Reply::Array(None) => Some(&[]),
            _ => None,
        }
    }
}

/// A command as RESP sends it: an array of bulk strings, so arguments
/// (a password) may hold spaces or any byte.
pub fn command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Where replies come from: a connection, or bytes in a unit test.
pub trait Wire {
    /// One line without its `\r\n`.
    fn read_line(&mut self) -> Result<String, String>;
    /// Exactly `n` bytes.
    fn read_exact(&mut self, n: u64) -> Result<Vec<u8>, String>;
}

impl<W: Wire + ?Sized> Wire for &mut W {
    fn read_line(&mut self) -> Result<String, String> {
        (**self).read_line()
    }

    fn read_exact(&mut self, n: u64) -> Result<Vec<u8>, String> {
        (**self).read_exact(n)
    }
}

/// Reads replies, charging every byte to one budget shared by all the
/// replies of a scrape.
pub struct Replies<W> {
    wire: W,
    budget: u64,
}

impl<W: Wire> Replies<W> {
    /// Reads from `wire`, at most `budget` bytes in all.
    pub fn new(wire: W, budget: u64) -> Self {
        Replies { wire, budget }
    }

    /// The next reply.
    pub fn next(&mut self) -> Result<Reply, String> {
        self.read(0)
    }

    fn charge(&mut self, bytes: u64) -> Result<(), String> {
        self.budget = self.budget.checked_sub(bytes).ok_or_else(|| {
            "the replies are longer than the plugin reads in one scrape".to_owned()
        })?;
        Ok(())
    }

    fn read(&mut self, depth: usize) -> Result<Reply, String> {
        let line = self.wire.read_line()?;
        self.charge(line.len() as u64 + 2)?;
        let mut chars = line.chars();
        let kind = chars.next().ok_or("an empty line where a reply was due")?;
        let rest = chars.as_str();
        match kind {
            '+' => Ok(Reply::Simple(rest.to_owned())),
            '-' => Ok(Reply::Error(rest.to_owned())),
            ':' => Ok(Reply::Integer(parse_length(rest, &line)?)),
            '$' => {
                let len = parse_length(rest, &line)?;
                if len < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let len = len as u64;
                self.charge(len + 2)?;
                let bytes = self.wire.read_exact(len)?;
                let end = self.wire.read_line()?;
                if !end.is_empty() {
                    return Err(format!(
                        "a bulk string of {len} bytes runs on past its length"
                    ));
                }
                Ok(Reply::Bulk(Some(bytes)))
            }
            '*' => {
                let len = parse_length(rest, &line)?;
                if len < 0 {
                    return Ok(Reply::Array(None));
                }
                if len > MAX_ARRAY_LEN {
                    return Err(format!(
                        "an array of {len} elements, over the {MAX_ARRAY_LEN} expected at most"
                    ));
                }
                if depth >= MAX_DEPTH {
                    return Err(format!("arrays nested deeper than {MAX_DEPTH}"));
                }
                let mut items = Vec::new();
                for _ in 0..len {
                    items.push(self.read(depth + 1)?);
                }
                Ok(Reply::Array(Some(items)))
            }
            _ => Err(format!("not a RESP2 reply: {:?}", truncated(&line))),
        }
    }
}

fn parse_length(digits: &str, line: &str) -> Result<i64, String> {
    digits
        .parse()
        .map_err(|_| format!("not a RESP2 reply: {:?}", truncated(line)))
}

/// The start of a line, for an error message.
fn truncated(line: &str) -> String {
    line.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes as a server would send them.
    struct Bytes(std::collections::VecDeque<u8>);

    impl Wire for Bytes {
        fn read_line(&mut self) -> Result<String, String> {
            let end = self
                .0
                .iter()
                .position(|b| *b == b'\n')
                .ok_or("the connection was closed")?;
            let mut line: Vec<u8> = self.0.drain(..=end).collect();
            while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                line.pop();
            }
            String::from_utf8(line).map_err(|e| e.to_string())
        }

        fn read_exact(&mut self, n: u64) -> Result<Vec<u8>, String> {
            if (self.0.len() as u64) < n {
                return Err("the connection was closed".into());
            }
            Ok(self.0.drain(..n as usize).collect())
        }
    }

    fn replies(bytes: &[u8], budget: u64) -> Replies<Bytes> {
        Replies::new(Bytes(bytes.iter().copied().collect()), budget)
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(
            command(&["AUTH", "pass word"]),
            b"*2\r\n$4\r\nAUTH\r\n$9\r\npass word\r\n"
        );
    }

    #[test]
    fn every_reply_kind_reads() {
        let mut r = replies(
            b"+OK\r\n-NOAUTH Authentication required.\r\n:7\r\n$5\r\na\r\nb!\r\n$-1\r\n\
              *2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n*-1\r\n",
            1 << 10,
        );
        assert_eq!(r.next(), Ok(Reply::Simple("OK".into())));
        assert_eq!(
            r.next(),
            Ok(Reply::Error("NOAUTH Authentication required.".into()))
        );
        assert_eq!(r.next(), Ok(Reply::Integer(7)));
        // A bulk string may hold line breaks: its length, not a line, ends it.
        assert_eq!(r.next().unwrap().text().as_deref(), Some("a\r\nb!"));
        assert_eq!(r.next(), Ok(Reply::Bulk(None)));
        let config = r.next().unwrap();
        let pair: Vec<_> = config.elements().unwrap().iter().map(Reply::text).collect();
        assert_eq!(pair, [Some("databases".into()), Some("16".into())]);
        assert_eq!(r.next().unwrap().elements(), Some(&[][..]));
        assert!(r.next().is_err(), "nothing is left");
    }

    #[test]
    fn the_budget_bounds_all_replies_together() {
        let mut r = replies(b"$10\r\n0123456789\r\n$10\r\n0123456789\r\n", 30);
        assert!(r.next().is_ok());
        let err = r.next().unwrap_err();
        assert!(err.contains("longer than"), "{err}");
    }

    #[test]
    fn hostile_replies_fail_without_allocating() {
        for (bytes, wanted) in [
            (&b"*100000000\r\n"[..], "elements"),
            (b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", "nested"),
            (b"$99999999999\r\n", "longer than"),
            (b"$3\r\nabcdef\r\n", "runs on"),
            (b"$x\r\n", "not a RESP2 reply"),
            (b"HTTP/1.1 400 Bad Request\r\n", "not a RESP2 reply"),
            (b"\r\n", "empty line"),
            (b"$5\r\nab", "closed"),
        ] {
            let err = replies(bytes, 1 << 20).next().unwrap_err();
            assert!(err.contains(wanted), "{bytes:?}: {err}");
        }
    }
}
