//! A client's send queue: the bytes waiting for the socket.
//!
//! Replies to one client are appended to an owned buffer; a channel message
//! is a shared `Rc<[u8]>` serialized once and pushed to every recipient,
//! so fan-out costs one pointer per member, not one copy. An idle client's
//! queue holds no allocation. `net` drains it with vectored writes.
//! Imports nothing from the crate.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::rc::Rc;

/// Owned chunks grow to this size before a new one is started.
const OWN_CHUNK: usize = 4096;
/// Chunks the ring has room for when a queue starts to fill. Small: in a
/// busy turn (a burst of JOINs) thousands of clients get a ring at once,
/// and the heap keeps the high-water mark of a turn; a busy queue doubles
/// from here.
const RING_FIRST: usize = 4;

enum Chunk {
    Own(Vec<u8>),
    Shared(Rc<[u8]>),
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Own(v) => v,
            Chunk::Shared(r) => r,
        }
    }
}

/// Bytes queued for one client.
#[derive(Default)]
pub struct SendQueue {
    chunks: VecDeque<Chunk>,
    /// How much of the front chunk was already written.
    head: u32,
    /// Bytes queued in all (not yet written). A u32 is plenty: the queue
    /// is cut at `limits.sendq` (at most `SENDQ_MAX`, 64 MiB) plus one push.
    len: u32,
}

/// A length as the queue counts it (saturating; see `SendQueue::len`).
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl SendQueue {
    /// Bytes waiting.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends bytes that belong to this client alone.
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        self.len = self.len.saturating_add(count(bytes.len()));
        if let Some(Chunk::Own(v)) = self.chunks.back_mut() {
            if v.len() + bytes.len() <= OWN_CHUNK || v.len() < 256 {
                v.extend_from_slice(bytes);
                return;
            }
        }
        let mut v = Vec::with_capacity(bytes.len().max(512));
        v.extend_from_slice(bytes);
        self.reserve_first();
        self.chunks.push_back(Chunk::Own(v));
    }

    /// Appends a shared line (fan-out).
    pub fn push_shared(&mut self, line: &Rc<[u8]>) {
        self.len = self.len.saturating_add(count(line.len()));
        self.reserve_first();
        self.chunks.push_back(Chunk::Shared(Rc::clone(line)));
    }

    /// An empty queue has no ring; the first chunk of a turn makes one big
    /// enough for a typical turn at once, not by doubling from 4.
    fn reserve_first(&mut self) {
        if self.chunks.capacity() == 0 {
            self.chunks.reserve(RING_FIRST);
        }
    }

    /// Fills `out` with slices of the queued bytes, front first.
    pub fn slices<'a>(&'a self, out: &mut Vec<IoSlice<'a>>, max: usize) {
        for (i, c) in self.chunks.iter().take(max).enumerate() {
            let b = c.bytes();
            out.push(IoSlice::new(if i == 0 {
                &b[self.head as usize..]
            } else {
                b
            }));
        }
    }

    /// Fills `out` with slices of the queued bytes, front first; returns
    /// how many were filled.
    pub fn fill<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, (i, c)) in out.iter_mut().zip(self.chunks.iter().enumerate()) {
            let b = c.bytes();
            *slot = IoSlice::new(if i == 0 { &b[self.head as usize..] } else { b });
            n += 1;
        }
        n
    }

    /// Marks `n` bytes as written.
    pub fn consume(&mut self, mut n: usize) {
        self.len -= count(n).min(self.len);
        while n > 0 {
            let Some(front) = self.chunks.front() else {
                break;
            };
            let left = front.bytes().len() - self.head as usize;
            if n >= left {
                n -= left;
                self.head = 0;
                self.chunks.pop_front();
            } else {
                self.head += count(n);
                n = 0;
            }
        }
        if self.chunks.is_empty() {
            self.head = 0;
            // An idle client keeps no ring: one allocation per busy turn
            // (of RING_FIRST, from the allocator's cache) is cheaper than
            // the memory of 10,000 idle rings.
            self.chunks = VecDeque::new();
        }
    }

    /// Drops everything queued.
    pub fn clear(&mut self) {
        self.chunks = VecDeque::new();
        self.head = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &SendQueue) -> Vec<u8> {
        let mut s = Vec::new();
        q.slices(&mut s, 64);
        s.iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn queues_owned_and_shared_in_order() {
        let mut q = SendQueue::default();
        q.push_bytes(b"a\r\n");
        let shared: Rc<[u8]> = Rc::from(&b"shared\r\n"[..]);
        q.push_shared(&shared);
        q.push_bytes(b"b\r\n");
        assert_eq!(q.len(), 14);
        assert_eq!(drain(&q), b"a\r\nshared\r\nb\r\n");
        q.consume(5);
        assert_eq!(drain(&q), b"ared\r\nb\r\n");
        q.consume(9);
        assert!(q.is_empty());
        assert_eq!(drain(&q), b"");
        // An emptied queue keeps no ring (idle clients cost nothing here).
        assert_eq!(q.chunks.capacity(), 0);
    }
}
