//! The app registration: display name, audience, redirect URIs, requested permissions, the
//! exposed API, and the sign-in paths the config leaves closed (SPA and public-client redirect
//! URIs, the implicit grant, public-client flows). Found by `uniqueName`; created or corrected
//! with one upsert. The app holds the tenant's ownership record, so this kind also keeps the
//! record up to date and takes over a portal-made app (`--adopt`).

mod ownership;
pub mod read;

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::config::{Desired, DesiredScope, WhoCanConsent};
use crate::graph::models::{Application, RedirectUris};
use crate::graph::{odata, GraphError, Request};
use crate::kind::permissions::Resolved;
use crate::kind::{
    Action, Address, ApplyContext, ApplyError, AttributeChange, DestroyDraft, LivePart,
    ManagedKind, Operation, PlanDraft, PlanError, Reader, ResourceChange,
};
use crate::live::LiveState;
use crate::ownership::Entry;
use crate::preflight::Need;

pub const KIND: &str = "application";
pub const IDENTIFIER_URI_KIND: &str = "application_identifier_uri";
pub const RECORD_KIND: &str = "ownership_record";

pub fn address(desired: &Desired) -> Address {
    Address::application(desired)
}

pub fn identifier_uri_address(desired: &Desired) -> Address {
    Address::new(IDENTIFIER_URI_KIND, desired.app.unique_name.clone())
}

/// The application kind.
pub struct ApplicationKind;

#[async_trait::async_trait]
impl ManagedKind for ApplicationKind {
    fn name(&self) -> &'static str {
        KIND
    }

    fn needs(&self, desired: &Desired) -> Vec<Need> {
        crate::preflight::app_needs(desired)
    }

    async fn read(&self, reader: &Reader<'_>) -> Result<Option<LivePart>, GraphError> {
        let core = read::read_core(reader.client, reader.desired, reader.hint).await?;
        Ok(Some(Box::new(move |live: &mut LiveState| {
            let LiveState {
                application,
                adoption_candidates,
                record,
                service_principal,
                resources,
                app_role_assignments,
                grants,
                ..
            } = core;
            live.application = application;
            live.adoption_candidates = adoption_candidates;
            live.record = record;
            live.service_principal = service_principal;
            live.resources = resources;
            live.app_role_assignments = app_role_assignments;
            live.grants = grants;
        })))
    }

    fn check(&self, draft: &PlanDraft<'_>) -> Result<(), PlanError> {
        ownership::check_app_ownership(draft.desired, draft.live, draft.options)
    }

    fn plan(&self, draft: &mut PlanDraft<'_>) -> Result<(), PlanError> {
        let (desired, live) = (draft.desired, draft.live);
        let to_record =
            super::client_secret::to_record(desired, live, draft.outputs, draft.options);
        let app_changes = plan(desired, live, draft.resolved);
        if live.adopting_app() {
            draft
                .changes
                .extend(ownership::adopt_app(desired, live, app_changes, &to_record));
        } else {
            draft.changes.extend(app_changes);
            draft.changes.extend(ownership::record_sync(
                desired,
                live,
                to_record,
                draft.options.now,
            ));
        }
        Ok(())
    }

    /// The app goes last, with its secrets: it holds the ownership record, so every other
    /// delete (the policies it records, the service principal) comes first.
    fn destroy(&self, draft: &mut DestroyDraft<'_>) {
        let live = draft.live;
        if let Some(app) = live.application.as_ref().filter(|_| live.adopting_app()) {
            draft.warnings.push(format!(
                "app {} is named like ours but has no uniqueName, so it is not entra-mail's; left alone",
                app.id.clone().unwrap_or_default()
            ));
            return;
        }
        let Some(id) = live.app_object_id() else {
            return;
        };
        let secrets = live
            .application
            .as_ref()
            .and_then(|a| a.password_credentials.as_ref())
            .map_or(0, Vec::len);
        let mut change = ResourceChange::new(
            address(draft.desired),
            Action::Delete,
            Op::DeleteApplication { id: id.to_string() },
        );
        change.before = json!({"id": id, "app_id": live.app_id(), "display_name": live.application.as_ref().and_then(|a| a.display_name.clone())});
        change.reason = Some(format!("with its {secrets} client secret(s)"));
        change.depends_on = draft.changes.iter().map(|c| c.address.clone()).collect();
        draft.changes.push(change);
    }
}

