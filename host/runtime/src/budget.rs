//! The host memory all running plugins may hold at once.
//!
//! One budget for the whole host ([`DEFAULT_MEMORY_BUDGET_BYTES`] unless
//! told otherwise). Before it starts, a call reserves from it the most it
//! may take: its linear memory up to the plugin's cap, and its result up to
//! the copy limit, in one go (a call never holds part of the budget while
//! waiting for more, so calls cannot wait on each other in a circle). Its
//! memory's share is given back with its instance; its result keeps a share
//! (shrunk to what it really takes) until the response that carries it has
//! been sent. When the budget is spent, a call waits for others to give
//! theirs back, never longer than its own deadline: so the host's memory
//! stays bounded however many scrapes arrive at once, and a plugin is
//! never refused for memory that others hold only for a moment.
//!
//! [`DEFAULT_MEMORY_BUDGET_BYTES`]: crate::limits::DEFAULT_MEMORY_BUDGET_BYTES

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes per permit of the underlying semaphore: reservations are made in
/// whole KiB, so a budget of terabytes still fits the semaphore's count.
const UNIT_BYTES: u64 = 1 << 10;

/// The host-wide memory budget; cheap to clone.
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    permits: Arc<Semaphore>,
    total_units: u64,
}

/// A share of the budget, given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    permit: Option<OwnedSemaphorePermit>,
    budget: MemoryBudget,
}

impl MemoryBudget {
    /// A budget of `total_bytes` (rounded down to whole KiB, at least one).
    pub fn new(total_bytes: u64) -> Self {
        let total_units = (total_bytes / UNIT_BYTES).clamp(1, Semaphore::MAX_PERMITS as u64);
        MemoryBudget {
            permits: Arc::new(Semaphore::new(total_units as usize)),
            total_units,
        }
    }

    /// The whole budget, in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.total_units * UNIT_BYTES
    }

    /// Bytes reserved right now.
    pub fn reserved_bytes(&self) -> u64 {
        (self.total_units - self.permits.available_permits() as u64) * UNIT_BYTES
    }

    /// An empty reservation, to grow later.
    pub fn empty(&self) -> Reservation {
        Reservation {
            permit: None,
            budget: self.clone(),
        }
    }

    /// Reserves `bytes` (at most the whole budget), waiting until `deadline`
    /// for them to be free; `None` if they were not by then.
    pub async fn reserve(&self, bytes: u64, deadline: Instant) -> Option<Reservation> {
        let mut reservation = self.empty();
        reservation
            .grow(bytes, deadline)
            .await
            .then_some(reservation)
    }

    fn units(&self, bytes: u64) -> u32 {
        bytes
            .div_ceil(UNIT_BYTES)
            .min(self.total_units)
            .try_into()
            .unwrap_or(u32::MAX)
    }
}

impl Reservation {
    /// Bytes this reservation holds.
    pub fn bytes(&self) -> u64 {
        self.permit
            .as_ref()
            .map_or(0, |p| p.num_permits() as u64 * UNIT_BYTES)
    }

    /// Adds `bytes` to the reservation, waiting until `deadline` for them;
    /// false (and nothing added) if they were not free by then.
    pub async fn grow(&mut self, bytes: u64, deadline: Instant) -> bool {
        let units = self.budget.units(bytes);
        if units == 0 {
            return true;
        }
        // First come, first served: a large request is not starved by a
        // stream of small ones. The wait polls the semaphore before the
        // clock, so free units are taken even at the deadline.
        let acquire = self.budget.permits.clone().acquire_many_owned(units);
        let permit = match tokio::time::timeout_at(deadline.into(), acquire).await {
            Ok(Ok(permit)) => permit,
            _ => return false,
        };
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
        true
    }

    /// Gives back all but `bytes` of the reservation.
    pub fn shrink_to(&mut self, bytes: u64) {
        let keep = self.budget.units(bytes) as usize;
        if let Some(held) = &mut self.permit {
            let extra = held.num_permits().saturating_sub(keep);
            if extra > 0 {
                drop(held.split(extra));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn reservations_wait_within_the_deadline_and_give_back_on_drop() {
        block_on(async {
            let budget = MemoryBudget::new(100 << 10);
            let soon = || Instant::now() + Duration::from_millis(50);
            let mut a = budget.reserve(60 << 10, soon()).await.expect("free");
            assert_eq!(budget.reserved_bytes(), 60 << 10);
            // 60 + 60 > 100: the second waits, and gives up at its deadline.
            assert!(budget.reserve(60 << 10, soon()).await.is_none());
            // Shrinking gives the rest back at once.
            a.shrink_to(10 << 10);
            assert_eq!(a.bytes(), 10 << 10);
            let b = budget.reserve(60 << 10, soon()).await.expect("now free");
            assert!(!a.grow(40 << 10, soon()).await, "only 30 KiB are left");
            assert!(a.grow(30 << 10, soon()).await);
            assert_eq!(budget.reserved_bytes(), 100 << 10);
            drop((a, b));
            assert_eq!(budget.reserved_bytes(), 0);
        });
    }

    #[test]
    fn a_waiting_reservation_gets_what_is_given_back() {
        block_on(async {
            let budget = MemoryBudget::new(64 << 10);
            let held = budget
                .reserve(64 << 10, Instant::now())
                .await
                .expect("free");
            let waiter = {
                let budget = budget.clone();
                tokio::spawn(async move {
                    let deadline = Instant::now() + Duration::from_secs(60);
                    budget.reserve(32 << 10, deadline).await.map(|r| r.bytes())
                })
            };
            tokio::task::yield_now().await;
            drop(held);
            assert_eq!(waiter.await.unwrap(), Some(32 << 10));
        });
    }
}
