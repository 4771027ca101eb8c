//! `entra-mail render`: render the templates again from the outputs file, no tenant call.

use std::process::ExitCode;

use anyhow::bail;

use super::plan::load_configs;
use super::GlobalArgs;
use crate::outputs::Outputs;

pub fn run(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let configs = match load_configs(global) {
        Ok(configs) => configs,
        Err(code) => return Ok(code),
    };
    for desired in configs {
        let Some(outputs) = Outputs::read(&desired.outputs.directory)? else {
            bail!(
                "no outputs in {} for {}; run `entra-mail apply -f {}` first",
                desired.outputs.directory.display(),
                desired.source.display(),
                desired.source.display()
            );
        };
        if outputs.tenant_id != desired.tenant_id {
            bail!(
                "{} belongs to tenant {}, not {}",
                Outputs::path_in(&desired.outputs.directory).display(),
                outputs.tenant_id,
                desired.tenant_id
            );
        }
        // outputs.json holds the secret too, and render does not rewrite it.
        for loose in crate::resources::outputs_files::narrow_modes(&desired)? {
            println!("{}", loose.narrowed());
        }
        let files = crate::render::render_all(&desired, &outputs)?;
        for path in crate::render::write_all(&files)? {
            println!("rendered {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
