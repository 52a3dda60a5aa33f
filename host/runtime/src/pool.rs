//! Slots of the instance pool, handed out to calls so the pool is never
//! exhausted.
//!
//! The engine's pooling allocator has a fixed number of component
//! instances, linear memories and tables ([`PoolSize`]). Asking it for one
//! more than it has fails the instantiation, which would fail a good
//! plugin because others were busy. So every call first takes what its
//! plugin needs (one instance, and the memories and tables its component
//! declares) from these counters, waiting in line within its deadline; the
//! allocator then always has room.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::budget::{MemoryBudget, Reservation};

/// Linear memories one component may have (most have one; a language
/// runtime may bring a few).
pub const MAX_MEMORIES_PER_COMPONENT: u32 = 8;

/// Tables one component may have.
pub const MAX_TABLES_PER_COMPONENT: u32 = 16;

/// Core instances one component may create (plus adapters and shims).
pub const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 64;

/// How large the pool is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSize {
    /// Component instances alive at once.
    pub instances: u32,
    /// Linear memories across them (two per instance on average).
    pub memories: u32,
    /// Tables across them (four per instance on average).
    pub tables: u32,
}

impl PoolSize {
    /// A pool for `instances` instances at once.
    pub fn for_instances(instances: u32) -> Self {
        let instances = instances.max(1);
        PoolSize {
            instances,
            memories: instances.saturating_mul(2).max(MAX_MEMORIES_PER_COMPONENT),
            tables: instances.saturating_mul(4).max(MAX_TABLES_PER_COMPONENT),
        }
    }
}

/// What one instance of a component takes from the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Linear memories.
    pub memories: u32,
    /// Tables.
    pub tables: u32,
}

impl Needs {
    /// The most any component may need.
    pub const MOST: Needs = Needs {
        memories: MAX_MEMORIES_PER_COMPONENT,
        tables: MAX_TABLES_PER_COMPONENT,
    };
}

/// The pool's free slots.
#[derive(Debug, Clone)]
pub struct Slots {
    instances: Arc<Semaphore>,
    memories: Arc<Semaphore>,
    tables: Arc<Semaphore>,
}

/// Slots held by one call, given back when dropped.
#[derive(Debug)]
pub struct Held {
    _permits: [OwnedSemaphorePermit; 3],
}

impl Slots {
    /// All the slots of a pool of `size`.
    pub fn new(size: PoolSize) -> Self {
        let counter = |n: u32| Arc::new(Semaphore::new(n as usize));
        Slots {
            instances: counter(size.instances),
            memories: counter(size.memories),
            tables: counter(size.tables),
        }
    }

    /// Instances in use right now.
    pub fn instances_in_use(&self, size: PoolSize) -> u32 {
        size.instances - self.instances.available_permits() as u32
    }

    /// Takes one instance and what `needs` says, waiting in line until
    /// `deadline`; `None` if they were not free by then. Always taken in the
    /// same order (instances, memories, tables), so two calls never wait on
    /// each other.
    pub async fn take(&self, needs: Needs, deadline: Instant) -> Option<Held> {
        let deadline = tokio::time::Instant::from(deadline);
        let take = |semaphore: &Arc<Semaphore>, n: u32| {
            tokio::time::timeout_at(deadline, semaphore.clone().acquire_many_owned(n))
        };
        let instance = take(&self.instances, 1).await.ok()?.ok()?;
        let memories = take(&self.memories, needs.memories).await.ok()?.ok()?;
        let tables = take(&self.tables, needs.tables).await.ok()?.ok()?;
        Some(Held {
            _permits: [instance, memories, tables],
        })
    }
}

/// One tenant's share of the pool's instances and of the host's memory
/// budget: what its calls may hold at once, so no tenant can take every
/// slot, or all the memory, and make the others wait. A call takes from
/// its share first, then from the pool ([`Slots::take`]) and the budget;
/// always in that order, so calls never wait on each other in a circle.
#[derive(Debug, Clone)]
pub struct Share {
    instances: Arc<Semaphore>,
    instances_total: u32,
    memory: MemoryBudget,
}

/// What one call holds of its share, given back when dropped.
#[derive(Debug)]
pub struct ShareHeld {
    _instance: OwnedSemaphorePermit,
    _memory: Reservation,
}

impl Share {
    /// A share of `instances` instances (at least one) and `memory_bytes`.
    pub fn new(instances: u32, memory_bytes: u64) -> Self {
        let instances = instances.max(1);
        Share {
            instances: Arc::new(Semaphore::new(instances as usize)),
            instances_total: instances,
            memory: MemoryBudget::new(memory_bytes),
        }
    }

    /// Instances it holds at most.
    pub fn instances(&self) -> u32 {
        self.instances_total
    }

    /// Instances its calls hold now.
    pub fn instances_in_use(&self) -> u32 {
        self.instances_total - self.instances.available_permits() as u32
    }

    /// Bytes of the memory budget it holds at most.
    pub fn memory_bytes(&self) -> u64 {
        self.memory.total_bytes()
    }

    /// Bytes its calls hold now.
    pub fn memory_in_use_bytes(&self) -> u64 {
        self.memory.reserved_bytes()
    }

    /// Takes one instance and `memory_bytes` (at most the whole share),
    /// waiting in line until `deadline`; `None` if they were not free by
    /// then.
    pub async fn take(&self, memory_bytes: u64, deadline: Instant) -> Option<ShareHeld> {
        let instance = tokio::time::timeout_at(
            tokio::time::Instant::from(deadline),
            self.instances.clone().acquire_owned(),
        )
        .await
        .ok()?
        .ok()?;
        let memory = self.memory.reserve(memory_bytes, deadline).await?;
        Some(ShareHeld {
            _instance: instance,
            _memory: memory,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_call_waits_for_a_slot_and_gives_up_at_its_deadline() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let slots = Slots::new(PoolSize {
                instances: 1,
                memories: 8,
                tables: 16,
            });
            let needs = Needs {
                memories: 1,
                tables: 1,
            };
            let soon = || Instant::now() + Duration::from_millis(30);
            let held = slots.take(needs, soon()).await.expect("free");
            assert!(
                slots.take(needs, soon()).await.is_none(),
                "no instance left"
            );
            let waiter = {
                let slots = slots.clone();
                tokio::spawn(async move {
                    let deadline = Instant::now() + Duration::from_secs(60);
                    slots.take(needs, deadline).await.is_some()
                })
            };
            tokio::task::yield_now().await;
            drop(held);
            assert!(waiter.await.unwrap(), "the waiter gets the slot given back");
        });
    }

    #[test]
    fn a_share_bounds_its_own_calls_only() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let share = Share::new(2, 1 << 20);
            let soon = || Instant::now() + Duration::from_millis(30);
            let a = share.take(1 << 10, soon()).await.expect("free");
            let _b = share.take(1 << 10, soon()).await.expect("free");
            assert_eq!(share.instances_in_use(), 2);
            assert!(share.take(1 << 10, soon()).await.is_none(), "share spent");
            let other = Share::new(2, 1 << 20);
            assert!(
                other.take(1 << 10, soon()).await.is_some(),
                "another share is untouched"
            );
            drop(a);
            assert_eq!(share.instances_in_use(), 1);
            // Memory is bounded too: the whole share, then nothing more.
            let memory = Share::new(4, 1 << 20);
            let _all = memory.take(1 << 20, soon()).await.expect("free");
            assert!(memory.take(1 << 10, soon()).await.is_none(), "memory spent");
        });
    }
}
