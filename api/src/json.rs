//! A strict JSON reader: serde_json's parser, except that an object naming the same key twice
//! is an error instead of "the last one wins".
//!
//! Why: a file or request with `"cities"` twice is almost always a mistake (two lists pasted
//! into one file, a client that merged objects wrongly), and silently keeping the second one
//! writes data nobody meant. The error names the key and its place as a JSON path
//! (`$.cities[3].slug`), so the author can find it.
//!
//! Everything else is serde_json's: the same grammar, the same numbers (built by serde_json's
//! own parser, so `float_roundtrip` and 64-bit integers behave exactly as `serde_json::from_str`),
//! and the same recursion limit of 128 nested arrays/objects, which turns deep nesting into an
//! error instead of a stack overflow. A duplicate is found by looking the key up in the object
//! being built (serde_json's map: a B-tree, or an index map with `preserve_order`), so the cost
//! stays O(n log n) at worst however large an object is. The path is kept as a chain of borrowed
//! segments on the stack and only written out when there is an error.

use std::cell::RefCell;
use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a text is not accepted as JSON.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// An object names the same key twice. `path` is the JSON path of the second occurrence
    /// (`$.cities[3].slug`); `line` and `column` are where the parser stopped (1-based).
    #[error("duplicate key {key:?} at {path} (line {line}, column {column})")]
    DuplicateKey {
        key: String,
        path: String,
        line: usize,
        column: usize,
    },
    /// Not JSON: a syntax error, invalid UTF-8, trailing characters, a number out of range, or
    /// nesting deeper than 128 levels. serde_json's message, with its line and column.
    #[error("{0}")]
    Syntax(#[source] serde_json::Error),
}

/// Parses `bytes` (UTF-8) into a [`Value`], refusing duplicate object keys.
pub fn from_slice(bytes: &[u8]) -> Result<Value, JsonError> {
    parse(serde_json::Deserializer::from_slice(bytes))
}

/// Parses `text` into a [`Value`], refusing duplicate object keys.
pub fn from_str(text: &str) -> Result<Value, JsonError> {
    parse(serde_json::Deserializer::from_str(text))
}

fn parse<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
) -> Result<Value, JsonError> {
    let duplicate = RefCell::new(None);
    let seed = ValueSeed {
        path: Path::Root,
        duplicate: &duplicate,
    };
    let result = seed.deserialize(&mut de).and_then(|value| {
        // Trailing characters after the value are an error, as in `serde_json::from_str`.
        de.end()?;
        Ok(value)
    });
    result.map_err(|error| match duplicate.into_inner() {
        Some(Duplicate { key, path }) => JsonError::DuplicateKey {
            key,
            path,
            line: error.line(),
            column: error.column(),
        },
        None => JsonError::Syntax(error),
    })
}

/// The duplicate found, set by the visitor that found it: serde's error type only carries a
/// message, and callers want the key and path as data.
struct Duplicate {
    key: String,
    path: String,
}

