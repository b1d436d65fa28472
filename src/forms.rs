//! Request bodies as clients of the older server send them: JSON, URL-encoded forms or
//! multipart forms, all read into one map of field values. The typed getters are lenient
//! the way those clients expect (`"7"` and `7` are both the integer 7, `"true"` is a
//! boolean) and record a field error for a value that cannot be read as its type.
//! Unknown fields are ignored.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use actix_multipart::Multipart;
use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::BytesMut;
use actix_web::{web, FromRequest, HttpRequest};
use careernexus_actors::validation::FieldErrors;
use futures_util::StreamExt;
use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;
use crate::startup::AppState;

/// Longest text field of a multipart form.
const MAX_MULTIPART_TEXT_BYTES: usize = 64 * 1024;
/// Most parts in one multipart form.
const MAX_MULTIPART_PARTS: usize = 100;

/// Field values of a request body, whatever its content type. File parts are refused;
/// endpoints that take files use [`UploadForm`].
#[derive(Debug, Default)]
pub struct FormBody(pub Map<String, Value>);

/// A file received in a multipart form, stored in a temporary file that is deleted when
/// this value is dropped.
#[derive(Debug)]
pub struct UploadedFile {
    pub field: String,
    pub file_name: String,
    pub content_type: String,
    pub file: tempfile::NamedTempFile,
}

/// Field values plus files, for endpoints that accept uploads. The size limit of each
/// file field comes from [`UploadLimits`] in the app data; other file fields are refused.
#[derive(Debug, Default)]
pub struct UploadForm {
    pub values: Map<String, Value>,
    pub files: Vec<UploadedFile>,
}

/// Largest accepted size per file field name.
#[derive(Debug, Clone, Default)]
pub struct UploadLimits(pub HashMap<&'static str, usize>);

type BoxedFuture<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

impl FromRequest for FormBody {
    type Error = ApiError;
    type Future = BoxedFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let form = read_form(&req, payload, &UploadLimits::default()).await?;
            Ok(FormBody(form.values))
        })
    }
}

impl FromRequest for UploadForm {
    type Error = ApiError;
    type Future = BoxedFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let limits = req
                .app_data::<web::Data<UploadLimits>>()
                .map(|l| l.get_ref().clone())
                .unwrap_or_default();
            read_form(&req, payload, &limits).await
        })
    }
}

async fn read_form(
    req: &HttpRequest,
    payload: Payload,
    limits: &UploadLimits,
) -> Result<UploadForm, ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let max_body = req
        .app_data::<web::Data<AppState>>()
        .map_or(1024 * 1024, |state| state.settings.server.max_body_bytes);
    if content_type.starts_with("multipart/form-data") {
        return read_multipart(req, payload, limits).await;
    }
    let bytes = read_body(payload, max_body).await?;
    let values = if content_type.starts_with("application/x-www-form-urlencoded") {
        read_urlencoded(&bytes)?
    } else {
        read_json(&bytes)?
    };
    Ok(UploadForm {
        values,
        files: Vec::new(),
    })
}

async fn read_body(mut payload: Payload, limit: usize) -> Result<BytesMut, ApiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::BadRequest(format!("Could not read the request body: {e}.")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(format!(
                "The request body is larger than {limit} bytes."
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn read_json(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::BadRequest(
            "The request body must be a JSON object.".to_owned(),
        )),
        Err(error) => Err(ApiError::BadRequest(format!("JSON parse error - {error}."))),
    }
}

fn read_urlencoded(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
        .map_err(|e| ApiError::BadRequest(format!("The form body could not be parsed: {e}.")))?;
    let mut map = Map::new();
    for (key, value) in pairs {
        insert_repeated(&mut map, key, Value::String(value));
    }
    Ok(map)
}

/// Adds a value; a repeated field name becomes an array of its values.
fn insert_repeated(map: &mut Map<String, Value>, key: String, value: Value) {
    match map.get_mut(&key) {
        None => {
            map.insert(key, value);
        }
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

async fn read_multipart(
    req: &HttpRequest,
    payload: Payload,
    limits: &UploadLimits,
) -> Result<UploadForm, ApiError> {
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut form = UploadForm::default();
    let mut parts = 0;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| {
            ApiError::BadRequest(format!("The multipart body could not be parsed: {e}."))
        })?;
        parts += 1;
        if parts > MAX_MULTIPART_PARTS {
            return Err(ApiError::BadRequest(format!(
                "A form may have at most {MAX_MULTIPART_PARTS} parts."
            )));
        }
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        match file_name {
            None => {
                let bytes = field
                    .bytes(MAX_MULTIPART_TEXT_BYTES)
                    .await
                    .map_err(|_| {
                        ApiError::PayloadTooLarge(format!(
                            "The field {name} is longer than {MAX_MULTIPART_TEXT_BYTES} bytes."
                        ))
                    })?
                    .map_err(|e| {
                        ApiError::BadRequest(format!("The field {name} could not be read: {e}."))
                    })?;
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| ApiError::field(&name, "The value is not valid UTF-8 text."))?;
                insert_repeated(&mut form.values, name, Value::String(text));
            }
            Some(file_name) => {
                let Some(limit) = limits.0.get(name.as_str()).copied() else {
                    return Err(ApiError::field(&name, "This field does not take a file."));
                };
                let content_type = field.content_type().map_or_else(
                    || "application/octet-stream".to_owned(),
                    |mime| mime.essence_str().to_owned(),
                );
                let file = save_file(&mut field, &name, limit).await?;
                form.files.push(UploadedFile {
                    field: name,
                    file_name,
                    content_type,
                    file,
                });
            }
        }
    }
    Ok(form)
}

