//! The simulated tenant itself: conformance with Microsoft Graph, groups, tokens, fault knobs,
//! memberships and roles.

mod conformance;
mod faults;
mod groups;
mod membership;
mod smoke;
mod tokens;
