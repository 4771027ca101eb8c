//! The pipeline for one tenant, as a library: check the sign-in, read the tenant, plan,
//! apply; or plan and run a destroy. The CLI, the tests and the benchmark all drive it. It
//! returns errors and never prints: the CLI renders them.

use std::borrow::Borrow;
use std::path::PathBuf;

use uuid::Uuid;

use crate::apply::{self, ApplyReport};
use crate::config::Desired;
use crate::graph::{GraphClient, GraphError};
use crate::kind::{ApplyContext, ApplyError, ApplySettings, PlanError, PlanOptions, Reader};
use crate::live::LiveState;
use crate::outputs::{Outputs, OutputsError};
use crate::plan::{self, Plan, Purpose};
use crate::preflight::{self, PreflightError};
use crate::resources;

/// Why a tenant's pipeline stopped.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot sign in to tenant {tenant}")]
    SignIn {
        tenant: String,
        #[source]
        source: Box<GraphError>,
    },
    #[error(transparent)]
    Preflight(Box<PreflightError>),
    #[error(transparent)]
    Outputs(#[from] OutputsError),
    #[error("cannot read tenant {tenant}")]
    Read {
        tenant: String,
        #[source]
        source: Box<GraphError>,
    },
    #[error("cannot plan {config}")]
    Plan {
        config: String,
        #[source]
        source: Box<PlanError>,
    },
    #[error(transparent)]
    Apply(Box<ApplyError>),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error("Key Vault {vault} secret `{name}` cannot be rendered: {reason}")]
    VaultCopyUnusable {
        vault: String,
        name: String,
        reason: String,
    },
    #[error("no outputs in {} for {}; run `entra-mail apply -f {}` first", directory.display(), config.display(), config.display())]
    NoOutputs { directory: PathBuf, config: PathBuf },
    #[error("{} belongs to tenant {found}, not {expected}", path.display())]
    ForeignOutputs {
        path: PathBuf,
        found: Uuid,
        expected: Uuid,
    },
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
}

/// What `render` did: the outputs files it made private, and the files it wrote.
#[derive(Debug, Default)]
pub struct Rendered {
    pub narrowed: Vec<crate::resources::outputs_files::LooseMode>,
    pub written: Vec<PathBuf>,
}

/// Renders the config's templates again from the outputs this machine holds: no tenant call.
/// The outputs file holds the secret too, and is never rewritten here, only made private.
pub fn render(desired: &Desired) -> Result<Rendered, SessionError> {
    let Some(outputs) = Outputs::read(&desired.outputs.directory)? else {
        return Err(SessionError::NoOutputs {
            directory: desired.outputs.directory.clone(),
            config: desired.source.clone(),
        });
    };
    if outputs.tenant_id != desired.tenant_id {
        return Err(SessionError::ForeignOutputs {
            path: Outputs::path_in(&desired.outputs.directory),
            found: outputs.tenant_id,
            expected: desired.tenant_id,
        });
    }
    let narrowed = crate::resources::outputs_files::narrow_modes(desired)?;
    let files = crate::render::render_all(desired, &outputs)?;
    let written = crate::render::write_all(&files)?;
    Ok(Rendered { narrowed, written })
}

