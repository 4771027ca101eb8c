//! `entra-mail render`: render the templates again from the outputs file, no tenant call.

use std::process::ExitCode;

use super::plan::load_configs;
use super::{GlobalArgs, OutputFormat};

pub fn run(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let configs = match load_configs(global) {
        Ok(configs) => configs,
        Err(code) => return Ok(code),
    };
    let mut summaries = Vec::new();
    let mut failed = false;
    for desired in configs {
        let rendered = match crate::session::render(&desired) {
            Ok(rendered) => rendered,
            // With JSON, what was rendered before the failure is still reported.
            Err(error) if global.output == OutputFormat::Json => {
                summaries.push(serde_json::json!({
                    "config": desired.source,
                    "error": super::one_line(&error.into()),
                }));
                failed = true;
                break;
            }
            Err(error) => return Err(error.into()),
        };
        match global.output {
            OutputFormat::Text => {
                for loose in &rendered.narrowed {
                    println!("{}", loose.narrowed());
                }
                for path in &rendered.written {
                    println!("rendered {}", path.display());
                }
            }
            OutputFormat::Json => summaries.push(serde_json::json!({
                "config": desired.source,
                "tenant_id": desired.tenant_id,
                "narrowed": rendered.narrowed.iter().map(|l| l.json()).collect::<Vec<_>>(),
                "rendered": rendered.written,
            })),
        }
    }
    if global.output == OutputFormat::Json {
        return super::finish_json_reports(summaries, failed);
    }
    Ok(super::exit_code(failed))
}
