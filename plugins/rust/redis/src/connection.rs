//! One TCP connection to Redis, every step of it bounded by one deadline.
//!
//! The SDK's `net::LineClient` would do, but on wasm32-wasip2 its connect
//! (`TcpStream::connect_timeout`) reports success for a refused
//! connection: the refusal waits in the socket's pending error, and the
//! first write then fails with "Socket not connected". This checks that
//! pending error, so a stopped server reads "Connection refused".

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::resp::Wire;

/// A connection whose reads and writes all end at one deadline.
pub struct Connection {
    reader: BufReader<TcpStream>,
    deadline: Instant,
    budget: Duration,
    /// The longest line or bulk string read at once.
    max_bytes: u64,
}

impl Connection {
    /// Connects to `address` (`host:port`); everything done on the
    /// connection must end within `budget` from now.
    pub fn open(address: &str, budget: Duration, max_bytes: u64) -> Result<Self, String> {
        let deadline = Instant::now() + budget;
        let addrs: Vec<_> = address
            .to_socket_addrs()
            .map_err(|e| format!("{address}: {e}"))?
            .collect();
        let mut last = format!("{address}: the name has no address");
        for addr in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let connected = TcpStream::connect_timeout(&addr, left).and_then(|stream| match stream
                .take_error(
            )? {
                Some(refused) => Err(refused),
                None => Ok(stream),
            });
            match connected {
                Ok(stream) => {
                    return Ok(Connection {
                        reader: BufReader::new(stream),
                        deadline,
                        budget,
                        max_bytes,
                    });
                }
                Err(e) => last = format!("{address}: {e}"),
            }
        }
        Err(last)
    }

    /// Sends `bytes` as they are.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        let left = self.left()?;
        let stream = self.reader.get_mut();
        stream
            .set_write_timeout(Some(left))
            .and_then(|()| stream.write_all(bytes))
            .and_then(|()| stream.flush())
            .map_err(|e| self.explain(e))
    }

    fn left(&self) -> Result<Duration, String> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no answer within {:?}", self.budget));
        }
        Ok(left)
    }

    fn set_read_deadline(&mut self) -> Result<(), String> {
        let left = self.left()?;
        self.reader
            .get_ref()
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())
    }

    fn explain(&self, e: io::Error) -> String {
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                format!("no answer within {:?}", self.budget)
            }
            io::ErrorKind::UnexpectedEof => "the server closed the connection".into(),
            _ => e.to_string(),
        }
    }
}

impl Wire for Connection {
    fn read_line(&mut self) -> Result<String, String> {
        self.set_read_deadline()?;
        let mut line = Vec::new();
        let n = (&mut self.reader)
            .take(self.max_bytes + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| self.explain(e))?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        if line.len() as u64 > self.max_bytes {
            return Err(format!("a line longer than {} bytes", self.max_bytes));
        }
        if line.pop() != Some(b'\n') {
            return Err("the server closed the connection within a line".into());
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        String::from_utf8(line).map_err(|_| "a line that is not UTF-8".into())
    }

    fn read_exact(&mut self, n: u64) -> Result<Vec<u8>, String> {
        if n > self.max_bytes {
            return Err(format!("{n} bytes announced, over {}", self.max_bytes));
        }
        self.set_read_deadline()?;
        let mut buf = vec![0; n as usize];
        self.reader
            .read_exact(&mut buf)
            .map_err(|e| self.explain(e))?;
        Ok(buf)
    }
}
