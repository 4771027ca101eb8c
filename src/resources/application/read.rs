//! The application kind's read: the app by `uniqueName` (or one portal-made app named like
//! ours), its service principal and that principal's consent, in one parallel wave when the
//! outputs file tells us the ids (a second, smaller wave when it cannot). The service
//! principal and consent kinds are keyed by the app's ids, so they read here.

use futures::future::{join_all, OptionFuture};

use crate::config::Desired;
use crate::graph::models::{
    AppRoleAssignment, Application, OAuth2PermissionGrant, ServicePrincipal,
};
use crate::graph::{odata, GraphClient, GraphError, Request};
use crate::live::LiveState;
use crate::outputs::Outputs;
use crate::ownership::Record;

const RESOURCE_SELECT: &str = "id,appId,displayName,appRoles,oauth2PermissionScopes";

/// The app side. `hint` (the last outputs) lets the service principal and its consent be
/// read in the same wave as the application.
pub(super) async fn read_core(
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
    // Without the outputs' ids (a fresh runner), the service principal is found by the key
    // tag we give it, in this same wave.
    let tagged = OptionFuture::from(hint.is_none().then(|| {
        let tag = crate::ownership::service_principal_key(&desired.app.unique_name);
        client.list::<ServicePrincipal>(Request::get("servicePrincipals").query(
            "$filter",
            format!("tags/any(t:t eq {})", odata::quote(&tag)),
        ))
    }));
    let (application, candidates, resources, tagged, hinted_sp, hinted_assignments, hinted_grants) = tokio::join!(
        client.get_optional::<Application>(&app_path),
        adoption_candidates(client, &desired.app.display_name),
        resources,
        tagged,
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
    let resources = resources.into_iter().collect::<Result<Vec<_>, _>>()?;
    let app = match application? {
        Some(app) => app,
        None => {
            let candidates = candidates?;
            let [candidate] = candidates.as_slice() else {
                return Ok(LiveState {
                    resources,
                    adoption_candidates: candidates,
                    ..LiveState::default()
                });
            };
            // One portal-made app: read it whole, as the plan would an app of ours.
            let id = candidate.id.clone().unwrap_or_default();
            match client
                .get_optional::<Application>(&format!("applications/{id}"))
                .await?
            {
                Some(app) => app,
                None => {
                    return Ok(LiveState {
                        resources,
                        ..LiveState::default()
                    })
                }
            }
        }
    };
    let record = Record::from_tags(app.tags.as_deref().unwrap_or_default());
    let app_id = app.app_id.clone().unwrap_or_default();

    let tagged = tagged.transpose()?.unwrap_or_default();
    let tagged = tagged
        .into_iter()
        .find(|sp| sp.app_id.as_deref() == Some(app_id.as_str()));
    let service_principal = match (hinted_sp, tagged) {
        (Some(result), _) if hinted_app_id.as_deref() == Some(app_id.as_str()) => result?,
        (_, Some(sp)) => Some(sp),
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
        adoption_candidates: Vec::new(),
        record,
        service_principal,
        resources,
        app_role_assignments,
        grants,
        ..LiveState::default()
    })
}

/// The policies when the config names none but the record does (a destroy after
/// `[conditional_access]` left the config): ours must still be found.
/// Apps with our display name and no `uniqueName`: what an admin made in the portal.
async fn adoption_candidates(
    client: &GraphClient,
    display_name: &str,
) -> Result<Vec<Application>, GraphError> {
    let request = Request::get("applications")
        .query("$filter", odata::eq("displayName", display_name))
        .query("$select", "id,appId,displayName,uniqueName");
    let found: Vec<Application> = client.list(request).await?;
    Ok(found
        .into_iter()
        .filter(|a| a.unique_name.is_none())
        .collect())
}

async fn service_principal(
    client: &GraphClient,
    app_id: &str,
) -> Result<Option<ServicePrincipal>, GraphError> {
    client
        .get_optional(&odata::by_key("servicePrincipals", "appId", app_id))
        .await
}

/// The app role assignments `sp_id` holds (none while it is still replicating).
pub async fn assignments(
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

/// The tenant-wide delegated grants `sp_id` holds.
pub async fn grants(
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
