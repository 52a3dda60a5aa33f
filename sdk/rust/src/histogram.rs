//! Histogram and summary data points, from precomputed counts or from raw
//! observations.

/// The default bucket bounds of the Prometheus client libraries, in seconds:
/// they suit request latencies of network services.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// `count` bucket bounds: `start`, `start + width`, `start + 2 * width`, ...
pub fn linear_buckets(start: f64, width: f64, count: usize) -> Vec<f64> {
    (0..count).map(|i| start + width * i as f64).collect()
}

/// `count` bucket bounds: `start`, `start * factor`, `start * factor²`, ...
pub fn exponential_buckets(start: f64, factor: f64, count: usize) -> Vec<f64> {
    (0..count)
        .scan(start, |bound, _| {
            let current = *bound;
            *bound *= factor;
            Some(current)
        })
        .collect()
}

/// One histogram data point: cumulative buckets, the sum and the count of
/// the observations.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    buckets: Vec<(f64, u64)>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// A histogram from precomputed cumulative buckets, as
    /// `(upper bound, observations <= upper bound)` sorted by bound, plus
    /// the sum and the count of all observations.
    ///
    /// The `+Inf` bucket is appended with `count` when the last bound is
    /// finite, so callers may leave it out:
    ///
    /// ```
    /// use wasm_exporter_sdk::Histogram;
    ///
    /// let h = Histogram::new(&[(0.1, 4), (0.5, 9)], 2.7, 10);
    /// assert_eq!(h.buckets(), &[(0.1, 4), (0.5, 9), (f64::INFINITY, 10)]);
    /// ```
    pub fn new(buckets: &[(f64, u64)], sum: f64, count: u64) -> Self {
        let mut buckets = buckets.to_vec();
        if buckets
            .last()
            .is_none_or(|&(bound, _)| bound != f64::INFINITY)
        {
            buckets.push((f64::INFINITY, count));
        }
        Histogram {
            buckets,
            sum,
            count,
        }
    }

    /// A histogram of raw observations over the given bucket bounds (in any
    /// order; NaN and duplicate bounds are ignored). An observation lands in
    /// every bucket whose bound is at least its value; NaN observations only
    /// count in `+Inf` and make the sum NaN, as in the Prometheus client
    /// libraries.
    ///
    /// ```
    /// use wasm_exporter_sdk::Histogram;
    ///
    /// let h = Histogram::from_observations(&[1.0, 5.0], [0.5, 1.0, 3.0, 7.0]);
    /// assert_eq!(h.buckets(), &[(1.0, 2), (5.0, 3), (f64::INFINITY, 4)]);
    /// assert_eq!((h.sum(), h.count()), (11.5, 4));
    /// ```
    pub fn from_observations(bounds: &[f64], observations: impl IntoIterator<Item = f64>) -> Self {
        let mut bounds: Vec<f64> = bounds
            .iter()
            .copied()
            .filter(|bound| !bound.is_nan() && *bound != f64::INFINITY)
            .collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();

        // Per-bucket counts first (the last slot is +Inf), then the running sum.
        let mut counts = vec![0u64; bounds.len() + 1];
        let (mut sum, mut count) = (0.0, 0u64);
        for value in observations {
            let slot = if value.is_nan() {
                bounds.len()
            } else {
                bounds.partition_point(|&bound| bound < value)
            };
            counts[slot] += 1;
            sum += value;
            count += 1;
        }
        let mut cumulative = 0;
        let buckets = bounds
            .into_iter()
            .chain(std::iter::once(f64::INFINITY))
            .zip(counts)
            .map(|(bound, n)| {
                cumulative += n;
                (bound, cumulative)
            })
            .collect();
        Histogram {
            buckets,
            sum,
            count,
        }
    }

    /// The cumulative buckets, `+Inf` last.
    pub fn buckets(&self) -> &[(f64, u64)] {
        &self.buckets
    }

    /// The sum of the observations.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The number of observations.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// One summary data point: quantiles, the sum and the count of the
