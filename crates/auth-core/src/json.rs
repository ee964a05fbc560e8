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