/// What apply does to the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `PATCH /applications(uniqueName=…)` with `Prefer: create-if-missing`. When an enabled
    /// scope changes or goes, `disable_scopes_first` is PATCHed before `body`.
    UpsertApplication {
        body: Value,
        disable_scopes_first: Option<Value>,
    },
    /// `PATCH /applications/{id}` of a portal-made app: sets our `uniqueName` and the
    /// ownership record (with `record`), and corrects it in the same write.
    AdoptApplication {
        id: String,
        body: Value,
        record: Vec<Entry>,
        disable_scopes_first: Option<Value>,
    },
    /// Brings the ownership record on the app up to date (an app from before the record, or
    /// entries for objects that are gone).
    WriteRecord {
        add: Vec<Entry>,
        remove: Vec<Entry>,
    },
    /// `PATCH /applications/{id}` with identifier URIs that name the new app's appId.
    SetIdentifierUris {
        template: String,
    },
    DeleteApplication {
        id: String,
    },
}

#[async_trait::async_trait]
impl Operation for Op {
    async fn run(&self, ctx: &ApplyContext<'_>) -> Result<(), ApplyError> {
        match self {
            Op::UpsertApplication {
                body,
                disable_scopes_first,
            } => upsert(ctx, body, disable_scopes_first.as_ref()).await,
            Op::AdoptApplication {
                id,
                body,
                record,
                disable_scopes_first,
            } => adopt(ctx, id, body, record, disable_scopes_first.as_ref()).await,
            Op::WriteRecord { add, remove } => ctx.write_record_with(add, remove, &json!({})).await,
            Op::SetIdentifierUris { template } => set_identifier_uris(ctx, template).await,
            Op::DeleteApplication { id } => delete(ctx, id).await,
        }
    }
}

/// Namespace of the scope ids we derive (UUID v5 of `unique_name/value`), so a scope keeps
/// its id across runs and machines.
const SCOPE_NAMESPACE: Uuid = Uuid::from_u128(0x5c0b_e4a1_3f2d_4e8a_9b7c_1d2e_3f4a_5b6c);

