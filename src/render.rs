//! Rendering the outputs: fills the config's templates (handlebars, strict mode) with the
//! desired state and the outputs of an apply, and writes, checks or removes the files they
//! render to. Which templates exist and whether they compile is `config::templates`.

use std::path::PathBuf;

use handlebars::{Context, Handlebars, Helper, HelperResult, Output, RenderContext};
use serde_json::{json, Value};

use crate::config::templates::{builtin, file_output_name};
use crate::config::{Desired, DesiredHelpdesk, IncomingProtocol, TemplateRef};
use crate::fsutil::{read_bounded, INPUT_LIMIT};
use crate::helpdesk::{NextStep, Product};
use crate::outputs::Outputs;

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
    let helpdesk = desired
        .helpdesk
        .as_ref()
        .map(|h| helpdesk_data(desired, h, outputs));
    let pandora = desired
        .helpdesk
        .as_ref()
        .filter(|h| h.product == Product::PandoraItsm)
        .and_then(|h| {
            let mut pandora = helpdesk.clone()?;
            // What `pandora.redirect_uri` always was, for users' own templates: the classic
            // route of the mail setup page.
            pandora["redirect_uri"] = json!(h.profile().redirect_uris(&h.public_url).last());
            Some(pandora)
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
        "key_vault": desired.secret.key_vault.as_ref().map(|kv| json!({
            "url": kv.vault.to_string(),
            "secret": kv.secret_name,
        })),
        "helpdesk": helpdesk,
        // The name the first templates used, kept for users' own templates.
        "pandora": pandora,
        "generated_by": crate::USER_AGENT,
    })
}

/// Where Entra signs users in and issues tokens, for sheets that ask for the endpoints.
const AUTHORITY: &str = "https://login.microsoftonline.com";

fn helpdesk_data(desired: &Desired, h: &DesiredHelpdesk, outputs: &Outputs) -> Value {
    let profile = h.profile();
    let (protocol, host, port) = match h.incoming {
        IncomingProtocol::Imap => ("IMAP", &h.imap_host, h.imap_port),
        IncomingProtocol::Pop => ("POP3", &h.pop_host, h.pop_port),
    };
    // The URIs registered on the app, which the helpdesk must sign in with.
    let redirect_uris = &desired.app.redirect_uris;
    let tenant = outputs.tenant_id;
    json!({
        "product": profile.key,
        "name": profile.name,
        "public_url": h.public_url,
        "mailbox": h.mailbox,
        // As the inside of a PowerShell single-quoted string (config validation refuses the
        // look-alike quotes PowerShell also ends such a string at).
        "mailbox_ps": h.mailbox.replace('\'', "''"),
        // As the inside of a PHP single-quoted string (a backslash is refused by validation).
        "mailbox_php": h.mailbox.replace('\'', "\\'"),
        "incoming": {"protocol": protocol, "host": host, "port": port},
        "imap": {"host": h.imap_host, "port": h.imap_port},
        "pop": {"host": h.pop_host, "port": h.pop_port},
        "smtp": {"host": h.smtp_host, "port": h.smtp_port},
        "redirect_uris": redirect_uris,
        "redirect_uri": redirect_uris.first(),
        "scopes": profile.sign_in_scopes(h.incoming),
        "authorize_url": format!("{AUTHORITY}/{tenant}/oauth2/v2.0/authorize"),
        "token_url": format!("{AUTHORITY}/{tenant}/oauth2/v2.0/token"),
        "folder": h.folder,
        "queue": h.queue,
        // rt-mailgate's arguments (Request Tracker). wsgetmail splits them on spaces outside
        // quotes and strips the quotes; validation refuses `"` and `\` in the queue and spaces
        // and quotes in the URL.
        "command_args": h.queue.as_ref().map(|queue| {
            format!("--url={} --queue=\"{queue}\" --action=correspond", h.public_url)
        }),
        "rbac_scope_name": format!("entra-mail {}", desired.app.unique_name),
        "where": profile.settings_path,
        "next_steps": next_steps(desired),
        // The files this config renders, by what they are (null when it does not).
        "sheet": rendered_file(desired, profile.sheet),
        "script": rendered_file(desired, profile.script),
    })
}

/// The admin's next steps for the config's helpdesk (none without one).
pub fn next_steps(desired: &Desired) -> Vec<NextStep> {
    let Some(helpdesk) = &desired.helpdesk else {
        return Vec::new();
    };
    crate::helpdesk::next_steps(
        helpdesk.profile(),
        &helpdesk.mailbox,
        helpdesk.incoming,
        &rendered_builtins(desired),
    )
}

/// Each template the config names, with the file it renders to in the outputs directory.
fn template_files(desired: &Desired) -> Vec<(&TemplateRef, String)> {
    desired
        .outputs
        .templates
        .iter()
        .filter_map(|t| match t {
            TemplateRef::Builtin(name) => builtin(name).map(|b| (t, b.output_file.to_string())),
            TemplateRef::File(path) => Some((t, file_output_name(path))),
        })
        .collect()
}

/// The built-in templates the config renders, with the file each renders to.
fn rendered_builtins(desired: &Desired) -> Vec<(String, String)> {
    template_files(desired)
        .into_iter()
        .filter_map(|(t, file)| match t {
            TemplateRef::Builtin(name) => Some((name.clone(), file)),
            TemplateRef::File(_) => None,
        })
        .collect()
}

/// The file the built-in template `name` renders to, when the config renders it.
fn rendered_file(desired: &Desired, name: &str) -> Option<String> {
    rendered_builtins(desired)
        .into_iter()
        .find(|(template, _)| template == name)
        .map(|(_, file)| file)
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

/// What a sheet says where the secret's value would be, when these files do not hold it.
const SECRET_NOT_HELD: &str = "secret-not-held";
const SECRET_NOT_HELD_TEXT: &str = "{{#if key_vault}}in Key Vault {{key_vault.url}} as secret `{{key_vault.secret}}`, not in this file: `entra-mail render --from-vault` fills it in on a machine that may read the vault{{else}}not held on this machine: an earlier run delivered it, and the tenant keeps it. `entra-mail apply --rotate-secret` makes a new one{{/if}}";

/// Renders every template the config names (strict mode: a missing value is an error).
pub fn render_all(desired: &Desired, outputs: &Outputs) -> Result<Vec<RenderedFile>, RenderError> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::no_escape);
    registry.register_helper("json", Box::new(json_helper));
    registry
        .register_partial(SECRET_NOT_HELD, SECRET_NOT_HELD_TEXT)
        .map_err(|e| RenderError::Template {
            template: SECRET_NOT_HELD.into(),
            message: e.to_string(),
        })?;
    // The mailbox script, which sheets may hold as well as render to its own file.
    if let Some(script) = builtin(crate::helpdesk::MAILBOX_SCRIPT) {
        registry
            .register_partial(crate::helpdesk::MAILBOX_SCRIPT, script.source)
            .map_err(|e| RenderError::Template {
                template: crate::helpdesk::MAILBOX_SCRIPT.into(),
                message: e.to_string(),
            })?;
    }
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
    template_files(desired)
        .into_iter()
        .map(|(_, file)| desired.outputs.directory.join(file))
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
