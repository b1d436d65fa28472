//! The social graph as stored: connection requests and follows. The connection and
//! follow endpoints build on these documents; profiles and chat only read them.

use bson::doc;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, UserId};
use crate::store::{Store, StoreError, CONNECTIONS, FOLLOWS};

/// State of a connection request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ConnectionStatus {
    Pending,
    Confirmed,
    Rejected,
}

/// A connection request from `user` to `connection`; the two are connected once the
/// recipient confirms. A pair of users has at most one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectionDoc {
    /// [`pair_key`] of the two users: chat checks a pair on every socket it opens, and
    /// FerretDB 1.24 reads only a string `_id` from its primary key.
    #[serde(rename = "_id")]
    pub pair: String,
    /// The id clients see.
    pub id: ConnectionId,
    /// The user who sent the request.
    pub user: UserId,
    /// The user who received it.
    pub connection: UserId,
    pub status: ConnectionStatus,
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    pub created_at: DateTime<Utc>,
}

/// `follower` follows `followed`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FollowDoc {
    #[serde(rename = "_id")]
    pub id: i64,
    pub follower: UserId,
    pub followed: UserId,
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    pub created_at: DateTime<Utc>,
}

/// `"{low}:{high}"` of two user ids, the same whoever comes first.
pub fn pair_key(a: UserId, b: UserId) -> String {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    format!("{low}:{high}")
}

/// Whether `a` and `b` have a confirmed connection, whoever asked.
///
/// # Errors
/// A [`StoreError`] when the query fails.
pub async fn are_connected(store: &Store, a: UserId, b: UserId) -> Result<bool, StoreError> {
    let connection = store
        .collection::<ConnectionDoc>(CONNECTIONS)
        .find_one(doc! { "_id": pair_key(a, b) })
        .await?;
    Ok(connection.is_some_and(|connection| connection.status == ConnectionStatus::Confirmed))
}

/// Number of confirmed connections of `user`.
///
/// # Errors
/// A [`StoreError`] when the query fails.
pub async fn connection_count(store: &Store, user: UserId) -> Result<u64, StoreError> {
    let filter = doc! { "status": "CONFIRMED", "$or": [{ "user": user }, { "connection": user }] };
    Ok(store
        .collection::<ConnectionDoc>(CONNECTIONS)
        .count_documents(filter)
        .await?)
}

/// Number of users following `user`.
///
/// # Errors
/// A [`StoreError`] when the query fails.
pub async fn follower_count(store: &Store, user: UserId) -> Result<u64, StoreError> {
    Ok(store
        .collection::<FollowDoc>(FOLLOWS)
        .count_documents(doc! { "followed": user })
        .await?)
}

/// Number of users `user` follows.
///
/// # Errors
/// A [`StoreError`] when the query fails.
pub async fn following_count(store: &Store, user: UserId) -> Result<u64, StoreError> {
    Ok(store
        .collection::<FollowDoc>(FOLLOWS)
        .count_documents(doc! { "follower": user })
        .await?)
}

/// Whether `follower` follows `followed`.
///
/// # Errors
/// A [`StoreError`] when the query fails.
pub async fn is_following(
    store: &Store,
    follower: UserId,
    followed: UserId,
) -> Result<bool, StoreError> {
    let filter = doc! { "follower": follower, "followed": followed };
    Ok(store
        .collection::<FollowDoc>(FOLLOWS)
        .count_documents(filter)
        .await?
        > 0)
}

/// Follower counts of several users in one aggregation; users without followers are
/// absent from the map.
///
/// # Errors
/// A [`StoreError`] when the aggregation fails.
pub async fn follower_counts(
    store: &Store,
    users: &[UserId],
) -> Result<std::collections::HashMap<UserId, u64>, StoreError> {
    use futures_util::TryStreamExt;

    if users.is_empty() {
        return Ok(Default::default());
    }
    let ids: Vec<i64> = users.iter().map(|id| id.0).collect();
    let pipeline = vec![
        doc! { "$match": { "followed": { "$in": ids } } },
        doc! { "$group": { "_id": "$followed", "count": { "$sum": 1 } } },
    ];
    let rows: Vec<bson::Document> = store
        .collection::<FollowDoc>(FOLLOWS)
        .aggregate(pipeline)
        .await?
        .try_collect()
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let id = row
                .get_i64("_id")
                .or_else(|_| row.get_i32("_id").map(i64::from))
                .ok()?;
            let count = row
                .get_i64("count")
                .or_else(|_| row.get_i32("count").map(i64::from))
                .ok()?;
            Some((UserId(id), u64::try_from(count).unwrap_or(0)))
        })
        .collect())
}
