//! Deserialisers for the units configuration files use: whole seconds and milliseconds for
//! durations, and counts that must be at least one (a zero is read as one, as it always was);
//! and the `write_*` serialisers that write a duration back in its unit (the test that
//! `config/default.toml` names every key serialises the defaults with them).

use serde::{Deserialize, Deserializer, Serializer};

/// The longest duration any setting takes: 100 years, well inside what `chrono` and
/// `std::time` represent.
const MAX_SECONDS: u64 = 100 * 365 * 24 * 3600;
/// The longest a revocation may go unseen on another instance: one day.
const MAX_REVOCATION_SECONDS: u64 = 24 * 3600;

/// Text, also when a layer gave a number or a boolean: environment variables are parsed
/// (`KEYGATE__AUTH__ISSUER=2024` arrives as an integer), and a section that embeds
/// another type reads its keys without the configuration library's own conversions.
pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Integer(i64),
        Unsigned(u64),
        Float(f64),
        Flag(bool),
    }
    Ok(match Scalar::deserialize(deserializer)? {
        Scalar::Text(text) => text,
        Scalar::Integer(n) => n.to_string(),
        Scalar::Unsigned(n) => n.to_string(),
        Scalar::Float(x) => x.to_string(),
        Scalar::Flag(b) => b.to_string(),
    })
}

/// Optional [`text`].
pub fn optional_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    text(deserializer).map(Some)
}

/// A count, or a size, of at least one.
pub fn at_least_one<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Ord + From<u8>,
{
    Ok(T::deserialize(deserializer)?.max(T::from(1)))
}

/// Whole seconds, at least one, as a `chrono` duration.
pub fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<chrono::Duration, D::Error> {
    let seconds = u64::deserialize(deserializer)?.clamp(1, MAX_SECONDS);
    Ok(chrono::Duration::seconds(
        i64::try_from(seconds).unwrap_or(i64::MAX),
    ))
}

/// Whole seconds up to a day, zero included (it turns the cache off), as a `chrono`
/// duration.
pub fn revocation_seconds<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<chrono::Duration, D::Error> {
    let seconds = u64::deserialize(deserializer)?.min(MAX_REVOCATION_SECONDS);
    Ok(chrono::Duration::seconds(
        i64::try_from(seconds).unwrap_or(0),
    ))
}

/// Whole seconds, at least one, as a `std::time` duration.
pub fn std_seconds<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<std::time::Duration, D::Error> {
    let seconds = u64::deserialize(deserializer)?.clamp(1, MAX_SECONDS);
    Ok(std::time::Duration::from_secs(seconds))
}

/// Milliseconds, at least one, as a `std::time` duration.
pub fn std_millis<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<std::time::Duration, D::Error> {
    let millis = u64::deserialize(deserializer)?.clamp(1, MAX_SECONDS * 1000);
    Ok(std::time::Duration::from_millis(millis))
}

/// A `chrono` duration as whole seconds.
pub fn write_seconds<S: Serializer>(
    duration: &chrono::Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_i64(duration.num_seconds())
}

/// A `std::time` duration as whole seconds.
pub fn write_std_seconds<S: Serializer>(
    duration: &std::time::Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.as_secs())
}

/// A `std::time` duration as whole milliseconds.
pub fn write_std_millis<S: Serializer>(
    duration: &std::time::Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}
