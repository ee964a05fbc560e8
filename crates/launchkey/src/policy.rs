//! Authorization policies: what a create request asks of the user's device, and what a
//! response reports back.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Error;

/// A geofence: the device must be inside this circle.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Geofence {
    /// Latitude in degrees (-90..=90).
    pub latitude: f64,
    /// Longitude in degrees (-180..=180).
    pub longitude: f64,
    /// Radius in metres (> 0).
    pub radius: f64,
    /// An optional name.
    pub name: Option<String>,
}

impl Geofence {
    /// A circle around `latitude`, `longitude` with `radius` metres.
    pub fn new(latitude: f64, longitude: f64, radius: f64) -> Self {
        Geofence {
            latitude,
            longitude,
            radius,
            name: None,
        }
    }

    /// Names the fence.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    fn validate(&self) -> Result<(), Error> {
        let bad = |reason: &str| {
            Err(Error::InvalidRequest {
                field: "policy.geofence",
                reason: reason.to_owned(),
            })
        };
        if !self.latitude.is_finite() || !(-90.0..=90.0).contains(&self.latitude) {
            return bad("latitude must be within -90..=90");
        }
        if !self.longitude.is_finite() || !(-180.0..=180.0).contains(&self.longitude) {
            return bad("longitude must be within -180..=180");
        }
        if !self.radius.is_finite() || self.radius <= 0.0 {
            return bad("radius must be a positive number of metres");
        }
        Ok(())
    }
}

/// The factor requirement of an [`AuthPolicy`]: a count of any factors, or specific types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FactorRequirement {
    /// No requirement beyond the service's own policy.
    #[default]
    None,
    /// At least this many factors of any type (1–3).
    Any(u8),
    /// These factor types.
    Types {
        /// Something the user knows (PIN code, circle code).
        knowledge: bool,
        /// Something the user is (fingerprint, face).
        inherence: bool,
        /// Something the user has (wearables, locations).
        possession: bool,
    },
}

/// The policy sent with an authorization request (the API merges it with the service's own
/// policy and keeps the stricter of the two).
///
/// ```
/// use launchkey::{AuthPolicy, Geofence};
///
/// let policy = AuthPolicy::new()
///     .require_knowledge()
///     .require_possession()
///     .geofence(Geofence::new(36.12, -115.17, 500.0).named("office"))
///     .deny_rooted_jailbroken();
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct AuthPolicy {
    /// The factor requirement.
    pub factors: FactorRequirement,
    /// Geofences (the device must be inside one of them).
    pub geofences: Vec<Geofence>,
    /// Refuse rooted or jailbroken devices ("device integrity").
    pub deny_rooted_jailbroken: bool,
}

impl FactorRequirement {
    /// This requirement with factor type `t` required too.
    fn with_type(self, t: FactorType) -> Self {
        let (mut knowledge, mut inherence, mut possession) = match self {
            FactorRequirement::Types {
                knowledge,
                inherence,
                possession,
            } => (knowledge, inherence, possession),
            _ => (false, false, false),
        };
        match t {
            FactorType::Knowledge => knowledge = true,
            FactorType::Inherence => inherence = true,
            _ => possession = true,
        }
        FactorRequirement::Types {
            knowledge,
            inherence,
            possession,
        }
    }
}

impl AuthPolicy {
    /// No factor requirement (add geofences or device integrity).
    pub fn new() -> Self {
        AuthPolicy::default()
    }

    /// Require at least `count` factors of any type (1–3).
    pub fn factor_count(count: u8) -> Self {
        AuthPolicy {
            factors: FactorRequirement::Any(count),
            ..AuthPolicy::default()
        }
    }

    /// Requires something the user knows (PIN code, circle code), on top of any other factor
    /// type already required (a factor count is replaced by factor types).
    pub fn require_knowledge(mut self) -> Self {
        self.factors = self.factors.with_type(FactorType::Knowledge);
        self
    }

    /// Requires something the user is (fingerprint, face), on top of any other factor type
    /// already required.
    pub fn require_inherence(mut self) -> Self {
        self.factors = self.factors.with_type(FactorType::Inherence);
        self
    }

    /// Requires something the user has (wearables, locations), on top of any other factor
    /// type already required.
    pub fn require_possession(mut self) -> Self {
        self.factors = self.factors.with_type(FactorType::Possession);
        self
    }

