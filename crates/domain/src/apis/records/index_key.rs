//! Order-preserving keys of top-level record values: the one comparison both stores use.
//!
//! Every top-level field of a record has a key, bytes whose order is the order of §11: a
//! missing field first, then `null`, then numbers by value (exactly: integers of any size and
//! decimals compare by their digits, never through `f64`), then strings by code point, then
//! `false`, `true`, and last any object or array (which only `exists` and `ne` can match).
//! Keys are self-delimiting, so a record id appended to one keeps the order: the embedded
//! store's index tables and MongoDB's `ix` fields both sort records by them.

use serde_json::value::RawValue;
use serde_json::Value;

const MISSING: u8 = 0x00;
const NULL: u8 = 0x01;
const NUMBER: u8 = 0x02;
const STRING: u8 = 0x03;
const FALSE: u8 = 0x04;
const TRUE: u8 = 0x05;
const COMPOSITE: u8 = 0x06;

/// Inside a number: negative, zero, positive.
const NEGATIVE: u8 = 0x01;
const ZERO: u8 = 0x02;
const POSITIVE: u8 = 0x03;

/// The key of a field a record does not have.
pub fn missing_key() -> Vec<u8> {
    vec![MISSING]
}

/// The key of a parsed JSON value.
pub fn value_key(value: &Value) -> Vec<u8> {
    match value {
        Value::Null => vec![NULL],
        Value::Bool(false) => vec![FALSE],
        Value::Bool(true) => vec![TRUE],
        Value::Number(number) => number_key(&number.to_string()).unwrap_or_else(|| vec![COMPOSITE]),
        Value::String(text) => string_key(text),
        Value::Array(_) | Value::Object(_) => vec![COMPOSITE],
    }
}

/// The key of a raw JSON value, parsing only a scalar (objects and arrays are never read).
pub fn raw_key(raw: &RawValue) -> Vec<u8> {
    raw_key_within(raw, MAX_KEY_VALUE_BYTES)
}

/// The key of a raw JSON value with nothing cut: what a query compares when the value it was
/// given is longer than a key holds (see [`MAX_KEY_VALUE_BYTES`]).
pub fn exact_raw_key(raw: &RawValue) -> Vec<u8> {
    raw_key_within(raw, usize::MAX)
}

fn raw_key_within(raw: &RawValue, most: usize) -> Vec<u8> {
    let text = raw.get().trim_start();
    match text.as_bytes().first() {
        Some(b'{' | b'[') | None => vec![COMPOSITE],
        Some(b'"') => match serde_json::from_str::<String>(text) {
            Ok(string) => string_key_within(&string, most),
            Err(_) => vec![COMPOSITE],
        },
        Some(b'n') => vec![NULL],
        Some(b't') => vec![TRUE],
        Some(b'f') => vec![FALSE],
        Some(_) => number_key_within(text.trim_end(), most).unwrap_or_else(|| vec![COMPOSITE]),
    }
}

/// The most bytes of a string or of a number's digits a key holds: longer values compare by
/// that much of their start (so an index entry, and a cursor, stay small). Where a query's
/// own value is longer, the candidates its key finds are compared by their whole value.
pub const MAX_KEY_VALUE_BYTES: usize = 1_000;

/// The key of a string.
pub fn string_key(text: &str) -> Vec<u8> {
    string_key_within(text, MAX_KEY_VALUE_BYTES)
}

/// The key of a string with nothing cut.
pub fn exact_string_key(text: &str) -> Vec<u8> {
    string_key_within(text, usize::MAX)
}

fn string_key_within(text: &str, most: usize) -> Vec<u8> {
    let mut key = Vec::with_capacity(text.len().min(most).saturating_add(4));
    key.push(STRING);
    // NUL is escaped as 00 FF and the end written 00 01, so a prefix sorts first and a key
    // never runs into the record id appended after it.
    for &byte in text.as_bytes().iter().take(most) {
        key.push(byte);
        if byte == 0 {
            key.push(0xff);
        }
    }
    key.extend_from_slice(&[0x00, 0x01]);
    key
}

/// The key of a JSON number written as `text`; `None` if it is not one.
pub fn number_key(text: &str) -> Option<Vec<u8>> {
    number_key_within(text, MAX_KEY_VALUE_BYTES)
}

/// The key of a JSON number with none of its digits cut.
pub fn exact_number_key(text: &str) -> Option<Vec<u8>> {
    number_key_within(text, usize::MAX)
}

