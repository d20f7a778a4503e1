//! The global allocator: mimalloc, called through its plain entry points wherever they give the
//! alignment Rust asks for.
//!
//! The `mimalloc` crate's allocator passes every request to `mi_malloc_aligned`. mimalloc 3 takes
//! that call's fast path only when the next free block of the size class happens to be aligned,
//! and otherwise over-allocates unless the size is a power of two. On the pairings table a
//! quarter of the server's allocations took the over-allocating path (callgrind, "Profiling" in
//! docs/performance.md: 3,700 of 14,300 allocations per request; allocation was 15% of the
//! server's instructions). Every mimalloc block
//! is aligned to at least a machine word, so a request for word alignment or less needs nothing
//! more than `mi_malloc`; larger alignments still go to the aligned entry points.
//!
//! `override` (Cargo.toml) makes mimalloc the C allocator too, for the bundled SQLite.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// Every mimalloc block is aligned to at least this (its size classes are multiples of it).
const WORD: usize = std::mem::size_of::<usize>();

pub struct MiMalloc;

unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= WORD {
                mi::mi_malloc(layout.size()) as *mut u8
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= WORD {
                mi::mi_zalloc(layout.size()) as *mut u8
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi::mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe {
            if layout.align() <= WORD {
                mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
            } else {
                mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
            }
        }
    }
}
