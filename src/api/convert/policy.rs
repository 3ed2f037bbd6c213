//! The request's policy: a shipped profile with the request's overrides and limits, each bad one
//! reported at its own field path; overrides valid together are accepted in any order.

use crate::api::proto as pb;
use crate::domain::policy::{ConfigError, Policy};

use super::violations::Violations;

pub(super) fn convert_policy(v: &mut Violations, policy: Option<pb::Policy>) -> (Option<Policy>, String) {
    let pb::Policy {
        profile,
        overrides,
        time_limit_seconds,
        relative_gap,
    } = policy.unwrap_or_default();
    let profile = if profile.is_empty() {
        "default".to_string()
    } else {
        profile
    };
    let base = match Policy::shipped(&profile) {
        Ok(p) => p,
        Err(e) => {
            v.add("policy.profile", e.to_string());
            return (None, profile);
        }
    };
    // (key, value, field path): the overrides in key order, then the explicit limits, which win
    // over an override of the same key.
    let mut entries: Vec<(String, f64, String)> = overrides
        .into_iter()
        .map(|(key, value)| {
            let field = format!("policy.overrides[{key}]");
            (key, value, field)
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(t) = time_limit_seconds {
        entries.push((
            "solver.time_limit_seconds".into(),
            t,
            "policy.time_limit_seconds".into(),
        ));
    }
    if let Some(g) = relative_gap {
        entries.push(("solver.relative_gap".into(), g, "policy.relative_gap".into()));
    }
    // Each value on its own: the key exists, the value fits its type and its own range. A
    // relation between values (booking_days <= confirming_days) is judged only on the whole set,
    // so that overrides valid together are accepted whatever their order.
    let mut ok = true;
    for (key, value, field) in &entries {
        let single = base.apply_overrides([(key.as_str(), *value)]);
        let problem = match single {
            Err(e) => Some(e),
            Ok(p) => match p.validate() {
                Err(ConfigError::OutOfRange { key: bad, message }) if bad == *key => {
                    Some(ConfigError::OutOfRange { key: bad, message })
                }
                _ => None,
            },
        };
        if let Some(e) = problem {
            v.add(field.clone(), e.to_string());
            ok = false;
        }
    }
    if !ok {
        return (None, profile);
    }
    let policy = base
        .apply_overrides(entries.iter().map(|(k, value, _)| (k.as_str(), *value)))
        .and_then(|p| p.validate().map(|()| p));
    match policy {
        Ok(p) => (Some(p), profile),
        Err(e) => {
            // A relation between values is broken: name every override that takes part in it.
            let (bad_key, message) = match &e {
                ConfigError::OutOfRange { key, message } => (key.clone(), message.clone()),
                other => (String::new(), other.to_string()),
            };
            let mut named = false;
            for (key, _, field) in &entries {
                let part = !bad_key.is_empty()
                    && (*key == bad_key
                        || key.starts_with(&format!("{bad_key}."))
                        || message.contains(key.as_str()));
                if part {
                    v.add(field.clone(), e.to_string());
                    named = true;
                }
            }
            if !named {
                v.add("policy.overrides", e.to_string());
            }
            (None, profile)
        }
    }
}