    /// Adds a geofence.
    pub fn geofence(mut self, fence: Geofence) -> Self {
        self.geofences.push(fence);
        self
    }

    /// Refuses rooted or jailbroken devices ("device integrity").
    pub fn deny_rooted_jailbroken(mut self) -> Self {
        self.deny_rooted_jailbroken = true;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        match self.factors {
            FactorRequirement::Any(n) if !(1..=3).contains(&n) => {
                return Err(Error::InvalidRequest {
                    field: "policy.any",
                    reason: "factor count must be 1..=3".into(),
                });
            }
            FactorRequirement::Types {
                knowledge: false,
                inherence: false,
                possession: false,
            } => {
                return Err(Error::InvalidRequest {
                    field: "policy.types",
                    reason: "name at least one factor type".into(),
                });
            }
            _ => {}
        }
        self.geofences.iter().try_for_each(Geofence::validate)
    }

    /// The legacy policy object every official SDK sends with a create request.
    pub fn to_wire(&self) -> Value {
        let (any, k, i, p) = match self.factors {
            FactorRequirement::None => (0, false, false, false),
            FactorRequirement::Any(n) => (n, false, false, false),
            FactorRequirement::Types {
                knowledge,
                inherence,
                possession,
            } => (0, knowledge, inherence, possession),
        };
        let minimum = if any == 0 && !k && !i && !p {
            json!([])
        } else {
            json!([{
                "requirement": "authenticated",
                "any": any,
                "knowledge": u8::from(k),
                "inherence": u8::from(i),
                "possession": u8::from(p),
            }])
        };
        let mut factors = Vec::new();
        if !self.geofences.is_empty() {
            let locations: Vec<Value> = self
                .geofences
                .iter()
                .map(|g| {
                    let mut v = json!({"radius": g.radius, "latitude": g.latitude, "longitude": g.longitude});
                    if let (Some(name), Some(obj)) = (&g.name, v.as_object_mut()) {
                        obj.insert("name".into(), Value::String(name.clone()));
                    }
                    v
                })
                .collect();
            factors.push(json!({
                "factor": "geofence",
                "requirement": "forced requirement",
                "quickfail": false,
                "priority": 1,
                "attributes": {"locations": locations},
            }));
        }
        factors.push(json!({
            "factor": "device integrity",
            "requirement": "forced requirement",
            "quickfail": false,
            "priority": 1,
            "attributes": {"factor enabled": u8::from(self.deny_rooted_jailbroken)},
        }));
        json!({"minimum_requirements": minimum, "factors": factors})
    }
}

auth_core::wire_enum! {
    case_insensitive;
    /// The policy requirement a response reports (`auth_policy.requirement`). Matched in any
    /// case, as the official SDK upper-cases it before comparing.
    pub enum PolicyRequirement {
        /// A number of factors (`amount`).
        Amount => "amount",
        /// Specific factor types (`types`).
        Types => "types",
        /// Conditional geofence (`cond_geo`).
        CondGeo => "cond_geo",
    }
}

auth_core::wire_enum! {
    case_insensitive;
    /// A factor type (`KNOWLEDGE`, `INHERENCE`, `POSSESSION`). Matched in any case, as the
    /// official SDK lower-cases it before comparing (`"knowledge"` is
    /// [`FactorType::Knowledge`]).
    pub enum FactorType {
        /// Knowledge.
        Knowledge => "KNOWLEDGE",
        /// Inherence.
        Inherence => "INHERENCE",
        /// Possession.
        Possession => "POSSESSION",
    }
}

/// A fence reported in a response policy.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fence {
    /// A circle (`GEO_CIRCLE`, or the legacy fence without a type).
    Circle {
        /// Name, if any.
        name: Option<String>,
        /// Latitude.
        latitude: f64,
        /// Longitude.
        longitude: f64,
        /// Radius in metres.
        radius: f64,
    },
    /// A territory (`TERRITORY`).
    Territory {
        /// Name, if any.
        name: Option<String>,
        /// ISO country code.
        country: String,
        /// ISO subdivision code.
        administrative_area: Option<String>,
        /// Postal code.
        postal_code: Option<String>,
    },
    /// A fence of a type this crate does not know.
    Other {
        /// The `type` value.
        kind: String,
    },
}

