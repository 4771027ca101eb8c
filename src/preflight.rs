//! Preflight: before anything is read or written, check that the token is for the config's
//! tenant and holds the permissions this config needs, least privileged first, and say
//! exactly what to grant when it does not. The token's claims are decoded, not trusted:
//! this only predicts Graph's 403s, it decides nothing about security.

use serde::Serialize;
use serde_json::Value;

use crate::config::Desired;
use crate::graph::Claims;

/// A directory role: its template id (as in a token's `wids`) and its name.
pub type DirectoryRole = (&'static str, &'static str);

/// Directory roles a signed-in user needs for Conditional Access writes, by template id.
const CONDITIONAL_ACCESS_ROLES: &[DirectoryRole] = &[
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
    (
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "Conditional Access Administrator",
    ),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
    ),
];

/// What reading who has registered a multi-factor method needs. Not required: without it,
/// plan says it could not check.
pub const MFA_REPORT_PERMISSION: &str = "AuditLog.Read.All";

/// What reading the tenant's licences (`GET /subscribedSkus`) needs, least privileged. Not
/// required: without it, plan warns and apply writes the policy before the rest.
pub const LICENCE_PERMISSION: &str = "LicenseAssignment.Read.All";

/// One thing the run will do, and the permission sets that allow it (first = least privileged).
#[derive(Debug, Clone, Serialize)]
pub struct Need {
    pub operation: &'static str,
    pub any_of: Vec<Vec<&'static str>>,
    /// The run goes on without it, doing less (and saying what it could not do).
    pub optional: bool,
    /// Directory roles a signed-in user must hold besides the permissions, any one of them:
    /// Graph checks both for some writes (Conditional Access). Empty: the permissions do.
    pub user_roles: &'static [DirectoryRole],
}

impl Need {
    /// This need, also requiring a signed-in user to hold one of `roles`.
    fn for_users_in(self, roles: &'static [DirectoryRole]) -> Self {
        Need {
            user_roles: roles,
            ..self
        }
    }
}

/// A need the run cannot go on without: `operation` is allowed by any one of the
/// permission sets `any_of`, least privileged first.
pub fn need(operation: &'static str, any_of: &[&[&'static str]]) -> Need {
    Need {
        operation,
        any_of: any_of.iter().map(|set| set.to_vec()).collect(),
        optional: false,
        user_roles: &[],
    }
}

/// A need the run goes on without, doing less.
pub fn optional(operation: &'static str, any_of: &[&[&'static str]]) -> Need {
    Need {
        optional: true,
        ..need(operation, any_of)
    }
}

/// What the app registration, its secrets and its consent need of Microsoft Graph.
pub fn app_needs(desired: &Desired) -> Vec<Need> {
    let mut needs = vec![
        need(
            "create and update the app registration and its secrets",
            &[
                &["Application.ReadWrite.All"],
                &["Application.ReadWrite.OwnedBy"],
            ],
        ),
        need(
            "read the permissions Microsoft Graph and other resources publish",
            &[
                &["Application.Read.All"],
                &["Application.ReadWrite.All"],
                &["Application.ReadWrite.OwnedBy"],
                &["Directory.Read.All"],
            ],
        ),
    ];
    let consented = desired.permissions.iter().filter(|p| p.admin_consent);
    let (application, delegated): (Vec<_>, Vec<_>) = consented
        .map(|p| (!p.application.is_empty(), !p.delegated.is_empty()))
        .unzip();
    if application.contains(&true) {
        needs.push(need(
            "grant admin consent to application permissions",
            &[
                &["AppRoleAssignment.ReadWrite.All", "Application.Read.All"],
                &[
                    "AppRoleAssignment.ReadWrite.All",
                    "Application.ReadWrite.All",
                ],
                &["AppRoleAssignment.ReadWrite.All", "Directory.Read.All"],
            ],
        ));
    }
    if delegated.contains(&true) {
        needs.push(need(
            "grant admin consent to delegated permissions",
            &[
                &["DelegatedPermissionGrant.ReadWrite.All"],
                &["Directory.ReadWrite.All"],
            ],
        ));
    }
    needs
}

