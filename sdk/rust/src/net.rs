//! A TCP client for line protocols (Redis, memcached, SMTP-like), over
//! `std::net` on WASI sockets: the address must be granted
//! (`grants.tcp`), and a name in it may be looked up.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// A connection that sends requests and reads line-framed answers, each
/// read bounded in size and time.
pub struct LineClient {
    reader: BufReader<TcpStream>,
    max_bytes: u64,
}

impl LineClient {
    /// Connects to `address` (`host:port`), giving up after `timeout`
    /// (connecting, and each read and write after); no answer may be longer
    /// than `max_bytes`.
    pub fn connect(address: &str, timeout: Duration, max_bytes: u64) -> Result<Self, String> {
        let addrs: Vec<_> = address
            .to_socket_addrs()
            .map_err(|e| format!("{address}: {e}"))?
            .collect();
        let mut last = format!("{address}: no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => {
                    // On WASI a refused connection can come back `Ok`, with
                    // the refusal as the socket's pending error.
                    if let Some(e) = stream.take_error().map_err(|e| format!("{address}: {e}"))? {
                        last = format!("{address}: {e}");
                        continue;
                    }
                    stream
                        .set_read_timeout(Some(timeout))
                        .and_then(|()| stream.set_write_timeout(Some(timeout)))
                        .map_err(|e| format!("{address}: {e}"))?;
                    return Ok(LineClient {
                        reader: BufReader::new(stream),
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
        let stream = self.reader.get_mut();
        stream
            .write_all(bytes)
            .and_then(|()| stream.flush())
            .map_err(|e| e.to_string())
    }

    /// Reads one line, without its `\r\n` or `\n`; an error at the end of
    /// the stream or past `max_bytes`.
    pub fn read_line(&mut self) -> Result<String, String> {
        let mut line = Vec::new();
        let n = (&mut self.reader)
            .take(self.max_bytes + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the connection was closed".into());
        }
        if line.len() as u64 > self.max_bytes {
            return Err(format!("a line longer than {} bytes", self.max_bytes));
        }
        while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            line.pop();
        }
        String::from_utf8(line).map_err(|e| e.to_string())
    }

    /// Reads exactly `n` bytes (at most `max_bytes`).
    pub fn read_exact(&mut self, n: u64) -> Result<Vec<u8>, String> {
        if n > self.max_bytes {
            return Err(format!("{n} bytes announced, over {}", self.max_bytes));
        }
        let mut buf = vec![0; n as usize];
        self.reader
            .read_exact(&mut buf)
            .map_err(|e| e.to_string())?;
        Ok(buf)
    }
}
