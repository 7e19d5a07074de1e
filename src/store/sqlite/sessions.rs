//! Sessions: browser sessions created at sign-in, looked up on every page, ended at sign-out;
//! and the instant since when a user's sessions count, login tokens included, which signing out
//! everywhere and changing the password move to the present.

use crate::account::{Email, User};
use crate::monitor::UserId;
use crate::store::Result;
use crate::timestamp::Timestamp;
use sqlx::{SqliteConnection, SqlitePool};

pub async fn create(
    conn: &mut SqliteConnection,
    user: UserId,
    token_hash: &[u8],
    now: Timestamp,
    expires: Timestamp,
) -> Result<()> {
    // Expired sessions of the same user go as a new one comes: the table never grows without end.
    sqlx::query("DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?")
        .bind(user.0)
        .bind(now.as_millis())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(now.as_millis())
    .bind(expires.as_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn user(pool: &SqlitePool, token_hash: &[u8], now: Timestamp) -> Result<Option<User>> {
    let user: Option<(i64, String)> = sqlx::query_as(
        "SELECT u.id, u.email FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = ? AND s.expires_at > ? AND s.created_at >= u.sessions_valid_after",
    )
    .bind(token_hash)
    .bind(now.as_millis())
    .fetch_optional(pool)
    .await?;
    Ok(user.map(|(id, email)| User {
        id: UserId(id),
        email: Email::from_trusted(email),
    }))
}

pub async fn end(pool: &SqlitePool, token_hash: &[u8]) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Ends every session of `user` at `now`; `false` when there is no such user. Sessions are
/// deleted and the instant moves in the same transaction, so a sign-in racing it either
/// ended or starts after it.
pub async fn end_all(conn: &mut SqliteConnection, user: UserId, now: Timestamp) -> Result<bool> {
    // Never backwards, even if the clock is: what was ended stays ended.
    let found = sqlx::query(
        "UPDATE users SET sessions_valid_after = MAX(sessions_valid_after, ?) WHERE id = ?",
    )
    .bind(now.as_millis())
    .bind(user.0)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query("DELETE FROM sessions WHERE user_id = ?")
        .bind(user.0)
        .execute(&mut *conn)
        .await?;
    Ok(found > 0)
}

pub async fn valid_after(pool: &SqlitePool, user: UserId) -> Result<Option<Timestamp>> {
    let after: Option<i64> =
        sqlx::query_scalar("SELECT sessions_valid_after FROM users WHERE id = ?")
            .bind(user.0)
            .fetch_optional(pool)
            .await?;
    Ok(after.map(Timestamp::from_millis))
}
