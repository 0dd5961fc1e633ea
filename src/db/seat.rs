//! A background worker's own database connection, outside the request pool: opened when
//! needed, used on the blocking pool, kept while it works and dropped on any error (with it,
//! any session-level lock the worker held). The job worker and the webhook worker use it.

use diesel::{Connection, PgConnection};

use crate::error::{AppError, AppResult};

pub struct Seat {
    url: String,
    conn: Option<PgConnection>,
}

impl Seat {
    pub fn new(url: String) -> Seat {
        Seat { url, conn: None }
    }

    /// The database the seat connects to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the connection is open (it is dropped by any error).
    pub fn is_open(&self) -> bool {
        self.conn.is_some()
    }

    /// Runs `f` on the connection (opened when needed) on the blocking pool. Any error drops
    /// the connection.
    pub async fn run<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let url = self.url.clone();
        let conn = self.conn.take();
        let joined = tokio::task::spawn_blocking(move || {
            let mut conn = match conn {
                Some(c) => c,
                None => match PgConnection::establish(&url) {
                    Ok(c) => c,
                    Err(e) => return (None, Err(AppError::from(e))),
                },
            };
            let out = f(&mut conn);
            (out.is_ok().then_some(conn), out)
        })
        .await;
        match joined {
            Ok((conn, out)) => {
                self.conn = conn;
                out
            }
            Err(e) => Err(AppError::internal(e)),
        }
    }
}
