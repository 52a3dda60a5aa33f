//! A checked family, encoded once: its metadata and its sample lines.
//!
//! A plugin's result is validated and encoded while it still lies in the
//! plugin's memory, into one [`Block`] per family; the merge and the HTTP
//! body then move these bytes around and never look at a series again. A
//! block serves either format: the sample lines of both are the same
//! except a counter's whose name lacks `_total`, for which the block keeps
//! the text format's lines too, and the metadata lines are written when
//! the block is. Beside the lines it keeps what a merge with another
//! plugin's block of the same family needs: a hash of each series' label
//! set and where its lines start.

use std::mem::size_of;
use std::time::Instant;

use crate::encode::{Format, lines_differ, write_header, write_series, write_series_each};
use crate::model::{MetricFamily, MetricType, Text};
use crate::validate::{OutputLimits, OutputStats, Rejection, label_set_hash, validate_keyed};

/// One family's metadata and encoded series.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The family name (normalised: an info family's without `_info`).
    pub name: String,
    /// The HELP text.
    pub help: String,
    /// The family type.
    pub type_: MetricType,
    /// The OpenMetrics unit.
    pub unit: Option<String>,
    /// The sample lines, as OpenMetrics writes them.
    lines: Vec<u8>,
    /// The sample lines as the text format writes them, when they differ.
    text_lines: Option<Vec<u8>>,
    /// Per series, the hash of its label set ([`label_set_hash`]).
    keys: Vec<u64>,
    /// Per series, where its first line starts in `lines`.
    starts: Vec<u32>,
}

impl Block {
    /// Encodes a (validated) family.
    pub fn of<S: Text>(family: &MetricFamily<S>) -> Block {
        let keys = family
            .metrics
            .iter()
            .map(|m| label_set_hash(&m.labels))
            .collect();
        Block::keyed(family, keys)
    }

    /// Encodes a (validated) family whose series' label-set hashes are
    /// `keys`.
    fn keyed<S: Text>(family: &MetricFamily<S>, keys: Vec<u64>) -> Block {
        let name = family.name.as_ref();
        let n = family.metrics.len();
        let mut lines = Vec::new();
        let mut starts = Vec::with_capacity(n);
        write_series_each(&mut lines, family, Format::OpenMetrics, |_, at| {
            starts.push(u32::try_from(at).unwrap_or(u32::MAX));
        });
        let text_lines = lines_differ(name, family.type_).then(|| {
            let mut text = Vec::with_capacity(lines.len());
            write_series(&mut text, family, Format::Text);
            text
        });
        Block {
            name: name.to_owned(),
            help: family.help.as_ref().to_owned(),
            type_: family.type_,
            unit: family.unit.as_ref().map(|u| u.as_ref().to_owned()),
            lines,
            text_lines,
            keys,
            starts,
        }
    }

    /// Encodes every family of `families`.
    pub fn all<S: Text>(families: &[MetricFamily<S>]) -> Vec<Block> {
        families.iter().map(Block::of).collect()
    }

    /// Its series.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it has no series (and so writes nothing).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The label-set hash of each series.
    pub fn keys(&self) -> &[u64] {
        &self.keys
    }

    /// The first sample line of series `i`, without its value, for a
    /// message.
    pub fn show_series(&self, i: usize) -> String {
        let start = self.starts.get(i).map_or(0, |&s| s as usize);
        let line = &self.lines[start.min(self.lines.len())..];
        let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
        let sample = match line.iter().rposition(|&b| b == b' ') {
            Some(space) => &line[..space],
            None => line,
        };
        let mut shown = String::from_utf8_lossy(sample).into_owned();
        if shown.len() > 200 {
            let mut end = 200;
            while !shown.is_char_boundary(end) {
                end -= 1;
            }
            shown.truncate(end);
            shown.push('…');
        }
        shown
    }

    /// Appends the series of `other`, a block of the same family.
    pub fn append(&mut self, other: Block) {
        let shift = u32::try_from(self.lines.len()).unwrap_or(u32::MAX);
        self.starts
            .extend(other.starts.iter().map(|s| s.saturating_add(shift)));
        self.lines.extend_from_slice(&other.lines);
        if let (Some(mine), Some(theirs)) = (&mut self.text_lines, &other.text_lines) {
            mine.extend_from_slice(theirs);
        }
        self.keys.extend_from_slice(&other.keys);
    }

    /// The same family with `prefix` put before its name (a tenant's
    /// metric-name prefix): every sample line starts with the family's
    /// name, so each line gets the prefix in front. `prefix` must make a
    /// valid name of a valid one (letters, digits, `_` and `:`, not
    /// starting with a digit).
    pub fn prefixed(mut self, prefix: &str) -> Block {
        if prefix.is_empty() {
            return self;
        }
        self.name.insert_str(0, prefix);
        self.lines = prefix_lines(&self.lines, prefix.as_bytes(), &mut self.starts);
        if let Some(text) = &self.text_lines {
            self.text_lines = Some(prefix_lines(text, prefix.as_bytes(), &mut []));
        }
        self
    }

    /// Appends the family in `format`: its metadata, then its lines.
    pub fn write(&self, out: &mut Vec<u8>, format: Format) {
        if self.is_empty() {
            return;
        }
        self.write_header(out, format);
        out.extend_from_slice(self.lines_in(format));
    }

    /// Appends its metadata lines in `format`.
    pub fn write_header(&self, out: &mut Vec<u8>, format: Format) {
        write_header(
            out,
            &self.name,
            self.type_,
            &self.help,
            self.unit.as_deref(),
            format,
        );
    }

