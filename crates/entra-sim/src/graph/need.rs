//! Least-privileged permission sets per operation (src/data/calls.json).
//! Each inner list must be held whole; any one list suffices.

pub const APP_READ: &[&[&str]] = &[
    &["Application.Read.All"],
    &["Application.ReadWrite.All"],
    &["Application.ReadWrite.OwnedBy"],
    &["Directory.Read.All"],
    &["Directory.ReadWrite.All"],
];
pub const APP_CREATE: &[&[&str]] = &[
    &["AppRegistration.Create"],
    &["Application.ReadWrite.OwnedBy"],
    &["Application.ReadWrite.All"],
];
pub const APP_WRITE: &[&[&str]] = &[
    &["Application.ReadWrite.OwnedBy"],
    &["Application.ReadWrite.All"],
];
pub const SP_WRITE: &[&[&str]] = &[
    &["Application.ReadWrite.OwnedBy"],
    &["Application.ReadWrite.All"],
    &["Directory.ReadWrite.All"],
];
pub const ASSIGNMENT_WRITE: &[&[&str]] = &[
    &["AppRoleAssignment.ReadWrite.All", "Application.Read.All"],
    &[
        "AppRoleAssignment.ReadWrite.All",
        "Application.ReadWrite.All",
    ],
    &["AppRoleAssignment.ReadWrite.All", "Directory.Read.All"],
];
pub const GRANT_READ: &[&[&str]] = &[
    &["Directory.Read.All"],
    &["DelegatedPermissionGrant.ReadWrite.All"],
    &["Directory.ReadWrite.All"],
];
pub const GRANT_WRITE: &[&[&str]] = &[
    &["DelegatedPermissionGrant.ReadWrite.All"],
    &["Directory.ReadWrite.All"],
];
/// Reading groups (group-list, group-get: the read-write permissions read too).
pub const GROUP_READ: &[&[&str]] = &[
    &["Group.ReadBasic.All"],
    &["GroupMember.Read.All"],
    &["Group.Read.All"],
    &["Directory.Read.All"],
    &["GroupMember.ReadWrite.All"],
    &["Group.ReadWrite.All"],
    &["Directory.ReadWrite.All"],
];
/// Creating, updating and deleting groups (group-upsert, group-update, group-delete).
pub const GROUP_WRITE: &[&[&str]] = &[&["Group.ReadWrite.All"], &["Directory.ReadWrite.All"]];
/// Adding and removing direct members (group-post-members, group-delete-members).
pub const GROUP_MEMBER_WRITE: &[&[&str]] = &[
    &["GroupMember.ReadWrite.All"],
    &["Group.ReadWrite.All"],
    &["Directory.ReadWrite.All"],
];
pub const USER_READ: &[&[&str]] = &[
    &["User.ReadBasic.All"],
    &["User.Read.All"],
    &["Directory.Read.All"],
];
pub const POLICY_READ: &[&[&str]] = &[&["Policy.Read.All"]];
pub const CA_WRITE: &[&[&str]] = &[
    &["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"],
    &["Application.Read.All", "Policy.ReadWrite.ConditionalAccess"],
];
pub const CA_DELETE: &[&[&str]] = &[&["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"]];
/// Listing a group's members, direct or transitive (group-list-transitivemembers).
pub const GROUP_MEMBER_READ: &[&[&str]] = &[
    &["GroupMember.Read.All"],
    &["Group.Read.All"],
    &["Group.ReadWrite.All"],
    &["GroupMember.ReadWrite.All"],
    &["Directory.Read.All"],
];
/// Another user's memberships (user-list-transitivememberof; apps only have this table).
pub const MEMBER_OF_READ: &[&[&str]] = &[
    &["User.Read.All"],
    &["GroupMember.Read.All"],
    &["Group.Read.All"],
    &["Directory.Read.All"],
    &["Directory.ReadWrite.All"],
];
/// Directory role definitions (rbacapplication-list-roledefinitions).
pub const ROLE_DEFINITION_READ: &[&[&str]] = &[
    &["RoleManagement.Read.Directory"],
    &["Directory.Read.All"],
    &["RoleManagement.ReadWrite.Directory"],
    &["Directory.ReadWrite.All"],
];
/// The authentication methods registration report (no higher permission exists).
pub const REGISTRATION_REPORT_READ: &[&[&str]] = &[&["AuditLog.Read.All"]];
/// The tenant's subscriptions (subscribedsku-list: LicenseAssignment.Read.All least).
pub const LICENCE_READ: &[&[&str]] = &[
    &["LicenseAssignment.Read.All"],
    &["Organization.Read.All"],
    &["Organization.ReadWrite.All"],
    &["Directory.Read.All"],
    &["Directory.ReadWrite.All"],
];
/// The organization (organization-list.md: User.Read least for a user, Organization.Read.All
/// for an app).
pub const ORGANIZATION_READ: &[&[&str]] = &[
    &["Organization.Read.All"],
    &["Directory.Read.All"],
    &["Organization.ReadWrite.All"],
    &["Directory.ReadWrite.All"],
    &["User.Read"],
];
/// The tenant's domains (domain-list.md, domain-get.md).
pub const DOMAIN_READ: &[&[&str]] = &[
    &["Domain.Read.All"],
    &["Domain.ReadWrite.All"],
    &["Directory.Read.All"],
    &["Directory.ReadWrite.All"],
];
