//! Client deadlines without a timer per client: one min-heap of
//! `(when, client, serial)`, 16 bytes an entry (a `Stamp`, the slab key
//! and the low half of the serial, which is enough to tell a slot's
//! clients apart). Entries are checked lazily: a client that was
//! active since gets its entry pushed back instead of acted on, and an
//! entry whose slot now holds another client (serial mismatch), or that
//! was replaced by a newer deadline, is dropped when it comes up.
//!
//! Entries of departed clients would wait for their deadline (minutes)
//! and the heap would keep its peak capacity: `compact` drops them and
//! gives the memory back once they outnumber the live ones.
//! Imports nothing but `state::{client, clock}`.

use super::client::ClientId;
use super::clock::Stamp;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Stamp, u32, u32)>>,
    /// Room reserved up front (for `clients` live entries and as many
    /// stale ones); `compact` never shrinks below it.
    reserved: usize,
}

impl Timers {
    /// Reserves room for the entries of `clients` clients.
    pub fn with_capacity(clients: usize) -> Timers {
        let reserved = 2 * clients + 64;
        Timers {
            heap: BinaryHeap::with_capacity(reserved),
            reserved,
        }
    }

    pub fn schedule(&mut self, when: Stamp, id: ClientId, serial: u64) {
        // Slab keys stay below `max-clients`; the serial is cut to its low
        // half (`same_serial`).
        self.heap.push(Reverse((when, id as u32, serial as u32)));
    }

    /// The earliest deadline, if any.
    pub fn next(&self) -> Option<Stamp> {
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Takes the next entry due at `now`: `(when, client, serial's low half)`.
    pub fn pop_due(&mut self, now: Stamp) -> Option<(Stamp, ClientId, u32)> {
        match self.heap.peek() {
            Some(Reverse((t, _, _))) if *t <= now => self
                .heap
                .pop()
                .map(|Reverse((t, id, serial))| (t, id as ClientId, serial)),
            _ => None,
        }
    }

    /// Is an entry's serial (its low half) that of a client's `serial`?
    pub fn same_serial(entry: u32, serial: u64) -> bool {
        entry == serial as u32
    }

    /// Should `compact` run, with `live` clients that may hold an entry?
    pub fn wants_compaction(&self, live: usize) -> bool {
        self.heap.len() > 2 * live + 64
    }

    /// Keeps only the entries `live` accepts, and frees the spare room.
    pub fn compact(&mut self, live: impl Fn(Stamp, ClientId, u32) -> bool) {
        self.heap
            .retain(|Reverse((t, id, serial))| live(*t, *id as ClientId, *serial));
        self.heap.shrink_to(self.reserved);
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}
