//! The local outputs: `outputs.json` and the rendered templates. Not a tenant object, but
//! part of the plan, so a deleted or stale config sheet shows as a change.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::{application, client_secret, consent, service_principal};
use crate::config::Desired;
use crate::fsutil::{self, Kind};
use crate::kind::{
    Action, Address, ApplyContext, ApplyError, ManagedKind, Operation, PlanDraft, PlanError,
    ResourceChange,
};
use crate::live::LiveState;
use crate::outputs::{Outputs, OutputsError};

pub const KIND: &str = "outputs";

/// The kinds whose objects the outputs name (ids and the secret): the outputs are written
/// after their changes, and after no other kind's.
const DESCRIBED: &[&str] = &[
    application::KIND,
    application::IDENTIFIER_URI_KIND,
    application::RECORD_KIND,
    service_principal::KIND,
    client_secret::KIND,
    consent::ASSIGNMENT_KIND,
    consent::GRANT_KIND,
];

pub fn address(desired: &Desired) -> Address {
    Address::new(KIND, desired.outputs.directory.display().to_string())
}

/// The outputs kind: local files, planned last so they see every change before them.
pub struct OutputsKind;

#[async_trait::async_trait]
impl ManagedKind for OutputsKind {
    fn name(&self) -> &'static str {
        KIND
    }

    fn plan(&self, draft: &mut PlanDraft<'_>) -> Result<(), PlanError> {
        let new_secret = draft.changes.iter().any(|c| {
            matches!(
                c.operation_as::<client_secret::Op>(),
                Some(client_secret::Op::AddSecret { .. })
            )
        });
        if let Some(change) = plan(
            draft.desired,
            draft.live,
            draft.outputs,
            new_secret,
            &draft.changes,
        )? {
            draft.changes.push(change);
        }
        draft
            .warnings
            .extend(loose_modes(draft.desired).iter().map(LooseMode::warning));
        Ok(())
    }
}

/// Writes the outputs file and renders the templates (no tenant call).
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOutputs;

#[async_trait::async_trait]
impl Operation for WriteOutputs {
    async fn run(&self, ctx: &ApplyContext<'_>) -> Result<(), ApplyError> {
        ctx.write_outputs().map(|_| ())
    }

    fn writes_tenant(&self) -> bool {
        false
    }
}

fn plan(
    desired: &Desired,
    live: &LiveState,
    outputs: Option<&Outputs>,
    new_secret: bool,
    changes: &[ResourceChange],
) -> Result<Option<ResourceChange>, PlanError> {
    let files: Vec<String> = std::iter::once(crate::outputs::FILE_NAME.to_string())
        .chain(desired.outputs.templates.iter().map(|t| t.to_string()))
        .collect();
    // A held secret the tenant no longer has (revoked, or replaced by another runner's
    // rotation) leaves the outputs; a held secret this run removes, too.
    let held_secret_dies = outputs
        .filter(|_| live.application.is_some())
        .and_then(|o| o.secret.as_ref())
        .is_some_and(|held| {
            !live.has_secret(held.key_id)
                || changes.iter().any(|c| {
                    c.operation_as::<client_secret::Op>()
                        == Some(&client_secret::Op::RemoveSecret {
                            key_id: held.key_id,
                        })
                })
        });
    let ids_change = changes.iter().any(|c| {
        c.action == Action::Create
            && (matches!(
                c.operation_as::<application::Op>(),
                Some(application::Op::UpsertApplication { .. })
            ) || matches!(
                c.operation_as::<service_principal::Op>(),
                Some(service_principal::Op::UpsertServicePrincipal { .. })
            ))
    });
    let (action, reason) = if new_secret || ids_change || held_secret_dies {
        (
            if outputs.is_some() {
                Action::Update
            } else {
                Action::Create
            },
            (held_secret_dies && !new_secret).then(|| {
                "the secret outputs.json holds no longer exists in the tenant (or is removed now)"
                    .to_string()
            }),
        )
    } else {
        match outputs {
            None => return Ok(None),
            Some(held) => {
                let ids_match = Some(held.client_id.as_str()) == live.app_id()
                    && Some(held.application_object_id.as_str()) == live.app_object_id()
                    && held.service_principal_id.as_deref() == live.service_principal_id();
                let rendered = crate::render::render_all(desired, held)
                    .map_err(|e| PlanError::Render(e.to_string()))?;
                if ids_match && crate::render::up_to_date(&rendered) {
                    return Ok(None);
                }
                let reason = if ids_match {
                    "rendered files are missing or differ"
                } else {
                    "the ids in outputs.json differ from the tenant's"
                };
                (Action::Update, Some(reason.to_string()))
            }
        }
    };
    Ok(Some(ResourceChange {
        address: address(desired),
        action,
        before: Value::Null,
        after: json!({"files": files}),
        attributes: Vec::new(),
        reason,
        // The outputs hold the app's ids and secret; the policy is not in them, so they do
        // not wait for it (Conditional Access is paced at one request per second).
        depends_on: changes
            .iter()
            .filter(|c| DESCRIBED.contains(&c.kind()))
            .map(|c| c.address.clone())
            .collect(),
        operation: WriteOutputs.into(),
    }))
}