/// Renders the config's templates with the secret the Key Vault holds and the ids the tenant
/// holds: for a machine without the outputs file (an admin's, long after the pipeline ran).
/// The vault's copy must be the current version of a secret still on our app.
pub async fn render_from_vault(
    client: &GraphClient,
    vault: &crate::vault::Vault,
    desired: &Desired,
) -> Result<Rendered, SessionError> {
    use crate::resources::client_secret::{find_held_secret, HeldSecretInTenant};
    let unusable = |reason: String| SessionError::VaultCopyUnusable {
        vault: vault.target().display(),
        name: vault.target().secret_name.clone(),
        reason,
    };
    let read_error = |source: GraphError| SessionError::Read {
        tenant: desired.tenant_id.to_string(),
        source: Box::new(source),
    };
    let rotate = "`entra-mail apply --rotate-secret` delivers a new one";
    let copy = match vault.read().await? {
        crate::vault::VaultState::Present(copy) => copy,
        _ => {
            return Err(unusable(format!(
                "the vault holds no current version; {rotate}"
            )))
        }
    };
    let (Some(key_id), Some(client_id)) = (copy.key_id, copy.client_id.clone()) else {
        return Err(unusable(format!(
            "it has no key-id and client-id tags, so entra-mail did not write it; {rotate}"
        )));
    };
    let listed = match find_held_secret(client, &client_id, key_id)
        .await
        .map_err(read_error)?
    {
        HeldSecretInTenant::Listed(listed) => listed,
        HeldSecretInTenant::AppGone => {
            return Err(unusable(format!(
                "its app (client id {client_id}) is not in tenant {}",
                desired.tenant_id
            )))
        }
        HeldSecretInTenant::SecretGone => {
            return Err(unusable(format!(
                "client secret {key_id} is no longer on the app; {rotate}"
            )))
        }
    };
    let app_path = crate::graph::odata::by_key("applications", "appId", &client_id);
    let app: crate::graph::models::Application = client
        .send(&crate::graph::Request::get(app_path).query("$select", "id,uniqueName"))
        .await
        .and_then(|response| response.json())
        .map_err(read_error)?;
    if app.unique_name.as_deref() != Some(desired.app.unique_name.as_str()) {
        return Err(unusable(format!(
            "it belongs to app {client_id}, not to `{}`",
            desired.app.unique_name
        )));
    }
    if let Some(expired) = listed
        .end_date_time
        .filter(|end| *end <= time::OffsetDateTime::now_utc())
    {
        return Err(unusable(format!(
            "client secret {key_id} expired on {}; `entra-mail apply` makes a new one",
            expired.date()
        )));
    }
    let sp_path = crate::graph::odata::by_key("servicePrincipals", "appId", &client_id);
    let sp: Option<crate::graph::models::ServicePrincipal> = client
        .send_optional(&crate::graph::Request::get(sp_path).query("$select", "id"))
        .await
        .map_err(read_error)?;
    let outputs = Outputs {
        tenant_id: desired.tenant_id,
        unique_name: desired.app.unique_name.clone(),
        client_id,
        application_object_id: app.id.unwrap_or_default(),
        service_principal_id: sp.and_then(|sp| sp.id),
        secret: Some(crate::outputs::HeldSecret {
            key_id,
            display_name: listed.display_name.unwrap_or_default(),
            value: copy.value,
            expires: listed
                .end_date_time
                .or(copy.expires)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
        }),
    };
    let narrowed = crate::resources::outputs_files::narrow_modes(desired)?;
    let files = crate::render::render_all(desired, &outputs)?;
    let written = crate::render::write_all(&files)?;
    Ok(Rendered { narrowed, written })
}

impl From<ApplyError> for SessionError {
    fn from(error: ApplyError) -> Self {
        SessionError::Apply(Box::new(error))
    }
}

impl From<PreflightError> for SessionError {
    fn from(error: PreflightError) -> Self {
        SessionError::Preflight(Box::new(error))
    }
}

/// One config against its tenant: the client (owned, or borrowed as the tests do), the
/// desired state, and the outputs this machine holds.
pub struct Session<C: Borrow<GraphClient> = GraphClient> {
    pub desired: Desired,
    pub client: C,
    pub outputs: Option<Outputs>,
    /// The configured Key Vault, signed in on the same credential as Graph.
    pub vault: Option<crate::vault::Vault>,
}

/// A session with what the tenant holds and the plan made from it.
pub struct Prepared<C: Borrow<GraphClient> = GraphClient> {
    pub session: Session<C>,
    pub live: LiveState,
    pub plan: Plan,
}

