//! Typed column access that reads the same on SQLite and PostgreSQL rows.
//!
//! The schemas differ in physical types (TEXT vs TIMESTAMPTZ, INTEGER vs BOOLEAN, TEXT vs JSONB,
//! INTEGER vs INT4/INT8); decoding code is written once against this trait.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::StoreError;

pub(crate) trait DbRow {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
    fn time(&self, column: &str) -> Result<DateTime<Utc>, StoreError>;
    fn opt_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
    fn json<T: DeserializeOwned>(&self, column: &str) -> Result<T, StoreError>;
}

fn decode_err(column: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {column}: {err}"))
}

impl DbRow for SqliteRow {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.try_get(column).map_err(|e| decode_err(column, e))
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.try_get(column).map_err(|e| decode_err(column, e))
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.try_get(column).map_err(|e| decode_err(column, e))
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.try_get(column).map_err(|e| decode_err(column, e))
    }
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        self.try_get(column).map_err(|e| decode_err(column, e))
    }
    fn time(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        self.try_get(column).map_err(|e| decode_err(column, e))
    }
    fn opt_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.try_get(column).map_err(|e| decode_err(column, e))
    }
    fn json<T: DeserializeOwned>(&self, column: &str) -> Result<T, StoreError> {
        let raw: String = self.try_get(column).map_err(|e| decode_err(column, e))?;
        serde_json::from_str(&raw).map_err(|e| decode_err(column, e))
    }
}

impl DbRow for PgRow {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.try_get(column).map_err(|e| decode_err(column, e))
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.try_get(column).map_err(|e| decode_err(column, e))
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.opt_int(column)?.ok_or_else(|| decode_err(column, "unexpected NULL"))
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        // INTEGER columns are INT4, BIGINT/BIGSERIAL are INT8, SMALLINT is INT2; count(*) is INT8.
        if let Ok(v) = self.try_get::<Option<i64>, _>(column) {
            return Ok(v);
        }
        if let Ok(v) = self.try_get::<Option<i32>, _>(column) {
            return Ok(v.map(i64::from));
        }
        self.try_get::<Option<i16>, _>(column).map(|v| v.map(i64::from)).map_err(|e| decode_err(column, e))
    }
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        self.try_get(column).map_err(|e| decode_err(column, e))
    }
    fn time(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        self.try_get(column).map_err(|e| decode_err(column, e))
    }
    fn opt_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.try_get(column).map_err(|e| decode_err(column, e))
    }
    fn json<T: DeserializeOwned>(&self, column: &str) -> Result<T, StoreError> {
        let value: sqlx::types::Json<serde_json::Value> = self.try_get(column).map_err(|e| decode_err(column, e))?;
        serde_json::from_value(value.0).map_err(|e| decode_err(column, e))
    }
}
