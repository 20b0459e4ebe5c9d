/// The server's allocator (see Cargo.toml).
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    // `aol actions | head` must end quietly when head stops reading, as other
    // command-line tools do, not panic on the closed pipe (Rust ignores
    // SIGPIPE by default).
    #[cfg(unix)]
    // SAFETY: sets the process-wide disposition back to the default; no handler runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    aol::cli::run().await
}

/// The browser build has no `main`; see `hydrate` in lib.rs.
#[cfg(not(feature = "ssr"))]
fn main() {}
