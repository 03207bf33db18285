//! The JSON API under `/api/v1` and its OpenAPI document.
//!
//! Routes are registered through `utoipa_axum::routes!`, which takes each
//! handler's `#[utoipa::path]` as the single source of both the route and its
//! documentation, so the document served at `/api/openapi.json` cannot list a
//! route the router lacks or miss one it has (an integration test checks this
//! from the outside too). Authentication is a personal token
//! (`Authorization: Bearer atl_...`) or a browser session plus CSRF header;
//! authorization is the same [`crate::access::require`] the pages use.

mod accounts;
mod invitations;
mod me;
mod members;
pub(crate) mod mentions;
mod sources;
mod tokens;
mod topics;
mod workspaces;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Atalaya API",
        description = "Workspaces, members and invitations, audit log, personal tokens and listening (topics, sources, connected accounts, mentions, saved views) of an Atalaya instance. \
                       Errors use one format: `{\"error\":{\"code\":\"...\",\"message\":\"...\"}}`."
    ),
    modifiers(&BearerSecurity),
    security(("bearer" = [])),
    components(schemas(crate::error::ErrorBody))
)]
struct ApiDoc;

struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("atl_ personal token")
                    .description(Some("A personal API token created on the account page."))
                    .build(),
            ),
        );
    }
}

/// The API routes and the OpenAPI document describing exactly them.
pub(crate) fn router(state: &AppState) -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let mut doc = ApiDoc::openapi();
    if let Some(url) = &state.settings().public_url {
        doc.servers = Some(vec![utoipa::openapi::Server::new(
            url.trim_end_matches('/'),
        )]);
    }
    OpenApiRouter::with_openapi(doc)
        .routes(routes!(me::me))
        .routes(routes!(workspaces::list))
        .routes(routes!(workspaces::get))
        .routes(routes!(
            workspaces::get_languages,
            workspaces::update_languages
        ))
        .routes(routes!(members::list, members::add))
        .routes(routes!(members::change_role, members::remove))
        .routes(routes!(invitations::list, invitations::create))
        .routes(routes!(invitations::revoke))
        .routes(routes!(workspaces::audit))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(topics::list, topics::create))
        .routes(routes!(topics::test))
        .routes(routes!(topics::get, topics::update, topics::delete))
        .routes(routes!(sources::list, sources::create))
        .routes(routes!(sources::get, sources::update, sources::archive))
        .routes(routes!(mentions::list))
        .routes(routes!(mentions::get))
        .routes(routes!(mentions::correct_sentiment))
        .routes(routes!(mentions::list_views, mentions::create_view))
        .routes(routes!(mentions::delete_view))
        .routes(routes!(mentions::daily))
        .routes(routes!(mentions::daily_sentiment))
        .routes(routes!(accounts::list))
        .routes(routes!(accounts::connect_bluesky))
        .routes(routes!(accounts::disconnect))
        .split_for_parts()
}
