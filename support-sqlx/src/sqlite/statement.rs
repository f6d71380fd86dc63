//! Running the shared SQL (placeholders `$N`, see `crate::sql`) on the
//! writer connection.
//!
//! SQLite numbers `$N` parameters in order of first appearance, not by `N`,
//! so each parameter is bound by its name, as sqlx does.

use rusqlite::{CachedStatement, Connection, Row, ToSql};

/// Parameters: `params[N - 1]` binds `$N`.
pub(crate) type Params<'a> = &'a [&'a dyn ToSql];

fn prepare<'c>(
    conn: &'c Connection,
    sql: &str,
    params: Params<'_>,
) -> rusqlite::Result<CachedStatement<'c>> {
    let mut statement = conn.prepare_cached(sql)?;
    let count = statement.parameter_count();
    for index in 1..=count {
        let param = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|number| number.parse::<usize>().ok())
            .and_then(|number| params.get(number.checked_sub(1)?))
            .ok_or(rusqlite::Error::InvalidParameterCount(params.len(), count))?;
        statement.raw_bind_parameter(index, param)?;
    }
    Ok(statement)
}

/// Runs a statement that returns no rows; how many rows it changed.
pub(crate) fn execute(conn: &Connection, sql: &str, params: Params<'_>) -> rusqlite::Result<usize> {
    prepare(conn, sql, params)?.raw_execute()
}

/// The first row, decoded.
pub(crate) fn query_one<T>(
    conn: &Connection,
    sql: &str,
    params: Params<'_>,
    decode: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut statement = prepare(conn, sql, params)?;
    let mut rows = statement.raw_query();
    match rows.next()? {
        Some(row) => decode(row).map(Some),
        None => Ok(None),
    }
}
