//! Permission names resolved against what each resource publishes in this tenant
//! (`appRoles`, `oauth2PermissionScopes`); Microsoft's documented ids are a cross-check.

use uuid::Uuid;

use super::PlanError;
use crate::config::Desired;
use crate::graph::models::ServicePrincipal;
use crate::live::LiveState;
use crate::well_known;

/// The config's permissions with ids, per resource.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub resources: Vec<ResolvedResource>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ResolvedResource {
    /// As the config names it, or the service principal's display name.
    pub name: String,
    /// For addresses: `microsoft-graph`.
    pub slug: String,
    pub app_id: String,
    pub service_principal_id: String,
    /// (value, id) of delegated permissions (`Scope`).
    pub delegated: Vec<(String, Uuid)>,
    /// (value, id) of application permissions (`Role`).
    pub application: Vec<(String, Uuid)>,
    pub admin_consent: bool,
}

impl Resolved {
    /// The resource with this service principal id.
    pub fn by_service_principal(&self, id: &str) -> Option<&ResolvedResource> {
        self.resources.iter().find(|r| r.service_principal_id == id)
    }
}

pub fn resolve(desired: &Desired, live: &LiveState) -> Result<Resolved, PlanError> {
    let mut resolved = Resolved::default();
    for (permission, service_principal) in desired.permissions.iter().zip(&live.resources) {
        let app_id = permission.resource_app_id.to_string();
        let name = permission.resource_name.clone().unwrap_or_else(|| {
            service_principal
                .as_ref()
                .and_then(|sp| sp.display_name.clone())
                .unwrap_or_else(|| app_id.clone())
        });
        let Some(sp) = service_principal else {
            return Err(PlanError::ResourceNotInTenant {
                resource: name,
                app_id,
            });
        };
        let delegated = permission
            .delegated
            .iter()
            .map(|value| find(sp, &name, value, true))
            .collect::<Result<Vec<_>, _>>()?;
        let application = permission
            .application
            .iter()
            .map(|value| find(sp, &name, value, false))
            .collect::<Result<Vec<_>, _>>()?;
        for (value, id, delegated_kind) in delegated
            .iter()
            .map(|(v, id)| (v, id, true))
            .chain(application.iter().map(|(v, id)| (v, id, false)))
        {
            if let Some(documented) =
                well_known::documented_permission_id(&app_id, value, delegated_kind)
            {
                if documented != id.to_string() {
                    resolved.warnings.push(format!(
                        "{name} publishes `{value}` with id {id}, but Microsoft documents {documented}; using the tenant's"
                    ));
                }
            }
        }
        resolved.resources.push(ResolvedResource {
            slug: super::slug(&name),
            name,
            app_id,
            service_principal_id: sp.id.clone().unwrap_or_default(),
            delegated,
            application,
            admin_consent: permission.admin_consent,
        });
    }
    Ok(resolved)
}

/// The id of `value` among `sp`'s delegated (or application) permissions.
fn find(
    sp: &ServicePrincipal,
    resource: &str,
    value: &str,
    delegated: bool,
) -> Result<(String, Uuid), PlanError> {
    let published: Vec<(String, Uuid)> = if delegated {
        sp.oauth2_permission_scopes
            .iter()
            .flatten()
            .filter(|s| s.is_enabled != Some(false))
            .filter_map(|s| Some((s.value.clone()?, s.id?)))
            .collect()
    } else {
        sp.app_roles
            .iter()
            .flatten()
            .filter(|r| r.is_enabled != Some(false))
            .filter(|r| {
                r.allowed_member_types
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|m| m == "Application"))
            })
            .filter_map(|r| Some((r.value.clone()?, r.id?)))
            .collect()
    };
    let exact = published.iter().find(|(v, _)| v == value);
    let folded = || {
        let matches: Vec<_> = published
            .iter()
            .filter(|(v, _)| v.eq_ignore_ascii_case(value))
            .collect();
        (matches.len() == 1).then(|| matches[0])
    };
    if let Some((published_value, id)) = exact.or_else(folded) {
        return Ok((published_value.clone(), *id));
    }
    Err(PlanError::UnknownPermission {
        resource: resource.to_string(),
        kind: if delegated {
            "delegated"
        } else {
            "application"
        },
        name: value.to_string(),
        suggestions: closest(value, published.iter().map(|(v, _)| v.as_str())),
    })
}

/// Up to three published names closest to `wanted`.
fn closest<'a>(wanted: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    let wanted_lower = wanted.to_lowercase();
    let limit = (wanted.len() / 3).max(3);
    let mut scored: Vec<(usize, &str)> = candidates
        .map(|c| (strsim::levenshtein(&wanted_lower, &c.to_lowercase()), c))
        .filter(|(distance, _)| *distance <= limit)
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| c.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_names_are_suggested() {
        let published = [
            "IMAP.AccessAsUser.All",
            "POP.AccessAsUser.All",
            "SMTP.Send",
            "User.Read",
        ];
        assert_eq!(
            closest("IMAP.AccesAsUser.All", published.into_iter()),
            vec!["IMAP.AccessAsUser.All", "POP.AccessAsUser.All"]
        );
        assert!(closest("Completely.Different", published.into_iter()).is_empty());
    }
}
