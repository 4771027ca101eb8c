//! The bad day: lost answers, throttling, replication lag, retried POSTs, runs at once.

mod bad_day;
mod convergence;
mod post_retries;
