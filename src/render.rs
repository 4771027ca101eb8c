//! Rendering the outputs: fills the config's templates (handlebars, strict mode) with the
//! desired state and the outputs of an apply, and writes, checks or removes the files they
//! render to. Which templates exist and whether they compile is `config::templates`.

use std::path::PathBuf;

use handlebars::{Context, Handlebars, Helper, HelperResult, Output, RenderContext};
use serde_json::{json, Value};

use crate::config::templates::{builtin, file_output_name};
use crate::config::{Desired, IncomingProtocol, TemplateRef};
use crate::fsutil::{read_bounded, INPUT_LIMIT};
use crate::outputs::Outputs;

/// Pandora ITSM's mail setup page under its public URL, where it receives the OAuth answer.
/// Versions differ (see templates/pandora-itsm.md.hbs); this is the classic route.
pub fn pandora_redirect_uri(public_url: &str) -> String {
    format!(
        "{}/index.php?sec=godmode&sec2=godmode/setup/setup_mail",
        public_url.trim_end_matches('/')
    )
}

/// A rendered file, ready to write. It may hold the client secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub path: PathBuf,
    pub contents: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {template}: {message}")]
    Template { template: String, message: String },
    #[error(transparent)]
    Read(#[from] crate::fsutil::ReadError),
    #[error("cannot write {} (the previous file is left as it was): {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What templates see. `secret.value` is the client secret.
pub fn template_data(desired: &Desired, outputs: &Outputs) -> Value {
    let secret = outputs.secret.as_ref().map(|s| {
        json!({"value": s.value.expose(), "key_id": s.key_id, "expires": s.expires.date().to_string()})
    });
    let pandora = desired.pandora_itsm.as_ref().map(|p| {
        let (protocol, host, port) = match p.incoming {
            IncomingProtocol::Imap => ("IMAP", &p.imap_host, p.imap_port),
            IncomingProtocol::Pop => ("POP3", &p.pop_host, p.pop_port),
        };
        json!({
            "public_url": p.public_url,
            "mailbox": p.mailbox,
            "incoming": {"protocol": protocol, "host": host, "port": port},
            "smtp": {"host": p.smtp_host, "port": p.smtp_port},
            "redirect_uri": pandora_redirect_uri(&p.public_url),
        })
    });
    json!({
        "tenant": {"id": outputs.tenant_id},
        "app": {
            "client_id": outputs.client_id,
            "object_id": outputs.application_object_id,
            "service_principal_id": outputs.service_principal_id,
            "display_name": desired.app.display_name,
            "unique_name": desired.app.unique_name,
        },
        "secret": secret,
        "pandora": pandora,
        "generated_by": crate::USER_AGENT,
    })
}

fn json_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let value = h.param(0).map(|p| p.value().clone()).unwrap_or(Value::Null);
    out.write(&value.to_string())?;
    Ok(())
}

/// Renders every template the config names (strict mode: a missing value is an error).
pub fn render_all(desired: &Desired, outputs: &Outputs) -> Result<Vec<RenderedFile>, RenderError> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::no_escape);
    registry.register_helper("json", Box::new(json_helper));
    let data = template_data(desired, outputs);
    let mut files = Vec::new();
    for template in &desired.outputs.templates {
        let (name, source, file_name) = match template {
            TemplateRef::Builtin(name) => {
                let builtin = builtin(name).ok_or_else(|| RenderError::Template {
                    template: name.clone(),
                    message: "no such built-in template".into(),
                })?;
                (
                    name.clone(),
                    builtin.source.to_string(),
                    builtin.output_file.to_string(),
                )
            }
            TemplateRef::File(path) => {
                let source = read_bounded(path, "template", INPUT_LIMIT)?;
                let file_name = file_output_name(path);
                (path.display().to_string(), source, file_name)
            }
        };
        let contents =
            registry
                .render_template(&source, &data)
                .map_err(|e| RenderError::Template {
                    template: name.clone(),
                    message: e.to_string(),
                })?;
        files.push(RenderedFile {
            path: desired.outputs.directory.join(file_name),
            contents,
        });
    }
    Ok(files)
}

/// Whether every file exists with exactly these contents.
pub fn up_to_date(files: &[RenderedFile]) -> bool {
    files.iter().all(|f| {
        read_bounded(&f.path, "rendered file", INPUT_LIMIT)
            .is_ok_and(|current| current == f.contents)
    })
}

/// Writes the files atomically, mode 0600 in a 0700 directory (they may hold the secret).
pub fn write_all(files: &[RenderedFile]) -> Result<Vec<PathBuf>, RenderError> {
    for file in files {
        if let Some(parent) = file.path.parent() {
            crate::fsutil::create_private_dir_all(parent).map_err(|source| RenderError::Write {
                path: file.path.clone(),
                source,
            })?;
        }
        crate::fsutil::write_private_atomically(&file.path, file.contents.as_bytes()).map_err(
            |source| RenderError::Write {
                path: file.path.clone(),
                source,
            },
        )?;
    }
    Ok(files.iter().map(|f| f.path.clone()).collect())
}

/// The files the config's templates render to (whether or not they exist yet).
pub fn output_paths(desired: &Desired) -> Vec<PathBuf> {
    desired
        .outputs
        .templates
        .iter()
        .filter_map(|t| match t {
            TemplateRef::Builtin(name) => {
                builtin(name).map(|b| desired.outputs.directory.join(b.output_file))
            }
            TemplateRef::File(path) => path
                .file_name()
                .and_then(|n| n.to_str())
                .map(|n| desired.outputs.directory.join(n.trim_end_matches(".hbs"))),
        })
        .collect()
}

/// Removes rendered files (after destroy: the secret in them is dead).
pub fn remove_all(desired: &Desired) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let mut candidates = output_paths(desired);
    candidates.push(Outputs::path_in(&desired.outputs.directory));
    for path in candidates {
        if std::fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}