    fn lines_in(&self, format: Format) -> &[u8] {
        match (format, &self.text_lines) {
            (Format::Text, Some(text)) => text,
            _ => &self.lines,
        }
    }

    /// The bytes of its sample lines in `format`.
    pub fn lines_len(&self, format: Format) -> usize {
        self.lines_in(format).len()
    }

    /// Its sample lines in `format`, without a copy.
    pub fn into_lines(self, format: Format) -> Vec<u8> {
        match (format, self.text_lines) {
            (Format::Text, Some(text)) => text,
            _ => self.lines,
        }
    }

    /// The host memory it takes: the struct and every buffer it owns.
    pub fn heap_bytes(&self) -> u64 {
        let bytes = size_of::<Block>()
            + self.name.capacity()
            + self.help.capacity()
            + self.unit.as_ref().map_or(0, String::capacity)
            + self.lines.capacity()
            + self.text_lines.as_ref().map_or(0, Vec::capacity)
            + self.keys.capacity() * size_of::<u64>()
            + self.starts.capacity() * size_of::<u32>();
        bytes as u64
    }
}

/// `lines` with `prefix` before each line, and each of `starts` (offsets
/// of line starts, ascending) moved to where its line now starts.
fn prefix_lines(lines: &[u8], prefix: &[u8], starts: &mut [u32]) -> Vec<u8> {
    let count = lines.iter().filter(|&&b| b == b'\n').count();
    let mut out = Vec::with_capacity(lines.len() + count * prefix.len());
    let mut starts = starts.iter_mut().peekable();
    let mut old = 0usize;
    for line in lines.split_inclusive(|&b| b == b'\n') {
        while let Some(start) = starts.next_if(|s| **s as usize <= old) {
            *start = u32::try_from(out.len()).unwrap_or(u32::MAX);
        }
        out.extend_from_slice(prefix);
        out.extend_from_slice(line);
        old += line.len();
    }
    out
}

/// Checks one source's families ([`crate::validate::validate_until`])
/// and encodes those left, reusing the label-set hashes the checks
/// computed.
pub fn check_and_encode<S: Text>(
    families: &mut Vec<MetricFamily<S>>,
    limits: &OutputLimits,
    deadline: Option<Instant>,
) -> Result<(Vec<Block>, OutputStats), Rejection> {
    let mut keys = Vec::with_capacity(families.len());
    let stats = validate_keyed(families, limits, deadline, Some(&mut keys))?;
    let blocks = families
        .iter()
        .zip(keys)
        .map(|(family, keys)| Block::keyed(family, keys))
        .collect();
    Ok((blocks, stats))
}

/// Appends every block of `blocks` in `format` (and, for OpenMetrics, the
/// `# EOF` line).
pub fn write_all(blocks: &[Block], format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    for b in blocks {
        b.write(&mut out, format);
    }
    if format == Format::OpenMetrics {
        out.extend_from_slice(b"# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::encode;
    use crate::model::{Label, Value};

    fn counter(name: &str, values: &[(&str, f64)]) -> MetricFamily {
        let mut f = MetricFamily::new(name, "Jobs \"done\".\n", MetricType::Counter);
        for (queue, v) in values {
            f.push(vec![Label::new("queue", *queue)], Value::Counter(*v));
        }
        f
    }

    #[test]
    fn a_block_writes_what_the_encoder_writes_in_both_formats() {
        for name in ["jobs_total", "jobs"] {
            let family = counter(name, &[("a", 1.0), ("b\"\n", 2.5)]);
            let block = Block::of(&family);
            for format in [Format::Text, Format::OpenMetrics] {
                assert_eq!(
                    write_all(std::slice::from_ref(&block), format),
                    encode(std::slice::from_ref(&family), format),
                    "{name} in {format:?}"
                );
            }
        }
    }

    #[test]
    fn a_prefixed_block_is_the_block_of_the_renamed_family() {
        let mut histogram = MetricFamily::new("wait_seconds", "Waits.", MetricType::Histogram);
        histogram.push(
            vec![Label::new("queue", "a")],
            Value::Histogram(crate::model::Histogram {
                buckets: vec![
                    crate::model::Bucket {
                        upper_bound: 1.0,
                        count: 2,
                    },
                    crate::model::Bucket {
                        upper_bound: f64::INFINITY,
                        count: 3,
                    },
                ],
                count: 3,
                sum: 4.5,
            }),
        );
        for family in [
            counter("jobs", &[("a", 1.0), ("b\"\n", 2.5)]),
            counter("jobs_total", &[("a", 1.0)]),
            histogram,
        ] {
            let mut renamed = family.clone();
            renamed.name = format!("team_a_{}", family.name);
            let prefixed = Block::of(&family).prefixed("team_a_");
            let expected = Block::of(&renamed);
            assert_eq!(prefixed, expected, "{}", family.name);
            for i in 0..prefixed.len() {
                assert!(prefixed.show_series(i).starts_with("team_a_"));
            }
        }
    }

    #[test]
    fn appended_blocks_write_both_families_series_and_name_each() {
        let mut a = Block::of(&counter("jobs", &[("a", 1.0)]));
        let b = Block::of(&counter("jobs", &[("b", 2.0), ("c", 3.0)]));
        a.append(b);
        let whole = counter("jobs", &[("a", 1.0), ("b", 2.0), ("c", 3.0)]);
        for format in [Format::Text, Format::OpenMetrics] {
            assert_eq!(
                write_all(std::slice::from_ref(&a), format),
                encode(std::slice::from_ref(&whole), format)
            );
        }
        assert_eq!(a.len(), 3);
        assert_eq!(a.show_series(2), "jobs_total{queue=\"c\"}");
        assert_eq!(a.keys(), Block::of(&whole).keys());
    }
}
