//! One plugin's `collect` in one scrape: a fresh instance under its limits
//! ([`crate::instance`]), then its output checked and normalised by the
//! exposition core's validator.
//!
//! The result is an [`Outcome`]: the plugin's families, ready to merge, or
//! the reason it is down for this scrape, with what the call cost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasm_exporter_exposition::validate::{self, OutputStats};

use crate::bindings::model::CollectRequest;
use crate::instance::{self, Called};
use crate::limits::PluginLimits;
use crate::load::PluginVersion;
use crate::outcome::{Failure, FailureReason, Outcome};
use crate::sandbox::PluginContext;

/// What a scrape asks of each plugin.
#[derive(Debug, Clone, Default)]
pub struct CollectInput {
    /// The target of a `/probe` request.
    pub target: Option<String>,
    /// The other parameters of a `/probe` request.
    pub params: Vec<(String, String)>,
}

/// Runs `collect` of `version` once, in a fresh store, and validates the
/// result. Never panics on anything the plugin does.
pub async fn collect(
    version: &PluginVersion,
    context: &Arc<PluginContext>,
    limits: &PluginLimits,
    input: &CollectInput,
    time_allowed: Duration,
) -> Outcome {
    let start = Instant::now();
    let request = CollectRequest {
        target: input.target.clone(),
        params: input.params.clone(),
        timeout_ms: time_allowed.as_millis().try_into().unwrap_or(u64::MAX),
    };
    let Called {
        result,
        fuel_consumed,
        memory_peak_bytes,
    } = instance::call(
        version.pre(),
        version.engine(),
        context,
        limits,
        time_allowed,
        instance::Collect(&request),
    )
    .await;
    let mut series = 0;
    let result = match result {
        Err(failure) => Err(failure),
        Ok(Err(message)) => Err(Failure::new(FailureReason::Error, message)),
        Ok(Ok(mut families)) => match validate::validate(&mut families, &limits.output()) {
            Ok(OutputStats { series: n, .. }) => {
                series = n;
                Ok(families)
            }
            Err(rejection) => {
                series = rejection.series;
                Err(Failure::from(rejection))
            }
        },
    };
    Outcome {
        plugin: context.name.clone(),
        result,
        duration: start.elapsed(),
        fuel_consumed,
        memory_peak_bytes,
        series,
    }
}
