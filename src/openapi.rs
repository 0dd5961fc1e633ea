//! The OpenAPI 3.1 document. Paths are collected from the route table itself
//! (utoipa-actix-web), so a route cannot be served without being documented.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "DTI assessment API",
        description = "Runs a province's annual Digital Transformation Index (DTI, Bộ chỉ số đánh giá chuyển đổi số): units, indicator sets, periods, self-assessment with evidence, review, scoring, rankings and publication.\n\nErrors are RFC 9457 `application/problem+json` with a stable `code`; with `Accept-Language: vi` their `title` and (for the common codes) `detail` are in Vietnamese, the English detail kept in `detail_en`. Bulk and import calls take an optional `Idempotency-Key`. Long lists are paged (`page`, `page_size` ≤ 500) in an `{items, page, page_size, total}` envelope; small bounded lists are bare arrays, unpaged: ranking groups, a period's assessments (one per unit), public periods, a period's publications, an assessment's clarifications, a component's evidence, integration tokens. Decimal points are JSON strings (\"12.5\") so that no precision is lost.\n\nTry it here: open `POST /api/v1/auth/login`, *Try it out*, *Execute* (the example is the demo administrator), copy `access_token` into *Authorize*; the authorisation is kept across reloads. Demo accounts (demo mode only, password `demo-dti-2026`): `admin`, `reviewer.01`, `viewer.ubnd`, `editor.skhcn` and `leader.skhcn` (a department), `editor.xa-bac-ha` and `leader.xa-bac-ha` (a commune).",
        license(name = "MIT"),
        contact(name = "DTI API team")
    ),
    servers((url = "/", description = "This server")),
    tags(
        (name = "auth", description = "Log in and find out who you are"),
        (name = "users", description = "Accounts (admin)"),
        (name = "units", description = "Assessed units and their lineage"),
        (name = "ranking-groups", description = "Groups of units ranked against each other"),
        (name = "indicator-sets", description = "Indicator sets (bộ chỉ số): versioned documents, validation, activation"),
        (name = "periods", description = "Assessment periods (kỳ đánh giá) and their phases"),
        (name = "assessments", description = "Self-assessment: answers, explained scores, what-if"),
        (name = "workflow", description = "Submit, return, adjust, finalise, reopen"),
        (name = "rankings", description = "Competition rankings per group, pillar and main indicator"),
        (name = "clarifications", description = "Threads on one component between reviewers and the unit"),
        (name = "evidence", description = "Evidence files and references (tài liệu kiểm chứng)"),
        (name = "imports", description = "Province data from CSV, XLSX, ODS or JSON rows: dry run, conflicts per row, all or nothing or partial"),
        (name = "jobs", description = "Long work (large imports) run in the background: state, progress, result, cancel"),
        (name = "publications", description = "Immutable published snapshots and errata"),
        (name = "public", description = "Published results for the provincial portal; no token"),
        (name = "audit", description = "The append-only audit trail"),
        (name = "integration", description = "Scoped tokens for scripts and national platforms"),
        (name = "tasks", description = "What waits for the caller now, by role"),
        (name = "webhooks", description = "Event notifications to other systems (Standard Webhooks): receivers, delivery log, redelivery"),
        (name = "operations", description = "Health and metrics")
    ),
    components(schemas(
        crate::error::Problem,
        crate::error::FieldError,
        crate::domain::events::WebhookPayload,
        // closed sets used only by query parameters (utoipa registers those of bodies itself)
        crate::domain::workflow::PeriodPhase,
        crate::domain::SetStatus,
        crate::domain::UnitKind,
        crate::db::models::units::UnitSort,
        crate::api::indicator_sets::SetExportForm,
    )),
    modifiers(&SecurityAddon)
)]
pub struct ApiDoc;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".into());
        http.description = Some("A token from POST /api/v1/auth/login.".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
        let mut metrics = Http::new(HttpAuthScheme::Bearer);
        metrics.description = Some("The METRICS_TOKEN of the deployment (GET /metrics).".into());
        components.add_security_scheme("metrics_token", SecurityScheme::Http(metrics));
    }
}

/// Every route of the service, for the app and for the document alike.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(crate::api::health::configure)
        .configure(crate::api::configure);
}

/// The document the service serves at `/api-docs/openapi.json` (see [`openapi`]).
pub fn openapi_value() -> serde_json::Value {
    crate::openapi_refine::refined(&generated())
}

/// The document as utoipa generates it from the routes, before [`crate::openapi_refine`].
pub fn generated() -> utoipa::openapi::OpenApi {
    let (_, doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    doc
}

/// The served document (as JSON: see [`openapi_value`]).
pub fn openapi() -> serde_json::Value {
    openapi_value()
}

/// Pretty JSON as committed in `openapi/openapi.json`.
pub fn openapi_json() -> String {
    let mut s = serde_json::to_string_pretty(&openapi()).unwrap_or_default();
    s.push('\n');
    s
}
