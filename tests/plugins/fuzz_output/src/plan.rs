//! What the fuzz plugin does for a seed: a plan, derived by a small PRNG
//! (splitmix64) so that the same seed gives the same plan on every
//! platform. Plain Rust with no dependencies: the host's fuzz test includes
//! this file to predict what the host must answer for each seed.
//!
//! Most plans return families: valid ones (with hostile but legal names,
//! label values, help texts and floats), or valid ones with exactly one
//! defect the host must refuse (`defect` names it). The rest return an
//! error, panic, spin forever, allocate too much, recurse too deep, sleep
//! past the deadline or flood the log.

/// A metric type, as in the WIT `metric-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Info,
    StateSet,
    Unknown,
}

const KINDS: [Kind; 7] = [
    Kind::Counter,
    Kind::Gauge,
    Kind::Histogram,
    Kind::Summary,
    Kind::Info,
    Kind::StateSet,
    Kind::Unknown,
];

/// A series' value, as in the WIT `value`.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Counter(f64),
    Gauge(f64),
    Unknown(f64),
    /// Buckets (upper bound, cumulative count), sum, count.
    Histogram(Vec<(f64, u64)>, f64, u64),
    /// Quantiles (quantile, value), sum, count.
    Summary(Vec<(f64, f64)>, f64, u64),
    Info,
    StateSet(Vec<(String, bool)>),
}

impl Val {
    pub fn kind(&self) -> Kind {
        match self {
            Val::Counter(_) => Kind::Counter,
            Val::Gauge(_) => Kind::Gauge,
            Val::Unknown(_) => Kind::Unknown,
            Val::Histogram(..) => Kind::Histogram,
            Val::Summary(..) => Kind::Summary,
            Val::Info => Kind::Info,
            Val::StateSet(_) => Kind::StateSet,
        }
    }
}

/// A series: labels in order, and the value.
pub type Series = (Vec<(String, String)>, Val);

/// A metric family, as in the WIT `metric-family`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fam {
    pub name: String,
    pub help: String,
    pub kind: Kind,
    pub unit: Option<String>,
    pub series: Vec<Series>,
}

/// What `collect` does for one seed.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Return these families. `defect` is set when one rule is broken on
    /// purpose, and says which.
    Families {
        families: Vec<Fam>,
        defect: Option<&'static str>,
    },
    /// Write this many log records and stdout/stderr lines, then return
    /// the families.
    Log { records: u32, families: Vec<Fam> },
    /// Return `err` with this message.
    Error(String),
    /// Panic with this message.
    Panic(String),
    /// Spin until the fuel runs out.
    Loop,
    /// Allocate (and touch) this many bytes.
    Allocate(usize),
    /// Recurse until the stack runs out.
    Recurse,
    /// Sleep this many milliseconds.
    Sleep(u64),
}

/// splitmix64.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True `percent` times in 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }
}

/// The seed a request's target stands for: the number itself, or a hash of
/// any other text.
pub fn seed_of(target: &str) -> u64 {
    target.parse().unwrap_or_else(|_| {
        target.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
    })
}

/// The plan for `seed`.
pub fn for_seed(seed: u64) -> Plan {
    let mut rng = Rng::new(seed);
    match rng.below(100) {
        0..=3 => {
            let len = 1 + rng_len(&mut rng);
            Plan::Error(text(&mut rng, len))
        }
        4..=7 => Plan::Panic(text(&mut rng, 40)),
        8..=9 => Plan::Loop,
        // Under `isize::MAX` of wasm32, so that it is the memory cap that says no.
        10..=11 => Plan::Allocate((80 << 20) + rng.index(1 << 30)),
        12 => Plan::Recurse,
        13 => Plan::Sleep(3_000),
        14..=16 => Plan::Log {
            records: 1 + rng.below(300) as u32,
            families: families(&mut rng),
        },
        17..=58 => Plan::Families {
            families: families(&mut rng),
            defect: None,
        },
        _ => {
            let mut fams = families(&mut rng);
            let defect = break_one(&mut rng, &mut fams);
            Plan::Families {
                families: fams,
                defect: Some(defect),
            }
        }
    }
}

fn rng_len(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0 => 10_000 + rng.index(100_000),
        1..=3 => 0,
        _ => rng.index(60),
    }
}

/// Tricky but legal text: escapes, quotes, newlines, multi-byte and
/// invalid-then-replaced UTF-8, NUL.
const TRICKY: &[&str] = &[
    "",
    "\\",
    "\"",
    "\n",
    "\\n",
    "\\\"",
    "a\\b\"c\nd",
    "\u{0}",
    "é",
    "𝄞",
    "\u{feff}",
    "\r\n",
    "# HELP x",
    "} 1\n",
    "le",
    "+Inf",
    "NaN",
    "=\",",
    " ",
];

