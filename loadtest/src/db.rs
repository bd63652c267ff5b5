//! A fresh database per service process: a new SQLite file in the run directory, or a new
//! PostgreSQL database on the server named by `--postgres` (dropped again at the end).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use slotkeeper::store::{Store, StoreOptions};
use sqlx::Connection;

pub enum Database {
    Sqlite { url: String, path: PathBuf },
    Postgres { url: String, admin: String, name: String },
}

impl Database {
    /// `dir/name.db` (removed first if a previous run left it).
    pub fn sqlite(dir: &Path, name: &str) -> Result<Database> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{name}.db"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        Ok(Database::Sqlite { url: format!("sqlite://{}", path.display()), path })
    }

    /// `CREATE DATABASE sk_load_<label>_<random>` on the server of `server_url`.
    pub async fn postgres(server_url: &str, label: &str) -> Result<Database> {
        let name = format!(
            "sk_load_{}_{:08x}",
            label.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            rand::random::<u32>()
        );
        let mut conn = sqlx::PgConnection::connect(server_url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {}", slotkeeper::store::redact_url(server_url)))?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .context("CREATE DATABASE")?;
        let _ = conn.close().await;
        let (base, query) = match server_url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (server_url, String::new()),
        };
        let prefix =
            base.rsplit_once('/').map(|(b, _)| b).filter(|b| b.contains("://") && !b.ends_with('/')).unwrap_or(base);
        Ok(Database::Postgres { url: format!("{prefix}/{name}{query}"), admin: server_url.to_owned(), name })
    }

    pub fn url(&self) -> &str {
        match self {
            Database::Sqlite { url, .. } | Database::Postgres { url, .. } => url,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite { .. } => "sqlite",
            Database::Postgres { .. } => "postgres",
        }
    }

    /// Opens the store the service wrote (for verification; reads only).
    pub async fn open(&self) -> Result<Store> {
        let options = StoreOptions {
            url: self.url().to_owned(),
            max_connections: 2,
            acquire_timeout: Duration::from_secs(10),
            node_id: "loadtest".into(),
        };
        Store::connect(&options).await.context("opening the service's store")
    }

    /// Drops a PostgreSQL database; SQLite files are removed unless `keep`.
    pub async fn discard(self, keep: bool) {
        match self {
            Database::Sqlite { path, .. } => {
                if !keep {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                    }
                }
            }
            Database::Postgres { admin, name, .. } => {
                if keep {
                    return;
                }
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(err) = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await {
                        eprintln!("loadtest: could not drop database {name}: {err}");
                    }
                    let _ = conn.close().await;
                }
            }
        }
    }
}
