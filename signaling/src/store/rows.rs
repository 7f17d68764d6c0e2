//! Decoding stored values: anything unexpected is [`StoreError::Corrupt`], never a panic.

use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::StoreError;

/// A column of type `T`; a value of another type is corrupt.
fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get::<T, _>(col).map_err(|e| match e {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StoreError::Corrupt(format!("{col}: {e}"))
        }
        other => StoreError::from(other),
    })
}

/// A text column.
pub(super) fn text(row: &AnyRow, col: &str) -> Result<String, StoreError> {
    get(row, col)
}

/// A nullable text column.
pub(super) fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>, StoreError> {
    get(row, col)
}

/// An integer column.
pub(super) fn int(row: &AnyRow, col: &str) -> Result<i64, StoreError> {
    get(row, col)
}

/// A nullable integer column.
pub(super) fn opt_int(row: &AnyRow, col: &str) -> Result<Option<i64>, StoreError> {
    get(row, col)
}

/// A non-negative integer column that fits in `u32`.
pub(super) fn u32_col(row: &AnyRow, col: &str) -> Result<u32, StoreError> {
    let v = int(row, col)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{col} = {v} is not a u32")))
}

/// A boolean stored as 0/1.
pub(super) fn flag(row: &AnyRow, col: &str) -> Result<bool, StoreError> {
    match int(row, col)? {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(StoreError::Corrupt(format!("{col} = {v} is not 0 or 1"))),
    }
}

/// A JSON document stored as text.
pub(super) fn json<T: DeserializeOwned>(row: &AnyRow, col: &str) -> Result<T, StoreError> {
    let s = text(row, col)?;
    serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{col} is not valid: {e}")))
}

/// A value as JSON text for storing.
pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    // Serializing the model's own types (maps with string keys) does not fail; if it
    // ever did, nothing has been written yet.
    serde_json::to_string(value)
        .map_err(|e| StoreError::Conflict(format!("cannot be stored as JSON: {e}")))
}

/// A text column parsed by `parse`.
pub(super) fn parsed<T>(
    row: &AnyRow,
    col: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, StoreError> {
    let s = text(row, col)?;
    parse(&s).ok_or_else(|| StoreError::Corrupt(format!("{col} = {s:?} is not known")))
}

/// A boolean as stored.
pub(super) fn bool_int(b: bool) -> i64 {
    i64::from(b)
}
