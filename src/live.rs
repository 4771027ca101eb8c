//! Reading the tenant: everything a plan compares with the desired state, in one parallel
//! wave when the outputs file tells us the ids (a second, smaller wave when it cannot).

use futures::future::{join_all, OptionFuture};

use crate::config::Desired;
use crate::graph::models::{
    AppRoleAssignment, Application, OAuth2PermissionGrant, ServicePrincipal,
};
use crate::graph::{odata, GraphClient, GraphError, Request};
use crate::outputs::Outputs;

/// What the tenant holds of ours, and the resources we ask permissions of.
#[derive(Debug, Clone, Default)]
pub struct LiveState {
    pub application: Option<Application>,
    pub service_principal: Option<ServicePrincipal>,
    /// The resource service principals, in config order; `None` where the tenant has none.
    pub resources: Vec<Option<ServicePrincipal>>,
    /// App role assignments held by our service principal.
    pub app_role_assignments: Vec<AppRoleAssignment>,
    /// Tenant-wide delegated grants of our service principal.
    pub grants: Vec<OAuth2PermissionGrant>,
}

impl LiveState {
    pub fn app_id(&self) -> Option<&str> {
        self.application.as_ref().and_then(|a| a.app_id.as_deref())
    }

    pub fn app_object_id(&self) -> Option<&str> {
        self.application.as_ref().and_then(|a| a.id.as_deref())
    }

    pub fn service_principal_id(&self) -> Option<&str> {
        self.service_principal
            .as_ref()
            .and_then(|sp| sp.id.as_deref())
    }
}

const RESOURCE_SELECT: &str = "id,appId,displayName,appRoles,oauth2PermissionScopes";

/// Reads the live state. `hint` (the last outputs) lets the service principal and its
/// consent be read in the same wave as the application.
pub async fn read(
    client: &GraphClient,
    desired: &Desired,
    hint: Option<&Outputs>,
) -> Result<LiveState, GraphError> {
    let hint = hint
        .filter(|o| o.tenant_id == desired.tenant_id && o.unique_name == desired.app.unique_name);
    let hinted_app_id = hint.map(|o| o.client_id.clone());
    let hinted_sp_id = hint.and_then(|o| o.service_principal_id.clone());

    let app_path = odata::by_key("applications", "uniqueName", &desired.app.unique_name);
    let resources = join_all(desired.permissions.iter().map(|p| {
        let request = Request::get(odata::by_key(
            "servicePrincipals",
            "appId",
            &p.resource_app_id.to_string(),
        ))
        .query("$select", RESOURCE_SELECT);
        async move { client.send_optional::<ServicePrincipal>(&request).await }
    }));
    let (application, resources, hinted_sp, hinted_assignments, hinted_grants) = tokio::join!(
        client.get_optional::<Application>(&app_path),
        resources,
        OptionFuture::from(
            hinted_app_id
                .as_deref()
                .map(|app_id| service_principal(client, app_id))
        ),
        OptionFuture::from(
            hinted_sp_id
                .as_deref()
                .map(|sp_id| assignments(client, sp_id))
        ),
        OptionFuture::from(hinted_sp_id.as_deref().map(|sp_id| grants(client, sp_id))),
    );
    let application = application?;
    let resources = resources.into_iter().collect::<Result<Vec<_>, _>>()?;
    let Some(app) = application else {
        return Ok(LiveState {
            application: None,
            resources,
            ..LiveState::default()
        });
    };
    let app_id = app.app_id.clone().unwrap_or_default();

    let service_principal = match hinted_sp {
        Some(result) if hinted_app_id.as_deref() == Some(app_id.as_str()) => result?,
        _ => service_principal(client, &app_id).await?,
    };
    let sp_id = service_principal.as_ref().and_then(|sp| sp.id.clone());
    let (app_role_assignments, grants) = match (&sp_id, hinted_assignments, hinted_grants) {
        (None, _, _) => (Vec::new(), Vec::new()),
        (Some(id), Some(assigned), Some(granted))
            if hinted_sp_id.as_deref() == Some(id.as_str()) =>
        {
            (assigned?, granted?)
        }
        (Some(id), _, _) => {
            let (assigned, granted) = tokio::join!(assignments(client, id), grants(client, id));
            (assigned?, granted?)
        }
    };
    Ok(LiveState {
        application: Some(app),
        service_principal,
        resources,
        app_role_assignments,
        grants,
    })
}

async fn service_principal(
    client: &GraphClient,
    app_id: &str,
) -> Result<Option<ServicePrincipal>, GraphError> {
    client
        .get_optional(&odata::by_key("servicePrincipals", "appId", app_id))
        .await
}

async fn assignments(
    client: &GraphClient,
    sp_id: &str,
) -> Result<Vec<AppRoleAssignment>, GraphError> {
    match client
        .list(Request::get(format!(
            "servicePrincipals/{sp_id}/appRoleAssignments"
        )))
        .await
    {
        Err(e) if e.status() == Some(404) => Ok(Vec::new()),
        other => other,
    }
}

async fn grants(
    client: &GraphClient,
    sp_id: &str,
) -> Result<Vec<OAuth2PermissionGrant>, GraphError> {
    let filter = format!(
        "{} and consentType eq 'AllPrincipals'",
        odata::eq("clientId", sp_id)
    );
    client
        .list(Request::get("oauth2PermissionGrants").query("$filter", filter))
        .await
}
