//! Client deadlines without a timer per client: one min-heap of
//! `(when, client, serial)`. Entries are checked lazily: a client that was
//! active since gets its entry pushed back instead of acted on, and an
//! entry whose slot now holds another client (serial mismatch) is dropped.
//! Imports nothing but `state::client`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use super::client::ClientId;

#[derive(Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, ClientId, u64)>>,
}

impl Timers {
    pub fn schedule(&mut self, when: Instant, id: ClientId, serial: u64) {
        self.heap.push(Reverse((when, id, serial)));
    }

    /// The earliest deadline, if any.
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Takes the next entry due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(ClientId, u64)> {
        match self.heap.peek() {
            Some(Reverse((t, _, _))) if *t <= now => {
                self.heap.pop().map(|Reverse((_, id, serial))| (id, serial))
            }
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}