/// observations.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    quantiles: Vec<(f64, f64)>,
    sum: f64,
    count: u64,
}

impl Summary {
    /// A summary from precomputed `(quantile, value)` pairs (quantiles in
    /// [0, 1], increasing), plus the sum and the count of the observations.
    pub fn new(quantiles: &[(f64, f64)], sum: f64, count: u64) -> Self {
        Summary {
            quantiles: quantiles.to_vec(),
            sum,
            count,
        }
    }

    /// A summary of raw observations with the given quantiles, each taken
    /// exactly (nearest rank). With no observations every quantile is NaN,
    /// as in the Prometheus client libraries.
    ///
    /// ```
    /// use wasm_exporter_sdk::Summary;
    ///
    /// let s = Summary::from_observations(&[0.5, 0.9], [4.0, 1.0, 3.0, 2.0]);
    /// assert_eq!(s.quantiles(), &[(0.5, 2.0), (0.9, 4.0)]);
    /// assert_eq!((s.sum(), s.count()), (10.0, 4));
    /// ```
    pub fn from_observations(
        quantiles: &[f64],
        observations: impl IntoIterator<Item = f64>,
    ) -> Self {
        let mut values: Vec<f64> = observations.into_iter().collect();
        values.sort_by(f64::total_cmp);
        let quantiles = quantiles
            .iter()
            .map(|&q| (q, nearest_rank(&values, q)))
            .collect();
        Summary {
            quantiles,
            sum: values.iter().sum(),
            count: values.len() as u64,
        }
    }

    /// The `(quantile, value)` pairs.
    pub fn quantiles(&self) -> &[(f64, f64)] {
        &self.quantiles
    }

    /// The sum of the observations.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The number of observations.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// The smallest value with at least `q` of the sorted values at or below it.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.saturating_sub(1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn inf_bucket_is_appended_once() {
        assert_eq!(Histogram::new(&[], 0.0, 0).buckets(), &[(INF, 0)]);
        assert_eq!(
            Histogram::new(&[(1.0, 1), (INF, 3)], 4.0, 3).buckets(),
            &[(1.0, 1), (INF, 3)]
        );
    }

    #[test]
    fn observations_fill_cumulative_buckets() {
        let h = Histogram::from_observations(
            &[5.0, 1.0, 1.0, f64::NAN, INF],
            [1.0, 0.25, 5.0, 5.5, 100.0],
        );
        assert_eq!(h.buckets(), &[(1.0, 2), (5.0, 3), (INF, 5)]);
        assert_eq!(h.count(), 5);
        assert_eq!(h.sum(), 111.75);
    }

    #[test]
    fn nan_observation_counts_only_in_inf() {
        let h = Histogram::from_observations(&[1.0], [0.5, f64::NAN]);
        assert_eq!(h.buckets(), &[(1.0, 1), (INF, 2)]);
        assert!(h.sum().is_nan());
    }

    #[test]
    fn empty_observations() {
        let h = Histogram::from_observations(&DEFAULT_BUCKETS, []);
        assert_eq!(h.buckets().len(), DEFAULT_BUCKETS.len() + 1);
        assert!(h.buckets().iter().all(|&(_, n)| n == 0));
        let s = Summary::from_observations(&[0.5], []);
        assert!(s.quantiles()[0].1.is_nan());
        assert_eq!(s.count(), 0);
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let values = (1..=100).map(f64::from);
        let s = Summary::from_observations(&[0.0, 0.5, 0.99, 1.0], values);
        assert_eq!(
            s.quantiles(),
            &[(0.0, 1.0), (0.5, 50.0), (0.99, 99.0), (1.0, 100.0)]
        );
        assert_eq!(s.sum(), 5050.0);
    }

    #[test]
    fn bucket_layouts() {
        assert_eq!(linear_buckets(1.0, 2.0, 3), [1.0, 3.0, 5.0]);
        assert_eq!(exponential_buckets(0.5, 4.0, 3), [0.5, 2.0, 8.0]);
        assert!(linear_buckets(0.0, 1.0, 0).is_empty());
    }
}
