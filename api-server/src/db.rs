//! Database access: one query set for SQLite and PostgreSQL through sqlx's `Any`
//! driver. Queries use `$1`-style placeholders (both backends accept them), times are
//! `BIGINT` milliseconds, booleans `BIGINT`. Migrations are embedded and applied at
//! start by a small migrator that substitutes the one non-portable bit
//! (the auto-increment primary key).

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::time::Duration;

/// Which backend a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (WAL), the default.
    Sqlite,
    /// PostgreSQL (`DATABASE_URL=postgres://…`).
    Postgres,
}

/// The database handle.
#[derive(Debug, Clone)]
pub struct Db {
    /// The pool.
    pub pool: AnyPool,
    /// The backend.
    pub backend: Backend,
    /// The URL it was opened with (PostgreSQL listeners open their own connection).
    pub url: String,
    /// SQLite has one writer: hot write paths queue here instead of spinning in
    /// SQLite's busy handler.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// Embedded migrations, in order: (version, name, SQL).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "event_retention", include_str!("../migrations/0002_event_retention.sql")),
    (3, "least_privilege", include_str!("../migrations/0003_least_privilege.sql")),
    (4, "billing", include_str!("../migrations/0004_billing.sql")),
    (5, "dispositions", include_str!("../migrations/0005_dispositions.sql")),
    (6, "embed", include_str!("../migrations/0006_embed.sql")),
    (7, "voicemail", include_str!("../migrations/0007_voicemail.sql")),
];

/// Current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Db {
    /// Opens the pool (creating the SQLite file if needed) and configures it.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(sqlx::Error::Configuration("DATABASE_URL must be sqlite: or postgres:".into()));
        };
        let opts = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                // Few connections: every write invalidates the other connections' page
                // caches, and each connection is a thread (`MPT_SQLITE_POOL`, default 4).
                let n = std::env::var("MPT_SQLITE_POOL").ok().and_then(|v| v.parse::<u32>().ok()).unwrap_or(4).clamp(1, 64);
                // In-process connections cannot go stale: skip the ping round trip to
                // the connection's thread on every acquire.
                opts.max_connections(n)
                    .test_before_acquire(false)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                                 PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?
            }
            Backend::Postgres => opts.max_connections(16).connect(url).await?,
        };
        Ok(Db { pool, backend, url: url.to_string(), writer: Default::default() })
    }

    /// With SQLite, the writer lock (held for a whole write transaction); with
    /// PostgreSQL, nothing (it has row locks).
    pub async fn write_lock(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.writer.lock().await),
            Backend::Postgres => None,
        }
    }

    /// Applies pending migrations; returns how many were applied.
    pub async fn migrate(&self) -> Result<usize, sqlx::Error> {
        self.pool
            .execute(
                "CREATE TABLE IF NOT EXISTS mpt_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
            .await?;
        let mut applied = 0;
        for (version, name, sql) in MIGRATIONS {
            let mut tx = self.pool.begin().await?;
            if self.backend == Backend::Postgres {
                // Several processes may start at once: serialize migrations.
                sqlx::query("SELECT pg_advisory_xact_lock(7426001)").execute(&mut *tx).await?;
            }
            let done: Option<AnyRow> =
                sqlx::query("SELECT version FROM mpt_migrations WHERE version = $1").bind(*version).fetch_optional(&mut *tx).await?;
            if done.is_some() {
                tx.commit().await?;
                continue;
            }
            let sql = self.portable(sql);
            for stmt in split_statements(&sql) {
                tx.execute(stmt.as_str()).await?;
            }
            sqlx::query("INSERT INTO mpt_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                .bind(*version)
                .bind(*name)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            applied += 1;
        }
        Ok(applied)
    }

    fn portable(&self, sql: &str) -> String {
        let pk = match self.backend {
            Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            Backend::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        };
        sql.replace("@ID_PK@", pk)
    }

    /// Readiness probe: a trivial query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let row = sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        let _: i32 = row.try_get::<i32, _>(0).or_else(|_| row.try_get::<i64, _>(0).map(|v| v as i32))?;
        Ok(())
    }
}

/// Splits a migration file into statements (`;` at end of line; `--` comments dropped).
fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in sql.lines() {
        let line = line.split("--").next().unwrap_or("");
        if line.trim().is_empty() {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if line.trim_end().ends_with(';') {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Reads an optional i64 column.
pub fn opt_i64(row: &AnyRow, col: &str) -> Result<Option<i64>, sqlx::Error> {
    row.try_get::<Option<i64>, _>(col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_statements_and_drops_comments() {
        let s = split_statements("-- c\nCREATE TABLE a (x BIGINT); -- trailing\nCREATE INDEX i\n ON a (x);\n");
        assert_eq!(s.len(), 2);
        assert!(s[1].contains("ON a (x);"));
        assert!(!s[0].contains("trailing"));
    }

    #[tokio::test]
    async fn migrates_sqlite_twice() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.expect("connect");
        assert_eq!(db.migrate().await.expect("migrate"), MIGRATIONS.len());
        assert_eq!(db.migrate().await.expect("migrate again"), 0);
        db.ping().await.expect("ping");
    }
}
