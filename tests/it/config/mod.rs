//! Config files and other input: exact errors, bad and unbounded input, the example pipelines.

mod bad_input;
mod bounded_input;
mod errors;
mod examples;
