//! JSON decoding that reports the path of the field that failed.

use serde::de::DeserializeOwned;

use crate::Error;

/// Decodes `bytes` as JSON into `T`; on failure the error names the JSON path of the bad field.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Doc { user: User }
/// #[derive(serde::Deserialize)]
/// struct User { age: u32 }
///
/// let err = auth_core::json::from_slice::<Doc>("user", br#"{"user":{"age":"x"}}"#).err().unwrap();
/// match err {
///     auth_core::Error::Decode { path, .. } => assert_eq!(path, "user.age"),
///     other => panic!("{other}"),
/// }
/// ```
pub fn from_slice<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        Error::decode(what, path, e.into_inner())
    })
}

/// Decodes an already parsed JSON value into `T`, reporting the path on failure.
pub fn from_value<T: DeserializeOwned>(
    what: &'static str,
    value: serde_json::Value,
) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        Error::decode(what, path, e.into_inner())
    })
}

/// Deserializes a field whose `null` means the same as absent: `null` becomes `T::default()`.
///
/// Providers' official SDKs treat `null` and a missing field alike; `#[serde(default)]` alone
/// covers only the missing field. Use both on every list and defaulted field of a response type:
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Policy {
///     #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
///     types: Vec<String>,
/// }
///
/// let p: Policy = serde_json::from_str(r#"{"types": null}"#).unwrap();
/// assert!(p.types.is_empty());
/// let p: Policy = serde_json::from_str(r#"{}"#).unwrap();
/// assert!(p.types.is_empty());
/// ```
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    let value: Option<T> = serde::Deserialize::deserialize(deserializer)?;
    Ok(value.unwrap_or_default())
}

/// Every variant of `value` with exactly one object field set to `null`, with that field's path.
///
/// The tolerance test every provider crate runs over its recorded responses: a provider may send
/// `null` for any optional field or list, and the response must still parse. Fields at every
/// depth are visited (inside arrays too); the value itself is not changed.
///
/// ```
/// let v = serde_json::json!({"a": 1, "b": {"c": [ {"d": true} ]}});
/// let paths: Vec<String> = auth_core::json::null_variants(&v).map(|(p, _)| p).collect();
/// assert_eq!(paths, ["a", "b", "b.c", "b.c[0].d"]);
/// ```
pub fn null_variants(
    value: &serde_json::Value,
) -> impl Iterator<Item = (String, serde_json::Value)> + '_ {
    let mut paths = Vec::new();
    collect_field_paths(value, &mut Vec::new(), &mut paths);
    paths.into_iter().map(move |path| {
        let mut copy = value.clone();
        set_null(&mut copy, &path);
        (render_path(&path), copy)
    })
}

#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn collect_field_paths(value: &serde_json::Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                at.push(Step::Key(key.clone()));
                if !child.is_null() {
                    out.push(at.clone());
                }
                collect_field_paths(child, at, out);
                at.pop();
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                at.push(Step::Index(i));
                collect_field_paths(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn set_null(value: &mut serde_json::Value, path: &[Step]) {
    let mut cur = value;
    for step in path {
        let next = match (step, cur) {
            (Step::Key(k), serde_json::Value::Object(map)) => map.get_mut(k),
            (Step::Index(i), serde_json::Value::Array(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return,
        }
    }
    *cur = serde_json::Value::Null;
}

fn render_path(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}