/// Where a value sits: a chain of segments borrowed from the callers' stack frames, so that
/// descending costs no allocation; written out only for an error.
#[derive(Clone, Copy)]
enum Path<'p> {
    Root,
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_char('$'),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
            Path::Key(parent, key) if is_identifier(key) => write!(f, "{parent}.{key}"),
            // Keys that are not plain names are quoted the JSON way: `$["a b"]`.
            Path::Key(parent, key) => write!(f, "{parent}[{}]", Value::from(*key)),
        }
    }
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Builds one [`Value`] (and everything inside it) at `path`.
struct ValueSeed<'p> {
    path: Path<'p>,
    duplicate: &'p RefCell<Option<Duplicate>>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        // `deserialize_any` on serde_json's deserializer counts the nesting depth (limit 128).
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    // Scalars exactly as serde_json's own `Value` visitor builds them.
    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        loop {
            let seed = ValueSeed {
                path: Path::Index(&self.path, items.len()),
                duplicate: self.duplicate,
            };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let path = Path::Key(&self.path, &key);
            if map.contains_key(&key) {
                let path = path.to_string();
                let message = format!("duplicate key {key:?} at {path}");
                *self.duplicate.borrow_mut() = Some(Duplicate {
                    key: key.clone(),
                    path,
                });
                return Err(de::Error::custom(message));
            }
            let seed = ValueSeed {
                path,
                duplicate: self.duplicate,
            };
            let value = access.next_value_seed(seed)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::{JsonError, from_slice, from_str};
    use serde_json::{Value, json};

    fn duplicate(text: &str) -> (String, String) {
        match from_str(text) {
            Err(JsonError::DuplicateKey { key, path, .. }) => (key, path),
            other => panic!("expected a duplicate key in {text}, got {other:?}"),
        }
    }

    #[test]
    fn refuses_a_duplicate_key_at_the_top_level() {
        let text = r#"{"cities": [], "pairings": [], "cities": [{"slug": "x"}]}"#;
        assert_eq!(duplicate(text), ("cities".into(), "$.cities".into()));
        let message = from_slice(text.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            message,
            r#"duplicate key "cities" at $.cities (line 1, column 39)"#
        );
    }

    #[test]
    fn refuses_a_duplicate_key_nested_and_inside_arrays() {
        assert_eq!(
            duplicate(r#"{"a": {"b": {"c": 1, "d": 2, "c": 3}}}"#),
            ("c".into(), "$.a.b.c".into())
        );
        let text = r#"{"cities": [{"slug": "a"}, {}, {"x": [1]}, {"slug": "b", "name": "B", "slug": "c"}]}"#;
        assert_eq!(duplicate(text), ("slug".into(), "$.cities[3].slug".into()));
        assert_eq!(
            duplicate(r#"[[0], [1, {"k": null, "k": null}]]"#),
            ("k".into(), "$[1][1].k".into())
        );
        // Keys that are not plain names are quoted in the path.
        assert_eq!(
            duplicate(r#"{"a b": {"é": 1, "é": 2}}"#),
            ("é".into(), r#"$["a b"]["é"]"#.into())
        );
    }

    #[test]
    fn the_same_key_in_different_objects_is_not_a_duplicate() {
        let value = from_str(r#"[{"slug": "a"}, {"slug": "b", "o": {"slug": "c"}}]"#).unwrap();
        assert_eq!(value[1]["o"]["slug"], "c");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        for open in ["[", "{\"a\":"] {
            let text = open.repeat(10_000);
            match from_str(&text) {
                Err(JsonError::Syntax(e)) => {
                    assert!(e.to_string().contains("recursion limit"), "{e}");
                }
                other => panic!("expected a recursion error, got {other:?}"),
            }
        }
        // Within the limit it parses.
        let text = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(from_str(&text).is_ok());
    }

    #[test]
    fn numbers_are_exactly_serde_jsons() {
        let text = r#"[-15.079700000000003, 0.1, 1e-7, 5e-324, 1.7976931348623157e308,
            18446744073709551615, -9223372036854775808, 9223372036854775807, -0.0, 0, 1.0,
            18446744073709551616, 123456789012345678901234567890]"#;
        let ours = from_str(text).unwrap();
        let theirs: Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.to_string(), theirs.to_string());
        assert_eq!(ours[0].as_f64(), Some(-15.079700000000003));
        assert_eq!(ours[0].to_string(), "-15.079700000000003");
        assert_eq!(ours[5].as_u64(), Some(u64::MAX));
        assert_eq!(ours[6].as_i64(), Some(i64::MIN));
        assert_eq!(ours[7].as_i64(), Some(i64::MAX));
        assert!(ours[9].is_u64() && ours[10].is_f64());
    }

    #[test]
    fn agrees_with_serde_json_on_valid_and_invalid_text() {
        let valid = [
            r#"{"a": "x\u00e9\n\"", "b": [true, false, null], "c": {}}"#,
            r#""\ud83d\ude00""#,
            "  [ ]  ",
        ];
        for text in valid {
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(from_str(text).unwrap(), theirs, "{text}");
            assert_eq!(from_slice(text.as_bytes()).unwrap(), theirs, "{text}");
        }
        let invalid = ["{} x", "[1,]", "{\"a\" 1}", "1e400", "\"\\ud800\"", ""];
        for text in invalid {
            let theirs = serde_json::from_str::<Value>(text).unwrap_err();
            match from_str(text) {
                Err(JsonError::Syntax(ours)) => assert_eq!(ours.to_string(), theirs.to_string()),
                other => panic!("expected a syntax error for {text:?}, got {other:?}"),
            }
        }
        assert!(matches!(
            from_slice(b"[\"\xff\"]"),
            Err(JsonError::Syntax(_))
        ));
    }

    #[test]
    fn a_large_object_is_not_quadratic() {
        // 200 000 distinct keys: quadratic duplicate detection would take minutes here.
        let members: Vec<String> = (0..200_000).map(|i| format!("\"k{i}\": {i}")).collect();
        let text = format!("{{{}}}", members.join(","));
        let value = from_str(&text).unwrap();
        assert_eq!(value["k199999"], json!(199_999));
    }
}
