//! A counting global allocator: heap allocations and live bytes of the whole process,
//! and separately of the threads marked as the server's. Installed by the
//! `seduta-loadtest` binary; a program that does not install it reads zeros.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// The allocator: `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAlloc;

static INSTALLED: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static SERVER_ALLOCS: AtomicU64 = AtomicU64::new(0);
static SERVER_BYTES_IN: AtomicU64 = AtomicU64::new(0);
static SERVER_BYTES_OUT: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static SERVER: Cell<bool> = const { Cell::new(false) };
}

fn on_server() -> bool {
    SERVER.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counting
// around it allocates nothing.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_alloc(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_alloc(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if on_server() {
            SERVER_BYTES_OUT.fetch_add(layout.size() as u64, Relaxed);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_alloc(new_size);
        if on_server() {
            SERVER_BYTES_OUT.fetch_add(layout.size() as u64, Relaxed);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count_alloc(size: usize) {
    ALLOCS.fetch_add(1, Relaxed);
    if on_server() {
        SERVER_ALLOCS.fetch_add(1, Relaxed);
        SERVER_BYTES_IN.fetch_add(size as u64, Relaxed);
    }
}

/// Says that [`CountingAlloc`] is the global allocator (call once from `main`).
pub fn declare_installed() {
    INSTALLED.store(true, Relaxed);
}

/// Marks the calling thread as one of the server's.
pub fn mark_server_thread() {
    let _ = SERVER.try_with(|s| s.set(true));
}

/// Counters at one moment; `None` when the counting allocator is not installed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocCounts {
    /// Allocations (and reallocations) by every thread.
    pub allocs: u64,
    /// Allocations (and reallocations) by the server's threads.
    pub server_allocs: u64,
    /// Bytes the server's threads allocated minus the bytes they freed: the heap
    /// they hold, as long as what they allocate is freed by them too.
    pub server_live_bytes: i64,
}

/// The counters now.
pub fn counts() -> Option<AllocCounts> {
    if !INSTALLED.load(Relaxed) {
        return None;
    }
    let bytes_in = SERVER_BYTES_IN.load(Relaxed) as i64;
    let bytes_out = SERVER_BYTES_OUT.load(Relaxed) as i64;
    Some(AllocCounts {
        allocs: ALLOCS.load(Relaxed),
        server_allocs: SERVER_ALLOCS.load(Relaxed),
        server_live_bytes: bytes_in - bytes_out,
    })
}