/// An outputs file or directory whose mode lets others in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LooseMode {
    pub path: PathBuf,
    pub kind: Kind,
    /// Its permission bits as found.
    pub mode: u32,
}

impl LooseMode {
    /// As the JSON reports show it: the path, the mode it had and the mode it gets.
    pub fn json(&self) -> Value {
        json!({
            "path": self.path,
            "from": format!("{:04o}", self.mode),
            "to": format!("{:04o}", self.private_mode()),
        })
    }

    pub fn private_mode(&self) -> u32 {
        self.kind.private_mode()
    }

    /// The plan's warning.
    pub fn warning(&self) -> String {
        let what = match self.kind {
            Kind::Directory => "the outputs directory",
            Kind::File => "the outputs file",
        };
        format!(
            "{what} {} has mode {:04o}, wider than {:04o} (it holds or may hold the client secret); apply narrows it",
            self.path.display(),
            self.mode,
            self.private_mode()
        )
    }

    /// What apply did.
    pub fn narrowed(&self) -> String {
        format!(
            "narrowed {} from mode {:04o} to {:04o}",
            self.path.display(),
            self.mode,
            self.private_mode()
        )
    }
}

/// The outputs directory, then every file entra-mail writes in it (outputs.json and the
/// rendered files, which may hold the secret).
fn private_paths(desired: &Desired) -> Vec<(PathBuf, Kind)> {
    let directory = &desired.outputs.directory;
    std::iter::once((directory.clone(), Kind::Directory))
        .chain(std::iter::once((Outputs::path_in(directory), Kind::File)))
        .chain(
            crate::render::output_paths(desired)
                .into_iter()
                .map(|path| (path, Kind::File)),
        )
        .collect()
}

/// The outputs directory and files that exist with a mode wider than private: written 0700
/// and 0600 by entra-mail, they may have been made or changed by hand, or by an older version
/// under a loose umask. A rewrite would fix a file, but a run that changes nothing rewrites
/// nothing.
pub fn loose_modes(desired: &Desired) -> Vec<LooseMode> {
    private_paths(desired)
        .into_iter()
        .filter_map(|(path, kind)| {
            fsutil::wider_mode(&path, kind).map(|mode| LooseMode { path, kind, mode })
        })
        .collect()
}

/// Narrows what [`loose_modes`] finds: the directory first, so nobody else can swap a file in
/// it meanwhile, then each file, found again after that. What it narrowed, in that order.
pub fn narrow_modes(desired: &Desired) -> Result<Vec<LooseMode>, OutputsError> {
    let mut narrowed = Vec::new();
    for (path, kind) in private_paths(desired) {
        let Some(mode) = fsutil::wider_mode(&path, kind) else {
            continue;
        };
        fsutil::narrow_mode(&path, kind).map_err(|source| OutputsError::Narrow {
            path: path.clone(),
            mode,
            source,
        })?;
        narrowed.push(LooseMode { path, kind, mode });
    }
    Ok(narrowed)
}
