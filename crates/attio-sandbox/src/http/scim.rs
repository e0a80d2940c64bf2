//! `GET /scim/v2/Schemas`: the SCIM 2.0 resource schemas Attio serves (RFC 7643 §7), User (a
//! workspace member) and Group (a team), as a SCIM list response. It takes a bearer token like
//! every other operation; Attio's document asks for `scim_management:read-write`.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::extract::{Authorized, ScopeSet};
use crate::Sandbox;

pub(super) struct ManageScim;
impl ScopeSet for ManageScim {
    const REQUIRED: &'static [&'static str] = &["scim_management:read-write"];
}

pub(super) fn router() -> Router<Sandbox> {
    Router::new().route("/scim/v2/Schemas", get(schemas))
}

async fn schemas(_auth: Authorized<ManageScim>) -> Json<Value> {
    let resources = [user_schema(), group_schema()];
    Json(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    }))
}

/// One attribute definition with the characteristics RFC 7643 §7 lists.
fn attribute(name: &str, kind: &str, multi: bool, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    })
}

fn schema(id: &str, name: &str, description: &str, attributes: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("/scim/v2/Schemas/{id}"),
        },
    })
}

fn user_schema() -> Value {
    let mut user_name = attribute(
        "userName",
        "string",
        false,
        "The member's primary email address.",
    );
    user_name["required"] = json!(true);
    user_name["uniqueness"] = json!("server");
    let mut name = attribute("name", "complex", false, "The member's name.");
    name["subAttributes"] = json!([
        attribute("givenName", "string", false, "First name."),
        attribute("familyName", "string", false, "Last name."),
    ]);
    let mut emails = attribute("emails", "complex", true, "The member's email addresses.");
    emails["mutability"] = json!("readOnly");
    emails["subAttributes"] = json!([
        attribute("value", "string", false, "An email address."),
        attribute(
            "primary",
            "boolean",
            false,
            "Whether this is the primary address."
        ),
    ]);
    let active = attribute(
        "active",
        "boolean",
        false,
        "Whether the member can use the workspace (false: suspended).",
    );
    let mut role = attribute(
        "appRole",
        "string",
        false,
        "The member's access level: admin or member.",
    );
    role["canonicalValues"] = json!(["admin", "member"]);
    schema(
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "User",
        "A workspace member",
        vec![user_name, name, emails, active, role],
    )
}

fn group_schema() -> Value {
    let mut display_name = attribute("displayName", "string", false, "The team's name.");
    display_name["required"] = json!(true);
    display_name["uniqueness"] = json!("server");
    let mut members = attribute("members", "complex", true, "The team's members.");
    members["subAttributes"] = json!([
        attribute("value", "string", false, "The member's id."),
        attribute("display", "string", false, "The member's name."),
    ]);
    schema(
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "Group",
        "A team of workspace members",
        vec![display_name, members],
    )
}