fn plan(desired: &Desired, live: &LiveState, resolved: &Resolved) -> Vec<ResourceChange> {
    let app = live.application.as_ref();
    let names = permission_names(live);
    let wanted = wanted_state(desired, resolved, app, live.app_id());
    let current = app.map(|a| current_state(a, &names, desired.api.is_some()));
    let wanted_view = view(&wanted, &names, desired);
    let mut changes = Vec::new();
    match (&current, app) {
        (None, _) | (_, None) => {
            changes.push(ResourceChange {
                address: address(desired),
                action: Action::Create,
                before: Value::Null,
                after: Value::Object(wanted_view.clone()),
                attributes: wanted_view
                    .iter()
                    .map(|(k, v)| AttributeChange {
                        name: k.clone(),
                        before: Value::Null,
                        after: v.clone(),
                    })
                    .collect(),
                reason: None,
                depends_on: Vec::new(),
                operation: Op::UpsertApplication {
                    body: body(&wanted, None, &BTreeMap::new()),
                    disable_scopes_first: None,
                }
                .into(),
            });
            if let (Some(api), None) = (&desired.api, &wanted.identifier_uris) {
                changes.push(ResourceChange {
                    address: identifier_uri_address(desired),
                    action: Action::Create,
                    before: Value::Null,
                    after: json!({"identifier_uris": [api.identifier_uri.replace("{appId}", "(known after apply)")]}),
                    attributes: vec![AttributeChange {
                        name: "identifier_uris".into(),
                        before: Value::Null,
                        after: json!([api.identifier_uri.replace("{appId}", "(known after apply)")]),
                    }],
                    reason: Some("the URI names the appId, which exists only once the app does".into()),
                    depends_on: vec![address(desired)],
                    operation: Op::SetIdentifierUris { template: api.identifier_uri.clone() }.into(),
                });
            }
        }
        (Some(current_view), Some(app)) => {
            let attributes: Vec<AttributeChange> = wanted_view
                .iter()
                .filter(|(k, v)| current_view.get(*k) != Some(*v))
                .map(|(k, v)| AttributeChange {
                    name: k.clone(),
                    before: current_view.get(k).cloned().unwrap_or(Value::Null),
                    after: v.clone(),
                })
                .collect();
            if !attributes.is_empty() {
                let changed_names: Vec<String> =
                    attributes.iter().map(|a| a.name.clone()).collect();
                let changed: Vec<&str> = changed_names.iter().map(String::as_str).collect();
                let live_raw = serde_json::to_value(app).unwrap_or(Value::Null);
                let extras = extras_of(&live_raw);
                changes.push(ResourceChange {
                    address: address(desired),
                    action: Action::Update,
                    before: Value::Object(current_view.clone()),
                    after: Value::Object(wanted_view),
                    attributes,
                    reason: None,
                    depends_on: Vec::new(),
                    operation: Op::UpsertApplication {
                        body: body(&wanted, Some(&changed), &extras),
                        disable_scopes_first: disable_first(app, &wanted),
                    }
                    .into(),
                });
            }
        }
    }
    changes
}

/// What the app should hold, in Graph's terms.
struct Wanted {
    display_name: String,
    sign_in_audience: String,
    redirect_uris: Vec<String>,
    required_resource_access: Vec<Value>,
    /// `None` when the config has no `[api]` (the API is left as it is).
    scopes: Option<Vec<Value>>,
    /// `None` when not managed, or when it names an appId that does not exist yet.
    identifier_uris: Option<Vec<String>>,
}

fn wanted_state(
    desired: &Desired,
    resolved: &Resolved,
    app: Option<&Application>,
    app_id: Option<&str>,
) -> Wanted {
    let required_resource_access = resolved
        .resources
        .iter()
        .map(|r| {
            let access: Vec<Value> = r
                .delegated
                .iter()
                .map(|(_, id)| json!({"id": id, "type": "Scope"}))
                .chain(
                    r.application
                        .iter()
                        .map(|(_, id)| json!({"id": id, "type": "Role"})),
                )
                .collect();
            json!({"resourceAppId": r.app_id, "resourceAccess": access})
        })
        .collect();
    let live_scopes = app
        .and_then(|a| a.api.as_ref())
        .and_then(|api| api.oauth2_permission_scopes.clone())
        .unwrap_or_default();
    let scopes = desired.api.as_ref().map(|api| {
        api.scopes
            .iter()
            .map(|scope| {
                let id = live_scopes
                    .iter()
                    .find(|s| s.value.as_deref() == Some(scope.value.as_str()))
                    .and_then(|s| s.id)
                    .unwrap_or_else(|| {
                        Uuid::new_v5(
                            &SCOPE_NAMESPACE,
                            format!("{}/{}", desired.app.unique_name, scope.value).as_bytes(),
                        )
                    });
                scope_json(scope, id)
            })
            .collect()
    });
    let identifier_uris = desired.api.as_ref().and_then(|api| {
        let uri = api
            .identifier_uri
            .replace("{tenantId}", &desired.tenant_id.to_string());
        if uri.contains("{appId}") {
            app_id.map(|id| vec![uri.replace("{appId}", id)])
        } else {
            Some(vec![uri])
        }
    });
    Wanted {
        display_name: desired.app.display_name.clone(),
        sign_in_audience: serde_json::to_value(desired.app.sign_in_audience)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        redirect_uris: desired.app.redirect_uris.clone(),
        required_resource_access,
        scopes,
        identifier_uris,
    }
}