/// Streams one file part to a temporary file, refusing it past `limit` bytes.
async fn save_file(
    field: &mut actix_multipart::Field,
    name: &str,
    limit: usize,
) -> Result<tempfile::NamedTempFile, ApiError> {
    let temp = tempfile::NamedTempFile::new()
        .map_err(|e| ApiError::Internal(format!("temporary file: {e}")))?;
    let std_file = temp
        .reopen()
        .map_err(|e| ApiError::Internal(format!("temporary file: {e}")))?;
    let mut file = tokio::fs::File::from_std(std_file);
    let mut size = 0usize;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::BadRequest(format!("The file {name} could not be read: {e}."))
        })?;
        size += chunk.len();
        if size > limit {
            return Err(ApiError::PayloadTooLarge(format!(
                "The file {name} is larger than {limit} bytes."
            )));
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::Internal(format!("temporary file: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| ApiError::Internal(format!("temporary file: {e}")))?;
    Ok(temp)
}

/// Typed, lenient reads of form values; each failure is recorded in `errors` under the
/// field's name and the getter returns `None`.
pub struct FormReader<'a> {
    values: &'a Map<String, Value>,
    pub errors: FieldErrors,
}

impl<'a> FormReader<'a> {
    pub fn new(values: &'a Map<String, Value>) -> Self {
        Self {
            values,
            errors: FieldErrors::new(),
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.values.contains_key(field)
    }

    /// A string, or a number written as a string; `None` when absent or null.
    pub fn text(&mut self, field: &str) -> Option<String> {
        match self.values.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(Value::Bool(flag)) => Some(flag.to_string()),
            Some(_) => {
                self.errors.add(field, "Expected a string.");
                None
            }
        }
    }

    /// Like [`FormReader::text`], but absent, null and blank values are an error.
    pub fn required_text(&mut self, field: &str) -> Option<String> {
        match self.text(field) {
            Some(text) if !text.trim().is_empty() => Some(text),
            Some(_) => {
                self.errors.add(field, "This field may not be blank.");
                None
            }
            None => {
                if !self.errors.contains(field) {
                    self.errors.add(field, "This field is required.");
                }
                None
            }
        }
    }

    /// A whole number given as a JSON number or a numeric string.
    pub fn integer(&mut self, field: &str) -> Option<i64> {
        let parsed = match self.values.get(field) {
            None | Some(Value::Null) => return None,
            Some(Value::Number(number)) => number.as_i64(),
            Some(Value::String(text)) if text.trim().is_empty() => return None,
            Some(Value::String(text)) => text.trim().parse::<i64>().ok(),
            Some(_) => None,
        };
        if parsed.is_none() {
            self.errors.add(field, "A valid integer is required.");
        }
        parsed
    }

    /// A required id: a positive integer given as a number or numeric string.
    pub fn required_id(&mut self, field: &str) -> Option<i64> {
        if !self.has(field) || self.values.get(field) == Some(&Value::Null) {
            self.errors.add(field, "This field is required.");
            return None;
        }
        let id = self.integer(field)?;
        if id < 1 {
            self.errors.add(field, "Ids are positive integers.");
            return None;
        }
        Some(id)
    }

    /// `true`/`false`, their string forms in any case, `1`/`0`, `on`/`off`, `yes`/`no`.
    pub fn boolean(&mut self, field: &str) -> Option<bool> {
        let parsed = match self.values.get(field) {
            None | Some(Value::Null) => return None,
            Some(Value::Bool(flag)) => Some(*flag),
            Some(Value::Number(number)) => match number.as_i64() {
                Some(1) => Some(true),
                Some(0) => Some(false),
                _ => None,
            },
            Some(Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "on" | "yes" => Some(true),
                "false" | "0" | "off" | "no" => Some(false),
                _ => None,
            },
            Some(_) => None,
        };
        if parsed.is_none() {
            self.errors
                .add(field, "Must be a valid boolean (true or false).");
        }
        parsed
    }

    /// A list of strings: a JSON array, a repeated form field, a JSON array written as a
    /// string, or a comma-separated string.
    pub fn string_list(&mut self, field: &str) -> Option<Vec<String>> {
        let items = match self.values.get(field) {
            None | Some(Value::Null) => return None,
            Some(Value::Array(items)) => items.clone(),
            Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Array(items)) => items,
                _ => text
                    .split(',')
                    .map(|item| Value::String(item.trim().to_owned()))
                    .filter(|item| item.as_str() != Some(""))
                    .collect(),
            },
            Some(_) => {
                self.errors.add(field, "Expected a list of strings.");
                return None;
            }
        };
        let mut list = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::String(text) => list.push(text),
                _ => {
                    self.errors
                        .add(field, "Every item of the list must be a string.");
                    return None;
                }
            }
        }
        Some(list)
    }

    /// `Ok` when every getter succeeded.
    ///
    /// # Errors
    /// The recorded field errors.
    pub fn finish(self) -> Result<(), ApiError> {
        self.errors.into_result().map_err(ApiError::Invalid)
    }
}

