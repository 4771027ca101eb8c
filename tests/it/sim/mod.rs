//! The simulated tenant itself: conformance with Microsoft Graph, tokens, fault knobs,
//! memberships and roles.

mod conformance;
mod faults;
mod membership;
mod smoke;
mod tokens;
