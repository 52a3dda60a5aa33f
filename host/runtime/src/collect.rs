//! One plugin's `collect` in one scrape: a fresh instance under its limits
//! ([`crate::instance`]), its output read where it lies in the plugin's
//! memory, checked by the exposition core's validator and encoded
//! ([`crate::read`]), all on the plugin threads and within the plugin's
//! deadline (the checks stop when it passes).
//!
//! The result is an [`Outcome`]: the plugin's families as encoded blocks,
//! ready to merge, or the reason it is down for this scrape, with what the
//! call cost and the share of the host's memory budget its blocks hold.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasm_exporter_exposition::block::Block;
use wasm_exporter_exposition::validate::RejectionKind;

use crate::bindings::model::CollectRequest;
use crate::grants::{Host, split_authority};
use crate::instance::{self, Allowance, Called};
use crate::limits::PluginLimits;
use crate::load::PluginVersion;
use crate::outcome::{Failure, FailureReason, Outcome};
use crate::pool::Share;
use crate::read::{Checked, InPlace, Reading};
use crate::sandbox::PluginContext;

/// What a scrape asks of each plugin.
#[derive(Debug, Clone, Default)]
pub struct CollectInput {
    /// The target of a `/probe` request.
    pub target: Option<String>,
    /// The other parameters of a `/probe` request.
    pub params: Vec<(String, String)>,
    /// The share of the pool the calls draw from: their tenant's.
    pub share: Option<Share>,
}

/// Runs `collect` of `version` once, in a fresh store, and validates the
/// result, all within `time_allowed`. Never panics on anything the plugin
/// does. Runs where it is awaited: a server puts it on the runtime's plugin
/// threads ([`Runtime::run`](crate::engine::Runtime::run)).
pub async fn collect(
    version: &PluginVersion,
    context: &Arc<PluginContext>,
    limits: &PluginLimits,
    input: &CollectInput,
    time_allowed: Duration,
) -> Outcome {
    let start = Instant::now();
    let deadline = start + time_allowed;
    let request = CollectRequest {
        target: input.target.clone(),
        params: input.params.clone(),
        timeout_ms: time_allowed.as_millis().try_into().unwrap_or(u64::MAX),
    };
    let probe_host = match (&input.target, context.grants.probe_target) {
        (Some(target), true) => target_host(target),
        _ => None,
    };
    let allowance = Allowance {
        limits,
        time_allowed,
        result_bytes: limits.result_bytes(),
        probe_host,
        share: input.share.as_ref(),
    };
    let Called {
        result,
        fuel_consumed,
        memory_peak_bytes,
        mut reservation,
    } = instance::call(
        version.runtime(),
        version.pre(),
        version.needs(),
        context,
        allowance,
        instance::Collect {
            export: version.collect_export(),
            request: &request,
            reading: Reading {
                limits: limits.output(),
                deadline,
            },
        },
    )
    .await;
    let mut series = 0;
    let result = match result {
        Err(failure) => Err(failure),
        Ok(Err(message)) => Err(Failure::new(FailureReason::Error, message)),
        Ok(Ok(InPlace(Ok(Checked { blocks, stats })))) => {
            series = stats.series;
            Ok(blocks)
        }
        Ok(Ok(InPlace(Err(rejection)))) if rejection.kind == RejectionKind::Deadline => {
            series = rejection.series;
            Err(Failure::new(
                FailureReason::Timeout,
                format!(
                    "did not finish within {} ms ({})",
                    time_allowed.as_millis(),
                    rejection.message
                ),
            ))
        }
        Ok(Ok(InPlace(Err(rejection)))) => {
            series = rejection.series;
            Err(Failure::from(rejection))
        }
    };
    // The blocks keep what they really take of the budget until the
    // response carrying them is sent; a failure keeps nothing.
    let kept = result.as_ref().map_or(0, |b| host_bytes(b));
    match &mut reservation {
        Some(r) if kept > 0 => r.shrink_to(kept),
        _ => reservation = None,
    }
    Outcome {
        plugin: context.name.clone(),
        result,
        duration: start.elapsed(),
        fuel_consumed,
        memory_peak_bytes,
        series,
        memory: reservation.map(Arc::new),
    }
}

/// The host a probe target names: the host of a URL (`https://h:8443/x`),
/// of `host:port`, or a bare host or address.
pub fn target_host(target: &str) -> Option<Host> {
    let rest = target.split_once("://").map_or(target, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if authority.contains('@') {
        return None;
    }
    if let Ok(host) = Host::parse(authority) {
        return Some(host);
    }
    split_authority(authority, 0).ok().map(|(host, _)| host)
}

/// The host memory `blocks` take: their structs and the buffers they own.
pub fn host_bytes(blocks: &[Block]) -> u64 {
    blocks.iter().map(Block::heap_bytes).sum()
}