fn number_key_within(text: &str, most: usize) -> Option<Vec<u8>> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], parse_exponent(&unsigned[at + 1..])?),
        None => (unsigned, 0),
    };
    let (integer, fraction) = match mantissa.split_once('.') {
        Some((integer, fraction)) => (integer, fraction),
        None => (mantissa, ""),
    };
    if integer.is_empty()
        || !integer.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || (mantissa.contains('.') && fraction.is_empty())
    {
        return None;
    }
    // value = 0.digits × 10^scale, digits without leading or trailing zeros.
    let all: Vec<u8> = integer.bytes().chain(fraction.bytes()).collect();
    let Some(first) = all.iter().position(|&d| d != b'0') else {
        return Some(vec![NUMBER, ZERO]);
    };
    let last = all.iter().rposition(|&d| d != b'0').unwrap_or(first);
    let digits = &all[first..=last.min(first.saturating_add(most.saturating_sub(1)))];
    let scale = exponent.saturating_add(integer.len() as i64 - first as i64);
    let mut key = Vec::with_capacity(digits.len() + 11);
    key.push(NUMBER);
    let biased = (scale as u64) ^ (1 << 63);
    if negative {
        key.push(NEGATIVE);
        key.extend_from_slice(&(!biased).to_be_bytes());
        key.extend(digits.iter().map(|d| 0xfe - (d - b'0')));
        key.push(0xff);
    } else {
        key.push(POSITIVE);
        key.extend_from_slice(&biased.to_be_bytes());
        key.extend(digits.iter().map(|d| d - b'0' + 1));
        key.push(0x00);
    }
    Some(key)
}

fn parse_exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Saturates: an exponent past ±9.2e18 is beyond any number a record can mean.
    let magnitude = digits.bytes().fold(0_i64, |n, d| {
        n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

/// Keys of one kind start with one byte: the first and the past-the-end key of each kind,
/// for ranges that stay within numbers or within strings.
pub(crate) mod kinds {
    /// Every key of a number lies in `NUMBERS.0 .. NUMBERS.1`.
    pub const NUMBERS: (u8, u8) = (super::NUMBER, super::STRING);
    /// Every key of a string lies in `STRINGS.0 .. STRINGS.1`.
    pub const STRINGS: (u8, u8) = (super::STRING, super::FALSE);
}

/// Lower-case hex of a key, for stores that compare text (MongoDB): hex keeps byte order.
pub fn hex_key(key: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(key.len() * 2);
    for byte in key {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text
}

/// The bytes of a [`hex_key`]; `None` if the text is not one.
pub fn unhex_key(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| {
            let digit = |b: u8| char::from(b).to_digit(16);
            Some((digit(pair[0])? << 4 | digit(pair[1])?) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn n(text: &str) -> Vec<u8> {
        number_key(text).expect(text)
    }

    #[test]
    fn numbers_order_by_value_exactly() {
        let ascending = [
            "-1e400",
            "-18446744073709551617",
            "-18446744073709551616",
            "-2",
            "-1.5",
            "-1",
            "-0.123",
            "-0.12",
            "-1e-300",
            "0",
            "1e-300",
            "0.1",
            "0.12",
            "0.123",
            "1",
            "1.5",
            "2",
            "10",
            "9007199254740993",
            "18446744073709551616",
            "18446744073709551617",
            "1e400",
        ];
        for pair in ascending.windows(2) {
            assert!(n(pair[0]) < n(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        for (a, b) in [
            ("5", "5.0"),
            ("5", "5e0"),
            ("50", "5E1"),
            ("0", "-0"),
            ("0", "0.000"),
            ("0.05", "5e-2"),
            ("120", "1.2e+2"),
        ] {
            assert_eq!(n(a), n(b), "{a} = {b}");
        }
        assert_eq!(number_key("abc"), None);
        assert_eq!(number_key("1."), None);
        assert_eq!(number_key(""), None);
    }

    #[test]
    fn kinds_order_missing_null_numbers_strings_booleans_composites() {
        let keys = [
            missing_key(),
            value_key(&json!(null)),
            value_key(&json!(-5)),
            value_key(&json!(1e300)),
            value_key(&json!("")),
            value_key(&json!("\u{0}")),
            value_key(&json!("a")),
            value_key(&json!("a\u{0}")),
            value_key(&json!("ab")),
            value_key(&json!("é")),
            value_key(&json!(false)),
            value_key(&json!(true)),
            value_key(&json!([1])),
        ];
        for pair in keys.windows(2) {
            assert!(pair[0] < pair[1], "{:?} < {:?}", pair[0], pair[1]);
        }
        assert_eq!(value_key(&json!({"a": 1})), value_key(&json!([])));
    }

    #[test]
    fn raw_and_parsed_values_share_keys() {
        for value in [
            json!(null),
            json!(true),
            json!(false),
            json!(12.50),
            json!("x\"y"),
            json!({"a": [1]}),
            json!(-0),
        ] {
            let raw = RawValue::from_string(value.to_string()).expect("json");
            assert_eq!(raw_key(&raw), value_key(&value), "{value}");
        }
    }

    #[test]
    fn a_key_followed_by_an_id_keeps_its_order() {
        // A shorter string followed by id bytes never sorts past a longer one.
        let mut short = string_key("a");
        short.extend_from_slice(b"ffffffffffffffffffffffff");
        assert!(short < string_key("a\u{1}"));
        let mut small = n("1");
        small.extend_from_slice(b"ffffffffffffffffffffffff");
        assert!(small < n("1.0000001"));
        assert_eq!(unhex_key(&hex_key(&small)), Some(small));
    }
}