/// Reads an id from a query parameter.
///
/// # Errors
/// A 400 naming the parameter when it is missing (and `required`) or not a positive
/// integer.
pub fn query_id(query: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    match query.get(name).map(|value| value.trim()) {
        None | Some("") => Ok(None),
        Some(value) => match value.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Some(id)),
            _ => Err(ApiError::field(
                name,
                format!("'{value}' is not a valid id; ids are positive integers."),
            )),
        },
    }
}

/// Like [`query_id`] for a parameter the endpoint cannot do without.
///
/// # Errors
/// A 400 naming the parameter when it is missing or not a positive integer.
pub fn required_query_id(query: &HashMap<String, String>, name: &str) -> Result<i64, ApiError> {
    query_id(query, name)?.ok_or_else(|| ApiError::field(name, "This query parameter is required."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn integer_accepts_numbers_and_numeric_strings() {
        let map = values(json!({"a": 7, "b": "7", "c": "seven", "d": 7.5}));
        let mut reader = FormReader::new(&map);
        assert_eq!(reader.integer("a"), Some(7));
        assert_eq!(reader.integer("b"), Some(7));
        assert_eq!(reader.integer("c"), None);
        assert_eq!(reader.integer("d"), None);
        assert_eq!(reader.integer("missing"), None);
        assert!(reader.errors.contains("c"));
        assert!(reader.errors.contains("d"));
        assert!(!reader.errors.contains("missing"));
    }

    #[test]
    fn boolean_accepts_string_forms() {
        let map = values(json!({"a": "True", "b": "false", "c": true, "d": "maybe"}));
        let mut reader = FormReader::new(&map);
        assert_eq!(reader.boolean("a"), Some(true));
        assert_eq!(reader.boolean("b"), Some(false));
        assert_eq!(reader.boolean("c"), Some(true));
        assert_eq!(reader.boolean("d"), None);
        assert!(reader.errors.contains("d"));
    }

    #[test]
    fn string_list_accepts_every_client_shape() {
        let map = values(json!({
            "array": ["Python", "Rust"],
            "json_text": "[\"Python\", \"Rust\"]",
            "comma": "Python, Rust",
            "bad": [1, 2],
        }));
        let mut reader = FormReader::new(&map);
        let expected = Some(vec!["Python".to_owned(), "Rust".to_owned()]);
        assert_eq!(reader.string_list("array"), expected);
        assert_eq!(reader.string_list("json_text"), expected);
        assert_eq!(reader.string_list("comma"), expected);
        assert_eq!(reader.string_list("bad"), None);
        assert!(reader.errors.contains("bad"));
    }

    #[test]
    fn required_text_reports_missing_and_blank() {
        let map = values(json!({"blank": "  "}));
        let mut reader = FormReader::new(&map);
        assert_eq!(reader.required_text("blank"), None);
        assert_eq!(reader.required_text("missing"), None);
        let errors = reader.errors;
        assert!(errors.contains("blank"));
        assert!(errors.contains("missing"));
    }

    #[test]
    fn query_id_rejects_non_numeric() {
        let query: HashMap<String, String> = [("user_id".to_owned(), "abc".to_owned())].into();
        assert!(query_id(&query, "user_id").is_err());
        assert_eq!(
            query_id(&HashMap::new(), "user_id").expect("absent is fine"),
            None
        );
    }

    #[test]
    fn urlencoded_repeats_become_arrays() {
        let map = read_urlencoded(b"skill=Python&skill=Rust&name=Ada").expect("parses");
        assert_eq!(map["skill"], json!(["Python", "Rust"]));
        assert_eq!(map["name"], json!("Ada"));
    }
}
