//! The foundation entra-mail and its simulated tenant (entra-sim) both stand on: the ids of
//! Microsoft's first-party apps and permissions ([`well_known`]), Entra's rule for identifier
//! URIs ([`identifier_uri`]), files read bounded and written privately ([`fsutil`]), and a
//! string that never prints ([`secret`]).
//!
//! entra-mail re-exports these modules at its own root, so `entra_mail::fsutil` and
//! `crate::fsutil` inside it name the same thing.

pub mod fsutil;
pub mod identifier_uri;
pub mod secret;
pub mod well_known;
