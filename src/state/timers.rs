//! Client deadlines without a timer per client: one min-heap of
//! `(when, client, serial)`. Entries are checked lazily: a client that was
//! active since gets its entry pushed back instead of acted on, and an
//! entry whose slot now holds another client (serial mismatch), or that
//! was replaced by a newer deadline, is dropped when it comes up.
//!
//! Entries of departed clients would wait for their deadline (minutes)
//! and the heap would keep its peak capacity: `compact` drops them and
//! gives the memory back once they outnumber the live ones.
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

    /// Takes the next entry due at `now`: `(when, client, serial)`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, ClientId, u64)> {
        match self.heap.peek() {
            Some(Reverse((t, _, _))) if *t <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Should `compact` run, with `live` clients that may hold an entry?
    pub fn wants_compaction(&self, live: usize) -> bool {
        self.heap.len() > 2 * live + 64
    }

    /// Keeps only the entries `live` accepts, and frees the spare room.
    pub fn compact(&mut self, live: impl Fn(Instant, ClientId, u64) -> bool) {
        self.heap
            .retain(|Reverse((t, id, serial))| live(*t, *id, *serial));
        self.heap.shrink_to_fit();
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}
