//! A page of encoded families streamed as the HTTP body pulls it: cut
//! into chunks of about [`CHUNK_BYTES`], gzip-compressed when asked, and a
//! large family's lines handed on as they are, without a copy.

use std::io::Write as _;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::block::Block;
use crate::encode::Format;

/// Bytes encoded before a chunk is handed to the HTTP body.
pub const CHUNK_BYTES: usize = 64 << 10;

/// An exposition cut into chunks of about [`CHUNK_BYTES`], written as the
/// HTTP body pulls them.
pub struct Exposition {
    families: std::vec::IntoIter<Block>,
    format: Format,
    gzip: Option<GzEncoder<Vec<u8>>>,
    done: bool,
    /// A large family's lines, handed on as they are (not copied) after
    /// the chunk ending with its metadata.
    queued: Option<Bytes>,
}

impl Exposition {
    /// Streams the encoded `families` in `format`, gzip-compressed if
    /// `gzip`.
    pub fn new(families: Vec<Block>, format: Format, gzip: bool) -> Self {
        Exposition {
            families: families.into_iter(),
            format,
            gzip: gzip.then(|| GzEncoder::new(Vec::new(), Compression::fast())),
            done: false,
            queued: None,
        }
    }
}

impl Iterator for Exposition {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if let Some(lines) = self.queued.take() {
            return Some(lines);
        }
        if self.done {
            return None;
        }
        let mut buf = Vec::with_capacity(CHUNK_BYTES + (CHUNK_BYTES >> 2));
        loop {
            match self.families.next() {
                Some(f) if self.gzip.is_none() && f.lines_len(self.format) >= CHUNK_BYTES => {
                    f.write_header(&mut buf, self.format);
                    self.queued = Some(Bytes::from(f.into_lines(self.format)));
                    break;
                }
                Some(f) => f.write(&mut buf, self.format),
                None => {
                    if self.format == Format::OpenMetrics {
                        buf.extend_from_slice(b"# EOF\n");
                    }
                    self.done = true;
                    break;
                }
            }
            if buf.len() >= CHUNK_BYTES {
                break;
            }
        }
        let chunk = match &mut self.gzip {
            None => buf,
            Some(gz) => {
                gz.write_all(&buf).expect("writing to a Vec cannot fail");
                if self.done {
                    let gz = self.gzip.take().expect("present");
                    gz.finish().expect("writing to a Vec cannot fail")
                } else {
                    std::mem::take(gz.get_mut())
                }
            }
        };
        if chunk.is_empty() && !self.done {
            return self.next();
        }
        Some(Bytes::from(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::encode;
    use crate::model::{Label, MetricFamily, MetricType, Value};

    fn l(pairs: &[(&str, &str)]) -> Vec<Label> {
        pairs.iter().map(|(k, v)| Label::new(*k, *v)).collect()
    }

    #[test]
    fn streamed_chunks_equal_the_whole_and_gzip_round_trips() {
        let mut families = Vec::new();
        for i in 0..50 {
            let mut f = MetricFamily::new(format!("g{i:02}"), "help", MetricType::Gauge);
            for j in 0..500 {
                f.push(l(&[("j", &j.to_string())]), Value::Gauge(j as f64));
            }
            families.push(f);
        }
        let whole = encode(&families, Format::OpenMetrics);
        let chunks: Vec<Bytes> =
            Exposition::new(Block::all(&families), Format::OpenMetrics, false).collect();
        assert!(chunks.len() > 3, "a large page is cut into chunks");
        assert_eq!(chunks.concat(), whole);
        let zipped: Vec<u8> = Exposition::new(Block::all(&families), Format::OpenMetrics, true)
            .flat_map(|b| b.to_vec())
            .collect();
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&zipped[..]),
            &mut unzipped,
        )
        .unwrap();
        assert_eq!(unzipped, whole);
        assert!(zipped.len() < whole.len() / 3);
    }

    #[test]
    fn a_large_familys_lines_are_streamed_as_they_are() {
        let mut families = Vec::new();
        for (name, n) in [("a_small", 3), ("b_large_total", 20_000), ("c_small", 2)] {
            let mut f = MetricFamily::new(name, "help", MetricType::Counter);
            for j in 0..n {
                f.push(l(&[("j", &j.to_string())]), Value::Counter(j as f64));
            }
            families.push(f);
        }
        for format in [Format::Text, Format::OpenMetrics] {
            let blocks = Block::all(&families);
            let large = blocks[1].lines_len(format);
            assert!(large >= CHUNK_BYTES);
            let chunks: Vec<Bytes> = Exposition::new(blocks, format, false).collect();
            assert_eq!(chunks.concat(), encode(&families, format), "{format:?}");
            assert!(
                chunks.iter().any(|c| c.len() == large),
                "the large family's lines form one chunk of their own"
            );
        }
    }
}
