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
}