/// What the Conditional Access policy needs of Microsoft Graph.
pub fn conditional_access_needs(desired: &Desired) -> Vec<Need> {
    let Some(policy) = &desired.conditional_access else {
        return Vec::new();
    };
    let mut needs = Vec::new();
    {
        needs.push(need(
            "read Conditional Access policies and security defaults",
            &[&["Policy.Read.All"]],
        ));
        let names_apps = policy
            .target_apps
            .iter()
            .any(|a| uuid::Uuid::parse_str(a).is_ok());
        if names_apps {
            needs.push(
                need(
                    "write a Conditional Access policy that names apps",
                    &[
                        &[
                            "Policy.ReadWrite.ConditionalAccess",
                            "Policy.Read.All",
                            "Application.Read.All",
                        ],
                        &[
                            "Policy.ReadWrite.ConditionalAccess",
                            "Policy.Read.All",
                            "Application.ReadWrite.All",
                        ],
                    ],
                )
                .for_users_in(CONDITIONAL_ACCESS_ROLES),
            );
        } else {
            needs.push(
                need(
                    "write the Conditional Access policy",
                    &[&["Policy.ReadWrite.ConditionalAccess", "Policy.Read.All"]],
                )
                .for_users_in(CONDITIONAL_ACCESS_ROLES),
            );
        }
        if !policy.pilot_groups.is_empty() || !policy.emergency_access_groups.is_empty() {
            needs.push(need(
                "resolve group names and members",
                &[
                    &["GroupMember.Read.All"],
                    &["Group.Read.All"],
                    &["Directory.Read.All"],
                ],
            ));
        }
        if policy
            .pilot_users
            .iter()
            .chain(&policy.emergency_access_users)
            .any(|u| u.contains('@'))
        {
            needs.push(need(
                "resolve user names",
                &[
                    &["User.ReadBasic.All"],
                    &["User.Read.All"],
                    &["Directory.Read.All"],
                ],
            ));
        }
        if !policy.emergency_access_users.is_empty() || !policy.emergency_access_groups.is_empty() {
            needs.push(need(
                "check that emergency-access accounts may sign in",
                &[&["User.Read.All"], &["Directory.Read.All"]],
            ));
        }
        needs.push(optional(
            "check the tenant's Entra ID P1 licence before anything is written",
            &[
                &[LICENCE_PERMISSION],
                &["Organization.Read.All"],
                &["Directory.Read.All"],
            ],
        ));
        needs.push(optional(
            "list pilot members with no multi-factor method registered",
            &[&[MFA_REPORT_PERMISSION]],
        ));
        needs.push(optional(
            "name directory roles, and tell which policies reach emergency-access accounts through them",
            &[&["RoleManagement.Read.Directory"], &["Directory.Read.All"]],
        ));
    }
    needs
}

/// The delegated scopes device code sign-in asks for: the least-privileged set of each need.
pub fn delegated_scopes(needs: &[Need]) -> Vec<String> {
    let mut scopes: Vec<String> = needs
        .iter()
        // Application.ReadWrite.OwnedBy exists only as an application permission.
        .filter_map(|n| {
            n.any_of
                .iter()
                .find(|set| !set.contains(&"Application.ReadWrite.OwnedBy"))
        })
        .flatten()
        .map(|scope| scope.to_string())
        .collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

/// Who the token says we are, and what it may do.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tenant_id: String,
    /// `app` (client credentials) or `user` (delegated).
    pub kind: &'static str,
    pub identity: String,
    pub app_id: String,
    pub permissions: Vec<String>,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub operation: &'static str,
    /// Not needed for the run to go on.
    pub optional: bool,
    pub satisfied_by: Option<Vec<String>>,
    /// What to grant when it is not.
    pub fix: Option<String>,
}