impl<C: Borrow<GraphClient>> Session<C> {
    /// A session for `desired`, with the outputs its directory holds.
    pub fn new(client: C, desired: Desired) -> Result<Self, SessionError> {
        let outputs = Outputs::read(&desired.outputs.directory)?;
        Ok(Self {
            desired,
            client,
            outputs,
            vault: None,
        })
    }

    /// The session with the vault `secret.key_vault` names (see [`crate::vault`]).
    pub fn with_vault(mut self, vault: Option<crate::vault::Vault>) -> Self {
        self.vault = vault;
        self
    }

    /// Signs in and checks the token: the right tenant, and every permission the config's
    /// kinds need. Before anything is read.
    pub async fn check_sign_in(
        client: &GraphClient,
        desired: &Desired,
    ) -> Result<preflight::Report, SessionError> {
        let claims = client
            .token_claims()
            .await
            .map_err(|source| SessionError::SignIn {
                tenant: desired.tenant_id.to_string(),
                source: Box::new(source),
            })?;
        Ok(preflight::check(
            desired,
            &resources::needs(desired),
            &claims,
        )?)
    }

    pub fn client(&self) -> &GraphClient {
        self.client.borrow()
    }

    fn reader(&self) -> Reader<'_> {
        Reader {
            client: self.client.borrow(),
            desired: &self.desired,
            hint: self.outputs.as_ref(),
        }
    }

    fn read_error(&self, source: GraphError) -> SessionError {
        SessionError::Read {
            tenant: self.desired.tenant_id.to_string(),
            source: Box::new(source),
        }
    }

    /// What the tenant holds: every kind's read, and beside them the vault's copy.
    pub async fn read(&self) -> Result<LiveState, SessionError> {
        let read_vault = async {
            match &self.vault {
                Some(vault) => vault.read().await.map(Some),
                None => Ok(None),
            }
        };
        let reader = self.reader();
        let (live, vault) = tokio::join!(resources::read(&reader), read_vault);
        let mut live = live.map_err(|e| self.read_error(e))?;
        live.vault = vault?;
        live.vault_url = self.vault.as_ref().map(|v| v.target().display());
        Ok(live)
    }

    /// The plan of an apply with `options`, from `live`.
    pub fn plan_from(&self, live: &LiveState, options: &PlanOptions) -> Result<Plan, SessionError> {
        plan::build_with(&self.desired, live, self.outputs.as_ref(), options).map_err(|source| {
            SessionError::Plan {
                config: self.desired.source.display().to_string(),
                source: Box::new(source),
            }
        })
    }

    /// Reads the tenant and plans an apply.
    pub async fn plan(self, options: &PlanOptions) -> Result<Prepared<C>, SessionError> {
        let live = self.read().await?;
        let plan = self.plan_from(&live, options)?;
        Ok(Prepared {
            session: self,
            live,
            plan,
        })
    }

    /// Reads the tenant and plans a destroy: only what each kind can prove is ours.
    pub async fn plan_destroy(self) -> Result<Prepared<C>, SessionError> {
        let live = resources::read_for_destroy(&self.reader())
            .await
            .map_err(|e| self.read_error(e))?;
        let plan = plan::build_destroy(&self.desired, &live);
        Ok(Prepared {
            session: self,
            live,
            plan,
        })
    }
}

impl<C: Borrow<GraphClient>> Prepared<C> {
    /// Runs the plan. A destroy keeps no ownership record: the app that holds it goes too.
    pub async fn apply(
        &self,
        mut settings: ApplySettings<'_>,
    ) -> Result<ApplyReport, SessionError> {
        settings.recording = self.plan.purpose == Purpose::Apply;
        let outputs = match self.plan.purpose {
            Purpose::Apply => self.session.outputs.clone(),
            Purpose::Destroy => None,
        };
        let ctx = ApplyContext::new(
            self.session.client.borrow(),
            &self.session.desired,
            &self.live,
            outputs,
            settings,
        )
        .with_vault(self.session.vault.as_ref());
        Ok(apply::run(&ctx, &self.plan).await?)
    }
}
