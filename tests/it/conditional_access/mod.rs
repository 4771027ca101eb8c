//! Conditional Access and who can reach the app: the MFA Pilot policy, the lockout guard, and
//! the app's own sign-in settings.

mod app_reach;
mod lockout_guard;
mod mfa_pilot;