#[derive(Deserialize)]
struct RawFence {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
    #[serde(default)]
    radius: Option<f64>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    administrative_area: Option<String>,
    #[serde(default)]
    postal_code: Option<String>,
}

impl RawFence {
    fn circle<E: serde::de::Error>(self) -> Result<Fence, E> {
        Ok(Fence::Circle {
            name: self.name,
            latitude: self.latitude.ok_or_else(|| E::missing_field("latitude"))?,
            longitude: self
                .longitude
                .ok_or_else(|| E::missing_field("longitude"))?,
            radius: self.radius.ok_or_else(|| E::missing_field("radius"))?,
        })
    }

    fn territory<E: serde::de::Error>(self) -> Result<Fence, E> {
        Ok(Fence::Territory {
            name: self.name,
            country: self.country.ok_or_else(|| E::missing_field("country"))?,
            administrative_area: self.administrative_area,
            postal_code: self.postal_code,
        })
    }
}

/// A fence without a `type` (absent or `null`) is the legacy circle; one that has no
/// coordinates but a `country` is read as the territory it evidently is. The required fields
/// are a circle's `latitude`, `longitude` and `radius` and a territory's `country`.
impl<'de> Deserialize<'de> for Fence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawFence::deserialize(d)?;
        match raw.kind.as_deref() {
            None if raw.latitude.is_none() && raw.country.is_some() => raw.territory(),
            None | Some("GEO_CIRCLE") => raw.circle(),
            Some("TERRITORY") => raw.territory(),
            Some(other) => Ok(Fence::Other {
                kind: other.to_owned(),
            }),
        }
    }
}

/// The policy the device evaluated, as reported in a response (`auth_policy`). Every field may
/// be absent or `null`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[non_exhaustive]
pub struct ResponsePolicy {
    /// What kind of requirement.
    #[serde(default)]
    pub requirement: Option<PolicyRequirement>,
    /// The factor count, for `amount`.
    #[serde(default)]
    pub amount: Option<u32>,
    /// The factor types, for `types` (absent or `null`: none).
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub types: Vec<FactorType>,
    /// The fences (absent or `null`: none).
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub geofences: Vec<Fence>,
}