impl Report {
    pub fn missing(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| c.satisfied_by.is_none() && !c.optional)
            .collect()
    }

    /// One message listing everything to grant.
    pub fn missing_message(&self) -> Option<String> {
        let missing = self.missing();
        if missing.is_empty() {
            return None;
        }
        let lines: Vec<String> = missing
            .iter()
            .map(|c| {
                format!(
                    "  - to {}: {}",
                    c.operation,
                    c.fix.clone().unwrap_or_default()
                )
            })
            .collect();
        Some(format!(
            "the {} {} lacks permissions this config needs, so nothing was read or written:\n{}",
            if self.kind == "user" {
                "signed-in user"
            } else {
                "app"
            },
            self.identity,
            lines.join("\n")
        ))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PreflightError {
    #[error("the access token is for tenant {token_tenant}, but {config} is for tenant {config_tenant}; sign in to the tenant the config names")]
    WrongTenant {
        token_tenant: String,
        config_tenant: String,
        config: String,
    },
    #[error("{0}")]
    Missing(String),
}

/// Compares the token's claims with what `desired` needs.
pub fn report(desired: &Desired, needs: &[Need], claims: &Value) -> Result<Report, PreflightError> {
    let claims = Claims::new(claims);
    let text = |key: &str| claims.text(key).unwrap_or_default().to_string();
    let tenant = text("tid");
    if !tenant.eq_ignore_ascii_case(&desired.tenant_id.to_string()) {
        return Err(PreflightError::WrongTenant {
            token_tenant: if tenant.is_empty() {
                "(none)".into()
            } else {
                tenant
            },
            config_tenant: desired.tenant_id.to_string(),
            config: desired.source.display().to_string(),
        });
    }
    let delegated = claims.delegated();
    let permissions = claims.permissions();
    let app_id = text("appid");
    let identity = if delegated {
        text("upn")
    } else {
        claims
            .text("app_displayname")
            .map_or_else(|| app_id.clone(), String::from)
    };
    let holds = |p: &str| permissions.iter().any(|h| h.eq_ignore_ascii_case(p));
    let roles = claims.directory_roles();
    let mut checks = Vec::new();
    for need in needs {
        let usable: Vec<&Vec<&str>> = need
            .any_of
            .iter()
            .filter(|set| !(delegated && set.contains(&"Application.ReadWrite.OwnedBy")))
            .collect();
        let satisfied = usable
            .iter()
            .find(|set| set.iter().all(|p| holds(p)))
            .map(|set| set.iter().map(|p| p.to_string()).collect::<Vec<_>>());
        let role_missing = delegated
            && !need.user_roles.is_empty()
            && !roles
                .iter()
                .any(|r| need.user_roles.iter().any(|(id, _)| id == r));
        let fix = match (&satisfied, role_missing) {
            (Some(_), false) => None,
            (Some(_), true) => Some(format!(
                "the signed-in user needs the {} role",
                need.user_roles
                    .iter()
                    .map(|(_, n)| *n)
                    .collect::<Vec<_>>()
                    .join(", or ")
            )),
            (None, _) => {
                let least = usable
                    .first()
                    .map(|set| {
                        set.iter()
                            .filter(|p| !holds(p))
                            .copied()
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                Some(if delegated {
                    format!(
                        "the token lacks the delegated permission{} {}; sign in with --auth device-code, which asks for exactly what this config needs (an admin consents once)",
                        if least.len() == 1 { "" } else { "s" },
                        least.join(" and ")
                    )
                } else {
                    format!(
                        "grant the Microsoft Graph application permission{} {} to app {app_id} (Entra admin center: App registrations > {app_id} > API permissions > Add a permission > Microsoft Graph > Application permissions), then grant admin consent",
                        if least.len() == 1 { "" } else { "s" },
                        least.join(" and ")
                    )
                })
            }
        };
        checks.push(Check {
            operation: need.operation,
            optional: need.optional,
            satisfied_by: if role_missing { None } else { satisfied },
            fix,
        });
    }
    Ok(Report {
        tenant_id: desired.tenant_id.to_string(),
        kind: if delegated { "user" } else { "app" },
        identity,
        app_id,
        permissions,
        checks,
    })
}

/// The preflight of `plan` and `apply`: an error before anything is read or written.
pub fn check(desired: &Desired, needs: &[Need], claims: &Value) -> Result<Report, PreflightError> {
    let report = report(desired, needs, claims)?;
    match report.missing_message() {
        Some(message) => Err(PreflightError::Missing(message)),
        None => Ok(report),
    }
}
