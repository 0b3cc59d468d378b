#![forbid(unsafe_code)]

// glibc's malloc kept what a burst of connections took (a burst of 990 QR
// logins left 40 MiB more, growing each round); jemalloc's background threads
// give freed pages back within seconds. Only the binary: tests, benchmarks
// and fuzzing link the library with the system allocator.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    qmkeys::cli::main()
}
