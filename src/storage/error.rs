use thiserror::Error;

/// What can go wrong talking to the database. Messages never carry a password.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("DATABASE_URL is not usable: {0}")]
    BadUrl(String),
    #[error("cannot reach the database at {0}")]
    Unreachable(String),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("unexpected data in the database: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Unsupported(String),
    /// One error answered to every request of a group write.
    #[error(transparent)]
    Shared(std::sync::Arc<StoreError>),
    #[error("the daemon's result writer stopped before writing")]
    WriterStopped,
    #[error(
        "the enqueue's write stopped before it answered; it may or may not be saved: enqueue again with the same key"
    )]
    GroupLost,
    /// An enqueue's commit that the database did not confirm to be on disk.
    #[error(
        "the enqueue was committed, but the database did not confirm that it reached the disk ({0}): enqueue again with the same key"
    )]
    Unconfirmed(std::sync::Arc<StoreError>),
}
