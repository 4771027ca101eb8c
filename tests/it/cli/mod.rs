//! The built binary: commands and exit codes, the main job against `--sim`, outputs directories.

mod commands;
mod outputs_dirs;
mod provision;
mod sim_serve;
