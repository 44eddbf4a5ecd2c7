/// jemalloc instead of glibc's malloc: glibc kept 90–141 MB in per-thread arenas after a load
/// (each of the blocking threads that run database work gets its own), also when idle. jemalloc's
/// background threads give unused pages back to the system a few seconds after the load ends
/// (docs/performance.md, *Memory*). Only the service binary uses it; the library does not choose.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    std::process::exit(samordna::cli::run());
}