fn scope_json(scope: &DesiredScope, id: Uuid) -> Value {
    json!({
        "id": id,
        "value": scope.value,
        "type": match scope.consent { WhoCanConsent::Admins => "Admin", WhoCanConsent::AdminsAndUsers => "User" },
        "isEnabled": scope.enabled,
        "adminConsentDisplayName": scope.admin_consent_display_name,
        "adminConsentDescription": scope.admin_consent_description,
        "userConsentDisplayName": scope.user_consent_display_name,
        "userConsentDescription": scope.user_consent_description,
    })
}

/// (resourceAppId, permission id) -> "Microsoft Graph: SMTP.Send", from what the tenant publishes.
fn permission_names(live: &LiveState) -> BTreeMap<(String, String), String> {
    let mut names = BTreeMap::new();
    for sp in live.resources.iter().flatten() {
        let app_id = sp.app_id.clone().unwrap_or_default().to_ascii_lowercase();
        let resource = sp.display_name.clone().unwrap_or_else(|| app_id.clone());
        let scopes = sp
            .oauth2_permission_scopes
            .iter()
            .flatten()
            .map(|s| (s.id, s.value.clone()));
        let roles = sp
            .app_roles
            .iter()
            .flatten()
            .map(|r| (r.id, r.value.clone()));
        for (id, value) in scopes.chain(roles) {
            if let (Some(id), Some(value)) = (id, value) {
                names.insert(
                    (app_id.clone(), id.to_string()),
                    format!("{resource}: {value}"),
                );
            }
        }
    }
    names
}

/// requiredResourceAccess as sorted lines, with names where the tenant publishes them:
/// `Microsoft Graph: SMTP.Send (delegated)`.
fn access_lines(entries: &[Value], names: &BTreeMap<(String, String), String>) -> Value {
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let mut lines: Vec<String> = Vec::new();
    for entry in entries {
        let app_id = text(entry.get("resourceAppId"));
        for access in entry
            .get("resourceAccess")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = text(access.get("id"));
            let kind = if text(access.get("type")) == "role" {
                "application"
            } else {
                "delegated"
            };
            let line = match names.get(&(app_id.clone(), id.clone())) {
                Some(name) => format!("{name} ({kind})"),
                None => format!("{app_id}: {id} ({kind})"),
            };
            lines.push(line);
        }
    }
    lines.sort();
    lines.dedup();
    json!(lines)
}

fn sorted(values: &[String]) -> Value {
    let mut values = values.to_vec();
    values.sort();
    json!(values)
}

