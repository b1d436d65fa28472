//! `/info/` endpoints: the valid options of choice fields.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use careernexus_actors::choices;
use serde_json::json;

use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/info/choice-data/").route(web::get().to(choice_data)));
}

#[utoipa::path(get, path = "/info/choice-data/", tag = "info",
    params(("field_name" = Option<String>, Query, description = "A choice field; omit to list the field names")),
    responses((status = 200, description = "`{\"field_names\": […]}` or `{\"field_name\": …, \"Valid options\": […]}`"),
              (status = 400, description = "Unknown field name")))]
pub async fn choice_data(
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let Some(name) = query
        .get("field_name")
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
    else {
        let names: Vec<&str> = choices::ALL.iter().map(|field| field.name).collect();
        return Ok(HttpResponse::Ok().json(json!({ "field_names": names })));
    };
    let field = choices::field(name).ok_or_else(|| {
        let names: Vec<&str> = choices::ALL.iter().map(|field| field.name).collect();
        ApiError::field(
            "field_name",
            format!(
                "'{name}' is not a choice field. Valid field names: {}.",
                names.join(", ")
            ),
        )
    })?;
    Ok(
        HttpResponse::Ok()
            .json(json!({ "field_name": field.name, "Valid options": field.options })),
    )
}
