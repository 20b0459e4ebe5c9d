#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    aol::cli::run().await
}

/// The browser build has no `main`; see `hydrate` in lib.rs.
#[cfg(not(feature = "ssr"))]
fn main() {}
