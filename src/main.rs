/// jemalloc instead of glibc's malloc: glibc kept 90–141 MB in per-thread arenas after a load
/// (each of the blocking threads that run database work gets its own), also when idle. jemalloc's
/// background threads give unused pages back to the system a few seconds after the load ends
/// (docs/performance.md, *Memory*). Only the service binary uses it; the library does not choose.
///
/// Built unprefixed (`unprefixed_malloc_on_supported_platforms`, Cargo.toml): on Linux the binary
/// then defines `malloc`/`free` itself, so the C code in it (the bundled SQLite, libpq, aws-lc)
/// allocates from jemalloc too. With glibc serving SQLite, its arenas still held 32 MB after a
/// load, and the SQLite service never came back under 50 MB (issue 16).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    std::process::exit(samordna::cli::run());
}
