//! Giving freed heap memory back to the system after the few pieces of work that allocate far
//! more than a request does (a national import, a group rescore).
//!
//! The C library's allocator (glibc) gives each thread that allocates an arena of its own and
//! keeps what is freed in it for that arena's next allocations: it is not handed back to the
//! system, nor reused by another thread. An answers import of a national group runs on several
//! threads in turn: the rows are read and written on the import's thread, the group's inputs
//! (every unit's parsed answers, tens of MB at 3,400 units) are parsed on the scoring pool's
//! threads, the job's result is built on another and read back on a request's. Each phase
//! freed what it held, yet the process kept the high-water mark of every arena at once: a heap
//! profile of a 340,000-row import showed at most 122 MB allocated while the server's resident
//! set reached 250-280 MB (CSV and XLSX alike; 156-168 MB with a single arena).
//!
//! [`release_free_memory`] asks the allocator to hand the free pages of every arena back
//! (`malloc_trim`): called where such a phase has ended (an import's start, its last chunk, a
//! group rescore, a job), the next one starts from what is really in use. It walks the arenas'
//! free lists: a few milliseconds after a national import. Elsewhere than glibc it does
//! nothing.
//!
//! [`bound_arenas`] limits the arenas to one per core before the service starts a thread (glibc
//! allows eight per core): fewer high-water marks to keep. At 3,400 units the API's peak
//! through recomputes and ten exports of every unit fell from 176–194 MB to 137–147 MB, with
//! write, recompute and export times unchanged (two alternated runs of the national benchmark).
//! An operator's `MALLOC_ARENA_MAX` (or the `glibc.malloc.arena_max` tunable) wins.

/// Hands the free pages of every allocator arena back to the system. Whether any memory was
/// released (always false where the C library is not glibc).
pub fn release_free_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only walks the allocator's own free lists under its locks; it
        // touches no memory of ours and is safe to call from any thread at any time.
        unsafe { libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// How many arenas to allow on `cores` cores: one per core, unless the environment sets the
/// limit itself (`MALLOC_ARENA_MAX`, or `glibc.malloc.arena_max` in `GLIBC_TUNABLES`: `None`).
fn arena_limit(arena_max: Option<&str>, tunables: Option<&str>, cores: usize) -> Option<i32> {
    let tuned = tunables.is_some_and(|t| t.contains("glibc.malloc.arena_max"));
    if arena_max.is_some() || tuned {
        return None;
    }
    Some(i32::try_from(cores.max(1)).unwrap_or(i32::MAX))
}

/// Limits the allocator's arenas to one per core, unless the environment sets the limit (see
/// the module's documentation). Call it before starting any thread. The limit set, if any.
pub fn bound_arenas() -> Option<i32> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limit = arena_limit(
        std::env::var("MALLOC_ARENA_MAX").ok().as_deref(),
        std::env::var("GLIBC_TUNABLES").ok().as_deref(),
        cores,
    )?;
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt sets one of the allocator's parameters under its own lock; it takes
        // effect for arenas created afterwards and touches no memory of ours.
        (unsafe { libc::mallopt(libc::M_ARENA_MAX, limit) } == 1).then_some(limit)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = limit;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arenas_are_one_per_core_unless_the_environment_says_otherwise() {
        assert_eq!(arena_limit(None, None, 2), Some(2));
        assert_eq!(arena_limit(None, None, 0), Some(1));
        assert_eq!(
            arena_limit(None, Some("glibc.malloc.tcache_count=0"), 8),
            Some(8)
        );
        assert_eq!(arena_limit(Some("4"), None, 2), None);
        assert_eq!(arena_limit(None, Some("glibc.malloc.arena_max=3"), 2), None);
    }

    /// The resident set of this process (`VmRSS`), in KiB.
    fn rss_kb() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn what_another_thread_freed_leaves_the_resident_set() {
        // 64 MB in small blocks on a thread of its own (its own arena), all freed but one
        // kept at the top, so that the arena cannot simply shrink from its end
        let (before, kept) = std::thread::spawn(|| {
            let mut blocks: Vec<Vec<u8>> = (0..64 * 1024).map(|_| vec![1u8; 1000]).collect();
            let kept = blocks.pop();
            let before = rss_kb();
            drop(blocks);
            (before, kept)
        })
        .join()
        .unwrap();
        let freed = rss_kb();
        assert!(release_free_memory(), "nothing was released");
        let after = rss_kb();
        // the freed blocks stayed resident until released
        assert!(
            freed.saturating_sub(after) > 32 * 1024,
            "resident: {before} KiB with the blocks, {freed} KiB once freed, {after} KiB after \
             the release"
        );
        drop(kept);
    }
}