fn sorted_scopes(scopes: &[Value]) -> Value {
    let mut scopes = scopes.to_vec();
    scopes.sort_by_key(|s| {
        s.get("value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    });
    json!(scopes)
}

/// The managed attributes, normalised so an unchanged app compares equal.
fn view(
    wanted: &Wanted,
    names: &BTreeMap<(String, String), String>,
    desired: &Desired,
) -> Map<String, Value> {
    let mut view = Map::new();
    view.insert("display_name".into(), json!(wanted.display_name));
    view.insert("sign_in_audience".into(), json!(wanted.sign_in_audience));
    view.insert("redirect_uris".into(), sorted(&wanted.redirect_uris));
    reach_view(&mut view, &Reach::WANTED);
    view.insert(
        "required_resource_access".into(),
        access_lines(&wanted.required_resource_access, names),
    );
    if let Some(scopes) = &wanted.scopes {
        view.insert("api_scopes".into(), sorted_scopes(scopes));
    }
    if desired.api.is_some() {
        if let Some(uris) = &wanted.identifier_uris {
            view.insert("identifier_uris".into(), sorted(uris));
        }
    }
    view
}

fn current_state(
    app: &Application,
    names: &BTreeMap<(String, String), String>,
    api_managed: bool,
) -> Map<String, Value> {
    let mut view = Map::new();
    view.insert(
        "display_name".into(),
        json!(app.display_name.clone().unwrap_or_default()),
    );
    view.insert(
        "sign_in_audience".into(),
        json!(app.sign_in_audience.clone().unwrap_or_default()),
    );
    let redirect_uris = app
        .web
        .as_ref()
        .and_then(|w| w.redirect_uris.clone())
        .unwrap_or_default();
    view.insert("redirect_uris".into(), sorted(&redirect_uris));
    reach_view(&mut view, &Reach::of(app));
    let access: Vec<Value> = app
        .required_resource_access
        .iter()
        .flatten()
        .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
        .collect();
    view.insert(
        "required_resource_access".into(),
        access_lines(&access, names),
    );
    if api_managed {
        let scopes: Vec<Value> = app
            .api
            .as_ref()
            .and_then(|api| api.oauth2_permission_scopes.clone())
            .unwrap_or_default()
            .iter()
            .map(|s| {
                json!({
                    "id": s.id, "value": s.value, "type": s.kind, "isEnabled": s.is_enabled,
                    "adminConsentDisplayName": s.admin_consent_display_name,
                    "adminConsentDescription": s.admin_consent_description,
                    "userConsentDisplayName": s.user_consent_display_name,
                    "userConsentDescription": s.user_consent_description,
                })
            })
            .collect();
        view.insert("api_scopes".into(), sorted_scopes(&scopes));
        view.insert(
            "identifier_uris".into(),
            sorted(&app.identifier_uris.clone().unwrap_or_default()),
        );
    }
    view
}

/// What decides who can get a token for the app besides its web redirect URIs: other
/// platforms' redirect URIs, the implicit grant, and public-client flows. The config has only
/// web redirect URIs, so all of these are managed as off.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reach {
    spa_redirect_uris: Vec<String>,
    public_client_redirect_uris: Vec<String>,
    implicit_id_tokens: bool,
    implicit_access_tokens: bool,
    fallback_public_client: bool,
}

impl Reach {
    const WANTED: Reach = Reach {
        spa_redirect_uris: Vec::new(),
        public_client_redirect_uris: Vec::new(),
        implicit_id_tokens: false,
        implicit_access_tokens: false,
        fallback_public_client: false,
    };

    /// The live app's; Graph's `null` (not set) is read as off, which is what it means.
    fn of(app: &Application) -> Reach {
        let uris = |platform: Option<&RedirectUris>| {
            platform
                .and_then(|p| p.redirect_uris.clone())
                .unwrap_or_default()
        };
        let implicit = app
            .web
            .as_ref()
            .and_then(|w| w.implicit_grant_settings.as_ref());
        Reach {
            spa_redirect_uris: uris(app.spa.as_ref()),
            public_client_redirect_uris: uris(app.public_client.as_ref()),
            implicit_id_tokens: implicit
                .and_then(|i| i.enable_id_token_issuance)
                .unwrap_or(false),
            implicit_access_tokens: implicit
                .and_then(|i| i.enable_access_token_issuance)
                .unwrap_or(false),
            fallback_public_client: app.is_fallback_public_client.unwrap_or(false),
        }
    }
}

fn reach_view(view: &mut Map<String, Value>, reach: &Reach) {
    view.insert("spa_redirect_uris".into(), sorted(&reach.spa_redirect_uris));
    view.insert(
        "public_client_redirect_uris".into(),
        sorted(&reach.public_client_redirect_uris),
    );
    view.insert(
        "implicit_grant_id_tokens".into(),
        json!(reach.implicit_id_tokens),
    );
    view.insert(
        "implicit_grant_access_tokens".into(),
        json!(reach.implicit_access_tokens),
    );
    view.insert(
        "is_fallback_public_client".into(),
        json!(reach.fallback_public_client),
    );
}

/// Properties of `web` and `api` we do not manage, kept in the PATCH so it replaces nothing
/// of theirs.
fn extras_of(live: &Value) -> BTreeMap<&'static str, Value> {
    let mut extras = BTreeMap::new();
    for key in ["web", "api"] {
        if let Some(value) = live.get(key).filter(|v| v.is_object()) {
            extras.insert(key, value.clone());
        }
    }
    extras
}

/// The upsert body: everything on create, only what changed (by view attribute) on update.
fn body(
    wanted: &Wanted,
    changed: Option<&[&str]>,
    extras: &BTreeMap<&'static str, Value>,
) -> Value {
    let wants = |attribute: &str| changed.is_none_or(|c| c.contains(&attribute));
    // Never `tags`: the upsert also lands on an app that exists (a concurrent run made it,
    // or lag hid it from our read), and a whole `tags` there would wipe that run's record.
    // A new app gets its record from the write that follows the 201.
    let mut body = Map::new();
    if wants("display_name") {
        body.insert("displayName".into(), json!(wanted.display_name));
    }
    if wants("sign_in_audience") {
        body.insert("signInAudience".into(), json!(wanted.sign_in_audience));
    }
    let implicit_changed =
        wants("implicit_grant_id_tokens") || wants("implicit_grant_access_tokens");
    if wants("redirect_uris") || implicit_changed {
        let mut web = extras.get("web").cloned().unwrap_or_else(|| json!({}));
        if wants("redirect_uris") {
            web["redirectUris"] = json!(wanted.redirect_uris);
        }
        if implicit_changed {
            let wanted = &Reach::WANTED;
            web["implicitGrantSettings"] = json!({
                "enableIdTokenIssuance": wanted.implicit_id_tokens,
                "enableAccessTokenIssuance": wanted.implicit_access_tokens,
            });
        }
        body.insert("web".into(), web);
    }
    // `spa` and `publicClient` hold nothing but their redirect URIs: sent whole.
    if wants("spa_redirect_uris") {
        body.insert(
            "spa".into(),
            json!({"redirectUris": Reach::WANTED.spa_redirect_uris}),
        );
    }
    if wants("public_client_redirect_uris") {
        body.insert(
            "publicClient".into(),
            json!({"redirectUris": Reach::WANTED.public_client_redirect_uris}),
        );
    }
    if wants("is_fallback_public_client") {
        body.insert(
            "isFallbackPublicClient".into(),
            json!(Reach::WANTED.fallback_public_client),
        );
    }
    if wants("required_resource_access") {
        body.insert(
            "requiredResourceAccess".into(),
            json!(wanted.required_resource_access),
        );
    }
    if let Some(scopes) = wanted.scopes.as_ref().filter(|_| wants("api_scopes")) {
        let mut api = extras.get("api").cloned().unwrap_or_else(|| json!({}));
        api["oauth2PermissionScopes"] = json!(scopes);
        body.insert("api".into(), api);
    }
    if let Some(uris) = wanted
        .identifier_uris
        .as_ref()
        .filter(|_| wants("identifier_uris"))
    {
        body.insert("identifierUris".into(), json!(uris));
    }
    Value::Object(body)
}

/// Graph refuses to change or remove an enabled scope: the first PATCH disables the ones that
/// will change or go, leaving them otherwise as they are.
fn disable_first(app: &Application, wanted: &Wanted) -> Option<Value> {
    let wanted_scopes = wanted.scopes.as_ref()?;
    let live_api = serde_json::to_value(app.api.as_ref()?).ok()?;
    let live_scopes = live_api.get("oauth2PermissionScopes")?.as_array()?.clone();
    let mut needed = false;
    let patched: Vec<Value> = live_scopes
        .into_iter()
        .map(|mut scope| {
            let enabled = scope.get("isEnabled") == Some(&json!(true));
            let keeps = wanted_scopes.iter().any(|w| same_scope(w, &scope));
            if enabled && !keeps {
                needed = true;
                scope["isEnabled"] = json!(false);
            }
            scope
        })
        .collect();
    needed.then(|| {
        let mut api = live_api.clone();
        api["oauth2PermissionScopes"] = json!(patched);
        json!({"api": api})
    })
}

fn same_scope(wanted: &Value, live: &Value) -> bool {
    [
        "id",
        "value",
        "type",
        "isEnabled",
        "adminConsentDisplayName",
        "adminConsentDescription",
        "userConsentDisplayName",
        "userConsentDescription",
    ]
    .iter()
    .all(|k| wanted.get(*k).unwrap_or(&Value::Null) == live.get(*k).unwrap_or(&Value::Null))
}

/// Applies [`Op::UpsertApplication`].
async fn upsert(
    ctx: &ApplyContext<'_>,
    body: &Value,
    disable_scopes_first: Option<&Value>,
) -> Result<(), ApplyError> {
    let path = odata::by_key("applications", "uniqueName", &ctx.desired.app.unique_name);
    disable_scopes(ctx, &path, disable_scopes_first).await?;
    let response = ctx
        .client
        .send(&Request::patch(&path, body.clone()).header("Prefer", "create-if-missing"))
        .await?;
    let app: Application = if response.status == 201 {
        let app: Application = response.json()?;
        ctx.learn_application(
            app.id.clone().unwrap_or_default(),
            app.app_id.clone().unwrap_or_default(),
        );
        // Recorded at once, so a secret made for it and never delivered is provably an
        // orphan (an app without a record has all its secrets trusted).
        ctx.record_new_app().await?;
        app
    } else if ctx.known().app_id.is_some() {
        return Ok(());
    } else {
        // 204 carries no body; learn the ids (the app may still be replicating).
        ctx.retry_while_replicating(
            "the application",
            |e| e.status() == Some(404),
            || ctx.client.get::<Application>(&path),
        )
        .await?
    };
    ctx.learn_application(app.id.unwrap_or_default(), app.app_id.unwrap_or_default());
    Ok(())
}

/// Graph refuses to change an enabled scope: the PATCH that disables the ones that change
/// goes first.
async fn disable_scopes(
    ctx: &ApplyContext<'_>,
    path: &str,
    disable_scopes_first: Option<&Value>,
) -> Result<(), ApplyError> {
    if let Some(first) = disable_scopes_first {
        ctx.progress
            .note("disabling the exposed scopes that change, as Graph requires");
        ctx.client
            .send(&Request::patch(path, first.clone()))
            .await?;
    }
    Ok(())
}

/// Applies [`Op::AdoptApplication`]: our `uniqueName`, the record and the corrections
/// in one PATCH of the portal-made app's object id.
async fn adopt(
    ctx: &ApplyContext<'_>,
    id: &str,
    body: &Value,
    record: &[crate::ownership::Entry],
    disable_scopes_first: Option<&Value>,
) -> Result<(), ApplyError> {
    let path = format!("applications/{id}");
    disable_scopes(ctx, &path, disable_scopes_first).await?;
    ctx.write_record_with(record, &[], body).await
}

/// Applies [`Op::SetIdentifierUris`].
async fn set_identifier_uris(ctx: &ApplyContext<'_>, template: &str) -> Result<(), ApplyError> {
    let known = ctx.known();
    let (Some(object_id), Some(app_id)) = (known.app_object_id, known.app_id) else {
        return Err(ApplyError::Missing("the application's ids"));
    };
    let uri =
        crate::config::fill_identifier_uri(template, &app_id, &ctx.desired.tenant_id.to_string());
    let request = Request::patch(
        format!("applications/{object_id}"),
        json!({"identifierUris": [uri]}),
    );
    ctx.retry_while_replicating(
        "the new application",
        |e| e.status() == Some(404),
        || ctx.client.send(&request),
    )
    .await?;
    Ok(())
}

/// Applies [`Op::DeleteApplication`] (its secrets and home-tenant service principal go
/// with it); already gone is fine.
async fn delete(ctx: &ApplyContext<'_>, id: &str) -> Result<(), ApplyError> {
    Ok(ctx.delete_if_present(&format!("applications/{id}")).await?)
}
