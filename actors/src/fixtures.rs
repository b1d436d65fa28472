//! Loads the JSON fixtures of `fixtures/` into the database, idempotently: documents get
//! ids derived from the fixtures, documents whose id already exists are left alone, and
//! the id counters are raised past the loaded ids so that new objects never collide.
//! Also generates the synthetic users and connections the load tool signs in with.

use std::collections::HashMap;
use std::path::Path;

use bson::doc;
use chrono::{Duration, Utc};
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::accounts::password;
use crate::chat::documents::{ActivityDoc, ChatDoc, MessageDoc};
use crate::graph::{pair_key, ConnectionDoc, ConnectionStatus, FollowDoc};
use crate::ids::{ChatId, ConnectionId, MessageId, Sequence, UserId};
use crate::profiles::EntryKind;
use crate::store::{
    Store, StoreError, CERTIFICATIONS, CHATS, CHAT_ACTIVITY, CONNECTIONS, EDUCATIONS, EXPERIENCES,
    FOLLOWS, MESSAGES, USERS, USER_EMAILS,
};
use crate::users::{CompanyDoc, EmailDoc, ProfileFields, SettingsDoc, UserDoc, UserType};

/// Entries per user that derived ids leave room for (`user_id * 100 + index`).
const ENTRY_ID_STRIDE: i64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot read {path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("{path} is not valid fixture JSON: {cause}")]
    Parse {
        path: String,
        cause: serde_json::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hash(#[from] password::HashError),
}

#[derive(Debug, Deserialize)]
struct UsersFile {
    default_password: String,
    users: Vec<FixtureUser>,
}

#[derive(Debug, Deserialize)]
struct FixtureUser {
    id: i64,
    email: String,
    user_type: UserType,
    #[serde(default)]
    is_admin: bool,
    industry: Option<String>,
    password: Option<String>,
    #[serde(flatten)]
    profile: ProfileFields,
    #[serde(default)]
    company: Option<CompanyDoc>,
    #[serde(default)]
    settings: SettingsDoc,
    #[serde(default)]
    experience: Vec<Map<String, Value>>,
    #[serde(default)]
    education: Vec<Map<String, Value>>,
    #[serde(default)]
    certification: Vec<Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
struct FixtureConnection {
    user: i64,
    connection: i64,
    status: ConnectionStatus,
}

#[derive(Debug, Deserialize)]
struct FixtureFollow {
    follower: i64,
    followed: i64,
}

#[derive(Debug, Deserialize)]
struct FixtureChat {
    users: [i64; 2],
    messages: Vec<FixtureMessage>,
}

#[derive(Debug, Deserialize)]
struct FixtureMessage {
    from: i64,
    text: String,
    minutes_ago: i64,
}

/// What one load wrote; `skipped` counts documents that existed already.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    pub inserted: HashMap<&'static str, u64>,
    pub skipped: HashMap<&'static str, u64>,
}

/// Receives progress as `(step, done, total)`.
pub type Progress<'a> = &'a mut dyn FnMut(&str, u64, u64);

/// Loads every fixture file of `dir` into `store`. Passwords are hashed at
/// `bcrypt_cost`, once per distinct password.
///
/// # Errors
/// A [`FixtureError`] when a file is missing or malformed, an entry is invalid, or the
/// database fails.
pub async fn load_dir(
    store: &Store,
    dir: &Path,
    bcrypt_cost: u32,
    progress: Progress<'_>,
) -> Result<LoadReport, FixtureError> {
    let users: UsersFile = read_json(&dir.join("users.json"))?;
    let connections: Vec<FixtureConnection> = read_json(&dir.join("connections.json"))?;
    let follows: Vec<FixtureFollow> = read_json(&dir.join("follows.json"))?;
    let chats: Vec<FixtureChat> = read_json(&dir.join("chats.json"))?;
    let total = 6;
    let mut report = LoadReport::default();

    progress("hashing passwords", 0, total);
    let user_docs = user_documents(&users, bcrypt_cost).await?;
    progress("users", 1, total);
    let email_docs = email_documents(&users)?;
    insert_missing(store, USERS, user_docs, &mut report).await?;
    insert_missing(store, USER_EMAILS, email_docs, &mut report).await?;
    progress("profile entries", 2, total);
    for (kind, collection) in [
        (EntryKind::Experience, EXPERIENCES),
        (EntryKind::Education, EDUCATIONS),
        (EntryKind::Certification, CERTIFICATIONS),
    ] {
        insert_missing(
            store,
            collection,
            entry_documents(&users, kind)?,
            &mut report,
        )
        .await?;
    }
    progress("connections and follows", 3, total);
    insert_missing(
        store,
        CONNECTIONS,
        connection_documents(&connections)?,
        &mut report,
    )
    .await?;
    insert_missing(store, FOLLOWS, follow_documents(&follows)?, &mut report).await?;
    progress("chats", 4, total);
    let chat_fixtures = chat_documents(&chats)?;
    insert_missing(store, CHATS, chat_fixtures.chats, &mut report).await?;
    insert_missing(store, MESSAGES, chat_fixtures.messages, &mut report).await?;
    insert_missing(store, CHAT_ACTIVITY, chat_fixtures.activity, &mut report).await?;
    progress("id counters", 5, total);
    raise_counters(store).await?;
    progress("done", total, total);
    Ok(report)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, FixtureError> {
    let text = std::fs::read_to_string(path).map_err(|cause| FixtureError::Read {
        path: path.display().to_string(),
        cause,
    })?;
    serde_json::from_str(&text).map_err(|cause| FixtureError::Parse {
        path: path.display().to_string(),
        cause,
    })
}

async fn user_documents(
    file: &UsersFile,
    bcrypt_cost: u32,
) -> Result<Vec<bson::Document>, FixtureError> {
    let mut hashes: HashMap<String, String> = HashMap::new();
    let mut documents = Vec::with_capacity(file.users.len());
    for user in &file.users {
        let plain = user
            .password
            .clone()
            .unwrap_or_else(|| file.default_password.clone());
        let password_hash = match hashes.get(&plain) {
            Some(hash) => hash.clone(),
            None => {
                let hash = password::hash(plain.clone(), bcrypt_cost).await?;
                hashes.insert(plain, hash.clone());
                hash
            }
        };
        let document = UserDoc {
            id: UserId(user.id),
            email: user.email.trim().to_lowercase(),
            password_hash,
            user_type: user.user_type,
            is_admin: user.is_admin,
            industry: user.industry.clone(),
            profile: user.profile.clone(),
            settings: user.settings.clone(),
            company: user.company.clone(),
            profile_views: 0,
            created_at: Utc::now(),
        };
        documents.push(bson::to_document(&document).map_err(StoreError::from)?);
    }
    Ok(documents)
}

fn email_documents(file: &UsersFile) -> Result<Vec<bson::Document>, FixtureError> {
    file.users
        .iter()
        .map(|user| {
            let entry = EmailDoc {
                email: user.email.trim().to_lowercase(),
                user_id: UserId(user.id),
            };
            Ok(bson::to_document(&entry).map_err(StoreError::from)?)
        })
        .collect()
}

fn entry_documents(file: &UsersFile, kind: EntryKind) -> Result<Vec<bson::Document>, FixtureError> {
    let mut documents = Vec::new();
    for user in &file.users {
        let entries = match kind {
            EntryKind::Experience => &user.experience,
            EntryKind::Education => &user.education,
            EntryKind::Certification => &user.certification,
        };
        for (index, values) in entries.iter().enumerate() {
            let clean = kind.validate(values, false).map_err(|errors| {
                FixtureError::Invalid(format!(
                    "user {} {} entry {}: {errors:?}",
                    user.id,
                    kind.label(),
                    index + 1
                ))
            })?;
            let mut document = bson::to_document(&clean).map_err(StoreError::from)?;
            document.insert(
                "_id",
                user.id * ENTRY_ID_STRIDE + i64::try_from(index).unwrap_or(0) + 1,
            );
            document.insert("user_id", user.id);
            documents.push(document);
        }
    }
    Ok(documents)
}

fn connection_documents(
    connections: &[FixtureConnection],
) -> Result<Vec<bson::Document>, FixtureError> {
    let now = Utc::now();
    connections
        .iter()
        .enumerate()
        .map(|(index, fixture)| {
            let (user, connection) = (UserId(fixture.user), UserId(fixture.connection));
            let document = ConnectionDoc {
                pair: pair_key(user, connection),
                id: ConnectionId(i64::try_from(index).unwrap_or(0) + 1),
                user,
                connection,
                status: fixture.status,
                created_at: now,
            };
            Ok(bson::to_document(&document).map_err(StoreError::from)?)
        })
        .collect()
}

fn follow_documents(follows: &[FixtureFollow]) -> Result<Vec<bson::Document>, FixtureError> {
    let now = Utc::now();
    follows
        .iter()
        .enumerate()
        .map(|(index, follow)| {
            let document = FollowDoc {
                id: i64::try_from(index).unwrap_or(0) + 1,
                follower: UserId(follow.follower),
                followed: UserId(follow.followed),
                created_at: now,
            };
            Ok(bson::to_document(&document).map_err(StoreError::from)?)
        })
        .collect()
}

fn chat_documents(chats: &[FixtureChat]) -> Result<ChatFixtures, FixtureError> {
    let now = Utc::now();
    let mut chat_docs = Vec::new();
    let mut message_docs = Vec::new();
    let mut activity_docs = Vec::new();
    let mut next_message = 1;
    for (index, chat) in chats.iter().enumerate() {
        let id = ChatId(i64::try_from(index).unwrap_or(0) + 1);
        let (a, b) = (
            UserId(chat.users[0].min(chat.users[1])),
            UserId(chat.users[0].max(chat.users[1])),
        );
        let mut last: Option<MessageDoc> = None;
        for message in &chat.messages {
            if message.from != a.0 && message.from != b.0 {
                return Err(FixtureError::Invalid(format!(
                    "chat {id}: message from {} who is not in the room",
                    message.from
                )));
            }
            let document = MessageDoc {
                id: MessageId(next_message),
                chat_id: id,
                sender: UserId(message.from),
                text: message.text.clone(),
                created_at: now - Duration::minutes(message.minutes_ago),
            };
            next_message += 1;
            message_docs.push(bson::to_document(&document).map_err(StoreError::from)?);
            last = Some(document);
        }
        let chat_doc = ChatDoc {
            pair: ChatDoc::pair_key(a, b),
            id,
            user_a: a,
            user_b: b,
            created_at: now - Duration::days(30),
            read_a: MessageId(0),
            read_b: MessageId(0),
        };
        chat_docs.push(bson::to_document(&chat_doc).map_err(StoreError::from)?);
        if let Some(last) = last {
            let marker = ActivityDoc {
                key: ActivityDoc::key(id),
                chat_id: id,
                last_message_id: last.id,
                last_activity: last.created_at,
            };
            activity_docs.push(bson::to_document(&marker).map_err(StoreError::from)?);
        }
    }
    Ok(ChatFixtures {
        chats: chat_docs,
        messages: message_docs,
        activity: activity_docs,
    })
}

/// Documents made from `chats.json`.
struct ChatFixtures {
    chats: Vec<bson::Document>,
    messages: Vec<bson::Document>,
    activity: Vec<bson::Document>,
}

/// Inserts the documents whose `_id` is not stored yet, in one unordered `insert_many`.
/// A document that breaks a unique index (an address already signed up by hand, say) is
/// skipped with a warning.
async fn insert_missing(
    store: &Store,
    collection: &'static str,
    documents: Vec<bson::Document>,
    report: &mut LoadReport,
) -> Result<(), StoreError> {
    let coll = store.collection::<bson::Document>(collection);
    let ids: Vec<bson::Bson> = documents
        .iter()
        .filter_map(|d| d.get("_id").cloned())
        .collect();
    let existing: Vec<bson::Document> = coll
        .find(doc! { "_id": { "$in": ids } })
        .projection(doc! { "_id": 1 })
        .await?
        .try_collect()
        .await?;
    let existing: Vec<&bson::Bson> = existing.iter().filter_map(|d| d.get("_id")).collect();
    let missing: Vec<bson::Document> = documents
        .into_iter()
        .filter(|d| d.get("_id").is_some_and(|id| !existing.contains(&id)))
        .collect();
    *report.skipped.entry(collection).or_default() += u64::try_from(existing.len()).unwrap_or(0);
    if missing.is_empty() {
        return Ok(());
    }
    let attempted = u64::try_from(missing.len()).unwrap_or(0);
    match coll.insert_many(missing).ordered(false).await {
        Ok(_) => *report.inserted.entry(collection).or_default() += attempted,
        Err(error) => {
            let conflicts = duplicate_key_count(&error).ok_or(StoreError::from(error))?;
            log::warn!("fixtures skipped, they conflict with stored data collection={collection} count={conflicts}");
            *report.skipped.entry(collection).or_default() += conflicts;
            *report.inserted.entry(collection).or_default() += attempted.saturating_sub(conflicts);
        }
    }
    Ok(())
}

/// The number of documents an unordered `insert_many` refused as duplicates, or `None`
/// when it failed for another reason too.
fn duplicate_key_count(error: &mongodb::error::Error) -> Option<u64> {
    let mongodb::error::ErrorKind::InsertMany(failure) = error.kind.as_ref() else {
        return None;
    };
    if failure.write_concern_error.is_some() {
        return None;
    }
    let errors = failure.write_errors.as_ref()?;
    errors
        .iter()
        .all(|e| e.code == 11000)
        .then(|| u64::try_from(errors.len()).unwrap_or(0))
}

/// Raises each counter to the highest stored id of its collection.
async fn raise_counters(store: &Store) -> Result<(), StoreError> {
    let sequences = [
        Sequence::Users,
        Sequence::Experiences,
        Sequence::Educations,
        Sequence::Certifications,
        Sequence::Connections,
        Sequence::Follows,
        Sequence::Chats,
        Sequence::Messages,
    ];
    for sequence in sequences {
        // Users are keyed by a zero-padded string, connections and chats by their pair, so
        // their integer id is read from the key or from `id`.
        let field = if matches!(sequence, Sequence::Connections | Sequence::Chats) {
            "id"
        } else {
            "_id"
        };
        let highest = store
            .collection::<bson::Document>(sequence.name())
            .find_one(doc! {})
            .sort(doc! { field: -1 })
            .projection(doc! { field: 1 })
            .await?
            .and_then(|d| match d.get(field) {
                Some(bson::Bson::Int64(id)) => Some(*id),
                Some(bson::Bson::Int32(id)) => Some(i64::from(*id)),
                Some(bson::Bson::String(key)) => key.parse().ok(),
                _ => None,
            })
            .unwrap_or(0);
        store.ids().raise_to(sequence, highest).await?;
    }
    Ok(())
}

/// Creates `count` synthetic users `{prefix}{n}@example.com` (n from 1) for load tests,
/// with `password` hashed once at bcrypt cost 4, and confirmed connections between
/// users 2k-1 and 2k so that each can chat with its partner. Users and connections that
/// exist already are kept; new ones are written with `insert_many` in chunks.
///
/// # Errors
/// A [`FixtureError`] when the database fails.
pub async fn seed_load_users(
    store: &Store,
    prefix: &str,
    count: u64,
    password_text: &str,
    progress: Progress<'_>,
) -> Result<(), FixtureError> {
    const CHUNK: usize = 1000;
    // Cost 4 keeps 10,000 sign-ins of a benchmark cheap; these accounts are for load only.
    let password_hash = password::hash(password_text.to_owned(), 4).await?;
    let users = store.collection::<UserDoc>(USERS);
    let pattern = bson::Regex {
        pattern: format!("^{}[0-9]+@example\\.com$", regex::escape(prefix)),
        options: String::new(),
    };
    let existing: HashMap<String, UserId> = users
        .find(doc! { "email": pattern })
        .await
        .map_err(StoreError::from)?
        .try_collect::<Vec<UserDoc>>()
        .await
        .map_err(StoreError::from)?
        .into_iter()
        .map(|user| (user.email, user.id))
        .collect();

    let emails: Vec<String> = (1..=count)
        .map(|n| format!("{prefix}{n}@example.com"))
        .collect();
    let missing: Vec<(usize, &String)> = emails
        .iter()
        .enumerate()
        .filter(|(_, email)| !existing.contains_key(*email))
        .collect();
    let mut new_ids = store
        .ids()
        .reserve_range(Sequence::Users, i64::try_from(missing.len()).unwrap_or(0))
        .await?;
    let mut ids: HashMap<&String, UserId> =
        existing.iter().map(|(email, id)| (email, *id)).collect();
    let mut documents = Vec::with_capacity(missing.len());
    for (index, email) in missing {
        let id = UserId(
            new_ids
                .next()
                .ok_or(StoreError::Inconsistent("reserved too few user ids"))?,
        );
        ids.insert(email, id);
        documents.push(load_user(id, email, index + 1, &password_hash));
    }
    let email_entries: Vec<EmailDoc> = documents
        .iter()
        .map(|user| EmailDoc {
            email: user.email.clone(),
            user_id: user.id,
        })
        .collect();
    for chunk in email_entries.chunks(CHUNK) {
        store
            .collection::<EmailDoc>(USER_EMAILS)
            .insert_many(chunk)
            .await
            .map_err(StoreError::from)?;
    }
    let mut written = 0;
    for chunk in documents.chunks(CHUNK) {
        users.insert_many(chunk).await.map_err(StoreError::from)?;
        written += u64::try_from(chunk.len()).unwrap_or(0);
        progress("users", written, count);
    }
    progress("users", count, count);

    let ordered: Vec<UserId> = emails
        .iter()
        .filter_map(|email| ids.get(email).copied())
        .collect();
    let connections = store.collection::<ConnectionDoc>(CONNECTIONS);
    let first = ordered.first().map_or(0, |id| id.0);
    let connected: std::collections::HashSet<(UserId, UserId)> = connections
        .find(doc! { "user": { "$gte": first } })
        .await
        .map_err(StoreError::from)?
        .try_collect::<Vec<ConnectionDoc>>()
        .await
        .map_err(StoreError::from)?
        .into_iter()
        .map(|connection| (connection.user, connection.connection))
        .collect();
    let pairs: Vec<(UserId, UserId)> = ordered
        .chunks(2)
        .filter_map(|chunk| match chunk {
            [a, b] if !connected.contains(&(*a, *b)) => Some((*a, *b)),
            _ => None,
        })
        .collect();
    let mut connection_ids = store
        .ids()
        .reserve_range(
            Sequence::Connections,
            i64::try_from(pairs.len()).unwrap_or(0),
        )
        .await?;
    let mut new_connections = Vec::with_capacity(pairs.len());
    for (a, b) in pairs {
        new_connections.push(ConnectionDoc {
            pair: pair_key(a, b),
            id: ConnectionId(
                connection_ids
                    .next()
                    .ok_or(StoreError::Inconsistent("reserved too few connection ids"))?,
            ),
            user: a,
            connection: b,
            status: ConnectionStatus::Confirmed,
            created_at: Utc::now(),
        });
    }
    let total = u64::try_from(new_connections.len()).unwrap_or(0);
    let mut written = 0;
    for chunk in new_connections.chunks(CHUNK) {
        connections
            .insert_many(chunk)
            .await
            .map_err(StoreError::from)?;
        written += u64::try_from(chunk.len()).unwrap_or(0);
        progress("connections", written, total);
    }
    progress("connections", total, total);
    Ok(())
}

fn load_user(id: UserId, email: &str, number: usize, password_hash: &str) -> UserDoc {
    UserDoc {
        id,
        email: email.to_owned(),
        password_hash: password_hash.to_owned(),
        user_type: UserType::Learner,
        is_admin: false,
        industry: None,
        profile: ProfileFields {
            first_name: "Load".to_owned(),
            last_name: format!("User {number}"),
            timezone: "Africa/Lagos".to_owned(),
            ..ProfileFields::default()
        },
        settings: SettingsDoc::default(),
        company: None,
        profile_views: 0,
        created_at: Utc::now(),
    }
}