fn text(rng: &mut Rng, max_len: usize) -> String {
    match rng.below(4) {
        0 => rng.pick(TRICKY).to_string(),
        1 => {
            let n = rng.index(max_len + 1);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        2 => {
            let n = rng.index(max_len + 1);
            (0..n)
                .map(|_| char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{fffd}'))
                .collect()
        }
        _ => {
            let n = rng.index(6);
            (0..n).map(|_| *rng.pick(TRICKY)).collect()
        }
    }
}

fn float(rng: &mut Rng) -> f64 {
    match rng.below(8) {
        0 => f64::from_bits(rng.next_u64()),
        1 => *rng.pick(&[
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            5e-324,
            f64::MAX,
            f64::MIN,
            1e15,
            0.1,
        ]),
        2 => f64::from_bits(rng.below(1 << 52)),
        3..=5 => (rng.below(2_000_001) as f64 - 1_000_000.0) / 8.0,
        _ => rng.below(1 << 53) as f64,
    }
}

fn name_start(rng: &mut Rng, colon: bool) -> char {
    let chars: &[u8] = if colon {
        b"abcxyzABCXYZ_:"
    } else {
        b"abcxyzABCXYZ_"
    };
    *rng.pick(chars) as char
}

fn name_chars(rng: &mut Rng, colon: bool, max: usize) -> String {
    let chars: &[u8] = if colon {
        b"abcdefxyzABZ0189_:"
    } else {
        b"abcdefxyzABZ0189_"
    };
    let n = rng.index(max + 1);
    (0..n).map(|_| *rng.pick(chars) as char).collect()
}

fn label_name(rng: &mut Rng) -> String {
    loop {
        let name = format!("{}{}", name_start(rng, false), name_chars(rng, false, 6));
        if !name.starts_with("__") {
            return name;
        }
    }
}

fn unit(rng: &mut Rng) -> String {
    let n = 1 + rng.index(6);
    (0..n)
        .map(|_| *rng.pick(b"abcdefghijklmnopqrstuvwxyz") as char)
        .collect()
}

/// Valid families: names made unique by their index (the last all-digit
/// segment of every sample name), so none clash.
fn families(rng: &mut Rng) -> Vec<Fam> {
    let count = rng.index(7);
    let big = rng.chance(5).then(|| rng.index(count.max(1)));
    (0..count).map(|i| family(rng, i, big == Some(i))).collect()
}

fn family(rng: &mut Rng, index: usize, big: bool) -> Fam {
    let kind = *rng.pick(&KINDS);
    let state_set = kind == Kind::StateSet;
    let prefix = loop {
        let p = format!(
            "{}{}",
            name_start(rng, !state_set),
            name_chars(rng, !state_set, 8)
        );
        let named = format!("{p}_{index}");
        if !named.starts_with("__") && !named.starts_with("wasm_exporter_") {
            break p;
        }
    };
    let mut base = format!("{prefix}_{index}");
    let unit = match kind {
        Kind::Info | Kind::StateSet => None,
        _ if rng.chance(30) => {
            let u = unit(rng);
            base = format!("{base}_{u}");
            Some(u)
        }
        _ if rng.chance(5) => Some(String::new()),
        _ => None,
    };
    let name = match kind {
        Kind::Counter if unit.as_deref().is_some_and(|u| !u.is_empty()) || rng.chance(50) => {
            format!("{base}_total")
        }
        Kind::Info if rng.chance(50) => format!("{base}_info"),
        _ => base.clone(),
    };
    let mut fam = Fam {
        name,
        help: text(rng, 30),
        kind,
        unit,
        series: Vec::new(),
    };
    if big {
        let n = 1_000 + rng.index(29_000);
        let value = value(rng, kind);
        fam.series = (0..n)
            .map(|i| (vec![("i".to_owned(), i.to_string())], value.clone()))
            .collect();
        return fam;
    }
    let reserved = match kind {
        Kind::Histogram => "le".to_owned(),
        Kind::Summary => "quantile".to_owned(),
        Kind::StateSet => base,
        _ => String::new(),
    };
    let mut seen: Vec<Vec<(String, String)>> = Vec::new();
    for _ in 0..rng.index(8) {
        let mut labels: Vec<(String, String)> = Vec::new();
        for _ in 0..rng.index(4) {
            let name = label_name(rng);
            if name != reserved && !labels.iter().any(|(n, _)| *n == name) {
                labels.push((name, text(rng, 12)));
            }
        }
        let key = identity(&labels);
        if !seen.contains(&key) {
            seen.push(key);
            fam.series.push((labels, value(rng, kind)));
        }
    }
    fam
}

/// A series' labels as Prometheus identifies them: sorted, without the
/// empty-valued ones.
fn identity(labels: &[(String, String)]) -> Vec<(String, String)> {
    let mut key: Vec<(String, String)> = labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .cloned()
        .collect();
    key.sort();
    key
}

fn value(rng: &mut Rng, kind: Kind) -> Val {
    match kind {
        Kind::Counter => {
            let v = float(rng);
            Val::Counter(if v.is_nan() { 0.0 } else { v.abs() })
        }
        Kind::Gauge => Val::Gauge(float(rng)),
        Kind::Unknown => Val::Unknown(float(rng)),
        Kind::Histogram => {
            let mut bounds: Vec<f64> = (0..rng.index(6))
                .map(|_| float(rng))
                .filter(|f| f.is_finite())
                .collect();
            bounds.sort_by(f64::total_cmp);
            bounds.dedup_by(|a, b| a == b);
            bounds.push(f64::INFINITY);
            let mut count = 0u64;
            let buckets = bounds
                .into_iter()
                .map(|b| {
                    count += if rng.chance(10) {
                        rng.below(u64::MAX / 16)
                    } else {
                        rng.below(100)
                    };
                    (b, count)
                })
                .collect();
            Val::Histogram(buckets, float(rng), count)
        }
        Kind::Summary => {
            let mut quantiles: Vec<(f64, f64)> = Vec::new();
            for _ in 0..rng.index(5) {
                let q = match rng.below(3) {
                    0 => *rng.pick(&[0.0, -0.0, 0.5, 0.9, 0.99, 1.0]),
                    _ => rng.below(1_000_001) as f64 / 1e6,
                };
                if !quantiles.iter().any(|(p, _)| *p == q) {
                    quantiles.push((q, float(rng)));
                }
            }
            Val::Summary(quantiles, float(rng), rng.next_u64())
        }
        Kind::Info => Val::Info,
        Kind::StateSet => {
            let mut states: Vec<(String, bool)> = Vec::new();
            for _ in 0..1 + rng.index(4) {
                let name = text(rng, 8);
                if !name.is_empty() && !states.iter().any(|(n, _)| *n == name) {
                    states.push((name, rng.chance(50)));
                }
            }
            if states.is_empty() {
                states.push(("on".into(), true));
            }
            Val::StateSet(states)
        }
    }
}

/// Breaks one rule the host enforces in one family that has a series (so
/// the family is not dropped as empty), and says which.
fn break_one(rng: &mut Rng, fams: &mut Vec<Fam>) -> &'static str {
    if fams.is_empty() {
        fams.push(family(rng, 0, false));
    }
    let f = rng.index(fams.len());
    if fams[f].series.is_empty() {
        let v = value(rng, fams[f].kind);
        fams[f].series.push((Vec::new(), v));
    }
    let s = rng.index(fams[f].series.len());
    let bad_names = ["", "0abc", "a-b", "a b", "é", "a\n", "a{b}", "a\"b"];
    let fam = &mut fams[f];
    match rng.below(17) {
        0 => {
            fam.name = rng.pick(&bad_names).to_string();
            "invalid metric name"
        }
        1 => {
            fam.name = format!("__{}", fam.name);
            "metric name starting with __"
        }
        2 => {
            fam.name = format!("wasm_exporter_{}", fam.name);
            "the host's prefix"
        }
        3 => {
            let bad = *rng.pick(&["", "0x", "a-b", "a:b", "é", "a b"]);
            fam.series[s].0.push((bad.to_owned(), "v".into()));
            "invalid label name"
        }
        4 => {
            fam.series[s].0.push(("__name__".into(), "v".into()));
            "label name starting with __"
        }
        5 => {
            let labels = &mut fam.series[s].0;
            let name = label_name(rng);
            labels.retain(|(n, _)| *n != name);
            labels.push((name.clone(), "1".into()));
            labels.push((name, "2".into()));
            "a label twice"
        }
        6 => {
            // The same series again, its labels reversed, perhaps with an
            // extra empty-valued label (the same series to Prometheus).
            let mut copy = fam.series[s].clone();
            copy.0.reverse();
            if rng.chance(50) {
                let name = label_name(rng);
                if !copy.0.iter().any(|(n, _)| *n == name) {
                    copy.0.push((name, String::new()));
                }
            }
            fam.series.push(copy);
            "duplicate series"
        }
        7 => {
            let other = loop {
                let k = *rng.pick(&KINDS);
                if k != fam.kind {
                    break k;
                }
            };
            fam.series[s].1 = value(rng, other);
            "a value of another type"
        }
        8 => {
            fam.kind = Kind::Counter;
            fam.unit = None;
            let bad = *rng.pick(&[-1.0, f64::NAN, f64::NEG_INFINITY, -5e-324]);
            for series in &mut fam.series {
                series.1 = Val::Counter(1.0);
            }
            fam.series[s].1 = Val::Counter(bad);
            "negative or NaN counter"
        }
        9 => {
            let mut buckets: Vec<(f64, u64)> = vec![(1.0, 1), (2.0, 2), (f64::INFINITY, 3)];
            let mut count = 3;
            match rng.below(6) {
                0 => buckets.clear(),
                1 => {
                    buckets.pop();
                    count = 2;
                }
                2 => buckets.swap(0, 1),
                3 => buckets[0].0 = f64::NAN,
                4 => buckets[0].1 = 9,
                _ => count = 4,
            }
            fam.kind = Kind::Histogram;
            fam.unit = None;
            let reserved_free: Vec<(String, String)> = fam.series[s]
                .0
                .iter()
                .filter(|(n, _)| n != "le")
                .cloned()
                .collect();
            fam.series = vec![(reserved_free, Val::Histogram(buckets, 1.0, count))];
            "a broken histogram"
        }
        10 => {
            let q = *rng.pick(&[1.5, -0.5, f64::NAN, f64::INFINITY]);
            let quantiles = if rng.chance(50) {
                vec![(q, 1.0)]
            } else {
                vec![(0.5, 1.0), (0.5, 2.0)]
            };
            fam.kind = Kind::Summary;
            fam.unit = None;
            let labels: Vec<(String, String)> = fam.series[s]
                .0
                .iter()
                .filter(|(n, _)| n != "quantile")
                .cloned()
                .collect();
            fam.series = vec![(labels, Val::Summary(quantiles, 1.0, 1))];
            "a broken summary"
        }
        11 => {
            let states = match rng.below(3) {
                0 => vec![],
                1 => vec![(String::new(), true)],
                _ => vec![("a".into(), true), ("a".into(), false)],
            };
            fam.kind = Kind::StateSet;
            fam.unit = None;
            fam.name = format!("s_{f}");
            fam.series = vec![(Vec::new(), Val::StateSet(states))];
            "a broken state set"
        }
        12 => {
            match fam.kind {
                Kind::Info | Kind::StateSet => fam.unit = Some("seconds".into()),
                // No name ends in a digit after a letter-only unit.
                _ => fam.unit = Some(format!("{}9", unit(rng))),
            }
            "a unit that is not the name's suffix"
        }
        13 => {
            let mut clash = fams[f].clone();
            let n = &fams[f].name;
            clash.name = match fams[f].kind {
                Kind::Histogram => format!("{n}_count"),
                Kind::Summary => format!("{n}_sum"),
                Kind::Counter if n.ends_with("_total") => n.clone(),
                Kind::Info if n.ends_with("_info") => n.clone(),
                _ => n.clone(),
            };
            clash.kind = Kind::Gauge;
            clash.unit = None;
            clash.series = vec![(Vec::new(), Val::Gauge(1.0))];
            fams.insert(rng.index(fams.len() + 1), clash);
            "two families writing one name"
        }
        14 => {
            fam.kind = Kind::Counter;
            fam.unit = None;
            fam.name = "_total".into();
            fam.series = vec![(Vec::new(), Val::Counter(1.0))];
            "a counter named only _total"
        }
        15 => {
            fam.kind = Kind::StateSet;
            fam.unit = None;
            fam.name = format!("a:b_{f}");
            fam.series = vec![(Vec::new(), Val::StateSet(vec![("on".into(), true)]))];
            "a state set whose name has a colon"
        }
        _ => {
            let reserved = match fam.kind {
                Kind::Histogram => "le".to_owned(),
                Kind::Summary => "quantile".to_owned(),
                Kind::StateSet => fam.name.clone(),
                _ => {
                    fam.kind = Kind::Histogram;
                    fam.unit = None;
                    let v = value(rng, Kind::Histogram);
                    for series in &mut fam.series {
                        series.1 = v.clone();
                        series.0.retain(|(n, _)| n != "le");
                    }
                    "le".to_owned()
                }
            };
            let labels = &mut fam.series[s].0;
            labels.retain(|(n, _)| *n != reserved);
            labels.push((reserved, "1".into()));
            "a reserved label"
        }
    }
}
