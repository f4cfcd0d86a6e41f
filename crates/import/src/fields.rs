//! Which field of a source record is which: the earlier systems' names, or `--map`.

use chrono::{DateTime, Utc};
use keygate_domain::import::LegacyUser;
use serde_json::{Map, Value};

/// The names each account field is looked for under, first match wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMap {
    id: Vec<String>,
    username: Vec<String>,
    email: Vec<String>,
    password_hash: Vec<String>,
    name: Vec<String>,
    full_name: Vec<String>,
    age: Vec<String>,
    gender: Vec<String>,
    created_at: Vec<String>,
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| (*n).to_owned()).collect()
}

impl Default for FieldMap {
    /// The earlier systems' conventions (Flask apps on MongoDB, SQLAlchemy, plain SQL).
    fn default() -> Self {
        Self {
            id: names(&["_id", "id", "user_id"]),
            username: names(&["username", "user_name", "login"]),
            email: names(&["email", "email_address", "mail"]),
            password_hash: names(&[
                "password_hash",
                "password",
                "hashed_password",
                "pw_hash",
                "pwd_hash",
            ]),
            name: names(&["name"]),
            full_name: names(&["full_name", "fullname"]),
            age: names(&["age"]),
            gender: names(&["gender"]),
            created_at: names(&["created_at", "date_joined", "created", "registered_at"]),
        }
    }
}

impl FieldMap {
    /// The conventions with `overrides` (`field=column`, from `--map`) first.
    pub fn with(overrides: &[String]) -> Result<Self, String> {
        let mut map = Self::default();
        for entry in overrides {
            let (field, column) = entry
                .split_once('=')
                .filter(|(f, c)| !f.is_empty() && !c.is_empty())
                .ok_or_else(|| format!("--map {entry}: write field=column"))?;
            let list = match field {
                "id" => &mut map.id,
                "username" => &mut map.username,
                "email" => &mut map.email,
                "password_hash" | "password" => &mut map.password_hash,
                "name" => &mut map.name,
                "full_name" => &mut map.full_name,
                "age" => &mut map.age,
                "gender" => &mut map.gender,
                "created_at" => &mut map.created_at,
                other => {
                    return Err(format!(
                        "--map {other}=…: the fields are id, username, email, password_hash, \
                         name, full_name, age, gender, created_at"
                    ))
                }
            };
            list.insert(0, column.to_owned());
        }
        Ok(map)
    }

    /// The account in `record` (a JSON object; MongoDB documents as relaxed extended JSON).
    pub fn user(&self, record: &Map<String, Value>) -> LegacyUser {
        let find = |names: &[String]| {
            names
                .iter()
                .find_map(|n| record.get(n))
                .filter(|v| !v.is_null())
        };
        let text = |names: &[String]| find(names).and_then(as_text);
        LegacyUser {
            source_id: text(&self.id).unwrap_or_default(),
            username: text(&self.username),
            email: text(&self.email),
            password_hash: text(&self.password_hash),
            name: text(&self.name),
            full_name: text(&self.full_name),
            age: find(&self.age).and_then(|v| match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }),
            gender: text(&self.gender),
            created_at: find(&self.created_at).and_then(as_time),
        }
    }
}

/// A scalar as text; `{"$oid": …}` as its hex.
pub(crate) fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(o) => o.get("$oid").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// RFC 3339 text, a `"YYYY-MM-DD HH:MM:SS"` SQL timestamp, `{"$date": …}` or Unix seconds.
pub(crate) fn as_time(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S%.f")
                    .ok()
                    .map(|t| t.and_utc())
            }),
        Value::Number(n) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
        Value::Object(o) => o.get("$date").and_then(as_time),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conventions_and_maps_find_each_field() {
        let record = json!({
            "_id": {"$oid": "6553f1000000000000000001"},
            "name": "Ada", "email": "ada@example.com",
            "password": "pbkdf2:sha256:1000$s$00", "age": "36",
            "created_at": {"$date": "2021-03-04T05:06:07Z"}
        });
        let user = FieldMap::default().user(record.as_object().expect("an object"));
        assert_eq!(user.source_id, "6553f1000000000000000001");
        assert_eq!(user.email.as_deref(), Some("ada@example.com"));
        assert_eq!(
            user.password_hash.as_deref(),
            Some("pbkdf2:sha256:1000$s$00")
        );
        assert_eq!(user.age, Some(36));
        assert_eq!(user.created_at.map(|t| t.timestamp()), Some(1_614_834_367));

        let odd = json!({"uid": 7, "nick": "ada", "secret": "$2b$04$x"});
        let map = FieldMap::with(&[
            "id=uid".into(),
            "username=nick".into(),
            "password=secret".into(),
        ])
        .expect("a map");
        let user = map.user(odd.as_object().expect("an object"));
        assert_eq!(user.source_id, "7");
        assert_eq!(user.username.as_deref(), Some("ada"));
        assert_eq!(user.password_hash.as_deref(), Some("$2b$04$x"));
        assert!(FieldMap::with(&["nonsense".into()]).is_err());
        assert!(FieldMap::with(&["colour=x".into()]).is_err());
    }
}