impl ResponsePolicy {
    /// Whether knowledge was required.
    pub fn knowledge_required(&self) -> bool {
        self.types.contains(&FactorType::Knowledge)
    }
    /// Whether inherence was required.
    pub fn inherence_required(&self) -> bool {
        self.types.contains(&FactorType::Inherence)
    }
    /// Whether possession was required.
    pub fn possession_required(&self) -> bool {
        self.types.contains(&FactorType::Possession)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_wire_shape() {
        let p = AuthPolicy::factor_count(2).deny_rooted_jailbroken();
        assert_eq!(
            p.to_wire(),
            json!({"minimum_requirements":[{"requirement":"authenticated","any":2,"knowledge":0,"inherence":0,"possession":0}],
                   "factors":[{"factor":"device integrity","requirement":"forced requirement","quickfail":false,"priority":1,"attributes":{"factor enabled":1}}]})
        );
        let p = AuthPolicy::new()
            .require_knowledge()
            .require_possession()
            .geofence(Geofence::new(1.5, 2.5, 100.0).named("hq"));
        let w = p.to_wire();
        assert_eq!(w["minimum_requirements"][0]["knowledge"], 1);
        assert_eq!(w["minimum_requirements"][0]["possession"], 1);
        assert_eq!(w["minimum_requirements"][0]["any"], 0);
        assert_eq!(
            w["factors"][0]["attributes"]["locations"][0],
            json!({"radius":100.0,"latitude":1.5,"longitude":2.5,"name":"hq"})
        );
        assert_eq!(w["factors"][1]["attributes"]["factor enabled"], 0);
        assert_eq!(
            AuthPolicy::new().to_wire()["minimum_requirements"],
            json!([])
        );
    }

    #[test]
    fn validation() {
        assert!(AuthPolicy::factor_count(0).validate().is_err());
        assert!(AuthPolicy::factor_count(4).validate().is_err());
        let mut none = AuthPolicy::new();
        none.factors = FactorRequirement::Types {
            knowledge: false,
            inherence: false,
            possession: false,
        };
        assert!(none.validate().is_err());
        // Factor types add up; a factor count gives way to them.
        assert_eq!(
            AuthPolicy::factor_count(2)
                .require_inherence()
                .require_knowledge()
                .factors,
            FactorRequirement::Types {
                knowledge: true,
                inherence: true,
                possession: false
            }
        );
        assert!(
            AuthPolicy::new()
                .geofence(Geofence::new(91.0, 0.0, 1.0))
                .validate()
                .is_err()
        );
        assert!(
            AuthPolicy::new()
                .geofence(Geofence::new(0.0, 181.0, 1.0))
                .validate()
                .is_err()
        );
        assert!(
            AuthPolicy::new()
                .geofence(Geofence::new(0.0, 0.0, 0.0))
                .validate()
                .is_err()
        );
        assert!(
            AuthPolicy::new()
                .geofence(Geofence::new(f64::NAN, 0.0, 1.0))
                .validate()
                .is_err()
        );
        assert!(
            AuthPolicy::factor_count(3)
                .geofence(Geofence::new(0.0, 0.0, 1.0))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn response_policy_parses_all_fence_kinds() {
        let p: ResponsePolicy = serde_json::from_value(json!({
            "requirement": "types", "amount": 0, "types": ["KNOWLEDGE", "POSSESSION", "PSYCHIC"],
            "geofences": [
                {"name": "a", "latitude": 1.0, "longitude": 2.0, "radius": 3.0},
                {"type": "GEO_CIRCLE", "name": "b", "latitude": 1.0, "longitude": 2.0, "radius": 3.0},
                {"type": "TERRITORY", "name": "c", "country": "US", "administrative_area": "US-NV", "postal_code": "89169"},
                {"type": "MOON"}
            ]
        })).unwrap();
        assert_eq!(p.requirement, Some(PolicyRequirement::Types));
        assert!(p.knowledge_required() && p.possession_required() && !p.inherence_required());
        assert_eq!(p.types[2], FactorType::Other("PSYCHIC".into()));
        assert_eq!(p.geofences.len(), 4);
        assert!(matches!(p.geofences[2], Fence::Territory { .. }));
        assert!(matches!(p.geofences[3], Fence::Other { .. }));
    }

    /// The official SDK lower-cases factor types and upper-cases the requirement before
    /// comparing: lower- or mixed-case platform data means the same.
    #[test]
    fn factor_types_and_requirement_match_in_any_case() {
        let p: ResponsePolicy = serde_json::from_value(json!({
            "requirement": "TYPES", "types": ["knowledge", "Inherence", "possession"]
        }))
        .unwrap();
        assert_eq!(p.requirement, Some(PolicyRequirement::Types));
        assert!(p.knowledge_required() && p.inherence_required() && p.possession_required());
        assert_eq!(p.types[0].as_str(), "KNOWLEDGE");
        let p: ResponsePolicy =
            serde_json::from_value(json!({"requirement": "Cond_Geo", "types": ["telepathy"]}))
                .unwrap();
        assert_eq!(p.requirement, Some(PolicyRequirement::CondGeo));
        assert_eq!(p.types, [FactorType::Other("telepathy".into())]);
    }

    /// `null` lists and fields are the same as absent; an untyped fence with a country is a
    /// territory, one with coordinates a circle.
    #[test]
    fn nulls_are_absent_and_untyped_fences_are_recognised() {
        let p: ResponsePolicy = serde_json::from_value(json!({
            "requirement": null, "amount": null, "types": null, "geofences": null
        }))
        .unwrap();
        assert_eq!(p, ResponsePolicy::default());
        let p: ResponsePolicy = serde_json::from_value(json!({"geofences": [
            {"type": null, "name": null, "latitude": 1.0, "longitude": 2.0, "radius": 3.0},
            {"type": null, "country": "US", "postal_code": null},
        ]}))
        .unwrap();
        assert!(matches!(p.geofences[0], Fence::Circle { name: None, .. }));
        assert!(matches!(&p.geofences[1], Fence::Territory { country, .. } if country == "US"));
        let err = serde_json::from_value::<ResponsePolicy>(json!({"geofences": [{"name": "x"}]}))
            .unwrap_err();
        assert!(err.to_string().contains("latitude"), "{err}");
    }
}
