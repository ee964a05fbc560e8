//! The emulated tenant's rules: what a tracked action gets decided as.
//!
//! As JSON (the `set_rules` control command), a rule is
//! `{"id", "action"?, "name"?, "outcome": "ALLOW"|"CHALLENGE"|"REVIEW"|"BLOCK",
//! "when"?: "always" | "new_device" | {"ip_address": s} | {"custom_equals": [k, v]} |
//! {"custom_greater_than": [k, n]}}`.

use auth_core::emulator::ControlError;
use serde_json::{Value, json};

/// What a rule decides when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RuleOutcome {
    /// Allow.
    Allow,
    /// Challenge (enrolled users only; others are allowed).
    Challenge,
    /// Manual review.
    Review,
    /// Block.
    Block,
}

/// When a rule matches.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Condition {
    /// Always.
    Always,
    /// The tracked `ipAddress` equals this.
    IpAddress(String),
    /// `custom[key]` equals the value.
    CustomEquals(String, Value),
    /// `custom[key]` is a number greater than the value.
    CustomGreaterThan(String, f64),
    /// A `deviceId` was given that the user has not used before (or that was invalidated).
    NewDevice,
}

/// A rule of the emulated tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) action: Option<String>,
    pub(crate) condition: Condition,
    pub(crate) outcome: RuleOutcome,
}

impl Rule {
    /// A rule for every action that always matches.
    pub fn new(id: impl Into<String>, outcome: RuleOutcome) -> Self {
        let id = id.into();
        Rule {
            name: format!("rule {id}"),
            id,
            action: None,
            condition: Condition::Always,
            outcome,
        }
    }

    /// Only for this action code.
    pub fn for_action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// Only when `condition` holds.
    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = condition;
        self
    }

    /// A display name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

impl RuleOutcome {
    fn wire(self) -> &'static str {
        match self {
            RuleOutcome::Allow => "ALLOW",
            RuleOutcome::Challenge => "CHALLENGE",
            RuleOutcome::Review => "REVIEW",
            RuleOutcome::Block => "BLOCK",
        }
    }

    fn from_wire(s: &str) -> Option<Self> {
        Some(match s {
            "ALLOW" => RuleOutcome::Allow,
            "CHALLENGE" => RuleOutcome::Challenge,
            "REVIEW" => RuleOutcome::Review,
            "BLOCK" => RuleOutcome::Block,
            _ => return None,
        })
    }
}

impl Rule {
    /// The rule as the `set_rules` control command writes it.
    pub fn to_json(&self) -> Value {
        let when = match &self.condition {
            Condition::Always => json!("always"),
            Condition::NewDevice => json!("new_device"),
            Condition::IpAddress(ip) => json!({"ip_address": ip}),
            Condition::CustomEquals(k, v) => json!({"custom_equals": [k, v]}),
            Condition::CustomGreaterThan(k, n) => json!({"custom_greater_than": [k, n]}),
        };
        json!({
            "id": self.id,
            "name": self.name,
            "action": self.action,
            "outcome": self.outcome.wire(),
            "when": when,
        })
    }

    /// Reads a rule as the `set_rules` control command gives it.
    pub fn from_json(v: &Value) -> Result<Rule, ControlError> {
        let bad = |m: &str| ControlError::Invalid(format!("rule: {m}"));
        let id = v
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| bad("`id` is missing"))?;
        let outcome = v
            .get("outcome")
            .and_then(Value::as_str)
            .and_then(RuleOutcome::from_wire)
            .ok_or_else(|| bad("`outcome` is ALLOW, CHALLENGE, REVIEW or BLOCK"))?;
        let mut rule = Rule::new(id, outcome);
        match v.get("action") {
            None | Some(Value::Null) => {}
            Some(Value::String(a)) => rule = rule.for_action(a.as_str()),
            Some(_) => return Err(bad("`action` is an action code")),
        }
        match v.get("name") {
            None | Some(Value::Null) => {}
            Some(Value::String(n)) => rule = rule.named(n.as_str()),
            Some(_) => return Err(bad("`name` is a string")),
        }
        let pair = |o: &serde_json::Map<String, Value>, k: &str| -> Option<(String, Value)> {
            match o.get(k)?.as_array()?.as_slice() {
                [Value::String(key), value] => Some((key.clone(), value.clone())),
                _ => None,
            }
        };
        let condition = match v.get("when") {
            None | Some(Value::Null) => Condition::Always,
            Some(Value::String(s)) if s == "always" => Condition::Always,
            Some(Value::String(s)) if s == "new_device" => Condition::NewDevice,
            Some(Value::Object(o)) => {
                if let Some(ip) = o.get("ip_address").and_then(Value::as_str) {
                    Condition::IpAddress(ip.to_owned())
                } else if let Some((k, value)) = pair(o, "custom_equals") {
                    Condition::CustomEquals(k, value)
                } else if let Some((k, n)) = pair(o, "custom_greater_than") {
                    let n = n
                        .as_f64()
                        .ok_or_else(|| bad("`custom_greater_than` compares with a number"))?;
                    Condition::CustomGreaterThan(k, n)
                } else {
                    return Err(bad("unknown `when`"));
                }
            }
            Some(_) => return Err(bad("unknown `when`")),
        };
        Ok(rule.when(condition))
    }

    /// Whether the rule applies to a track of `code` with these inputs.
    pub(crate) fn matches(
        &self,
        code: &str,
        ip: Option<&str>,
        custom: &serde_json::Map<String, Value>,
        new_device: bool,
    ) -> bool {
        if self.action.as_deref().is_some_and(|a| a != code) {
            return false;
        }
        match &self.condition {
            Condition::Always => true,
            Condition::IpAddress(want) => ip == Some(want.as_str()),
            Condition::CustomEquals(k, v) => custom.get(k) == Some(v),
            Condition::CustomGreaterThan(k, v) => custom
                .get(k)
                .and_then(Value::as_f64)
                .is_some_and(|x| x > *v),
            Condition::NewDevice => new_device,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_round_trip_through_json() {
        let rules = [
            Rule::new("a", RuleOutcome::Allow),
            Rule::new("b", RuleOutcome::Challenge)
                .for_action("withdraw")
                .named("Big withdrawals")
                .when(Condition::CustomGreaterThan("amount".into(), 1000.0)),
            Rule::new("c", RuleOutcome::Review).when(Condition::IpAddress("203.0.113.7".into())),
            Rule::new("d", RuleOutcome::Block)
                .when(Condition::CustomEquals("country".into(), json!("XX"))),
            Rule::new("e", RuleOutcome::Challenge).when(Condition::NewDevice),
        ];
        for r in &rules {
            assert_eq!(&Rule::from_json(&r.to_json()).unwrap(), r);
        }
        for bad in [
            json!({"outcome": "ALLOW"}),
            json!({"id": "x", "outcome": "MAYBE"}),
            json!({"id": "x", "outcome": "ALLOW", "when": "sometimes"}),
            json!({"id": "x", "outcome": "ALLOW", "when": {"custom_greater_than": ["k", "n"]}}),
            json!({"id": "x", "outcome": "ALLOW", "action": 5}),
        ] {
            assert!(
                matches!(Rule::from_json(&bad), Err(ControlError::Invalid(_))),
                "{bad}"
            );
        }
    }
}
