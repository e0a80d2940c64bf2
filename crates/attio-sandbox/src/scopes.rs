//! Attio's OAuth scope vocabulary: the full list, what each scope grants, and the read/read-write rule.

/// Every scope Attio defines (attio-api.md 1.5), in both its `:read` and `:read-write` form.
pub const ALL_SCOPES: &[&str] = &[
    "user_management:read",
    "user_management:read-write",
    "record_permission:read",
    "record_permission:read-write",
    "object_configuration:read",
    "object_configuration:read-write",
    "list_entry:read",
    "list_entry:read-write",
    "list_configuration:read",
    "list_configuration:read-write",
    "public_collection:read",
    "public_collection:read-write",
    "private_collection:read",
    "private_collection:read-write",
    "comment:read",
    "comment:read-write",
    "task:read",
    "task:read-write",
    "note:read",
    "note:read-write",
    "meeting:read",
    "meeting:read-write",
    "call_recording:read",
    "call_recording:read-write",
    "webhook:read",
    "webhook:read-write",
    "file:read",
    "file:read-write",
    "scim_management:read",
    "scim_management:read-write",
];

/// Consent-page wording per scope base: (base, what `:read` allows, what `:read-write` allows).
const DESCRIPTIONS: &[(&str, &str, &str)] = &[
    (
        "user_management",
        "See the members of the workspace",
        "See and manage the members of the workspace",
    ),
    (
        "record_permission",
        "See records such as people and companies",
        "See, create and change records such as people and companies",
    ),
    (
        "object_configuration",
        "See objects and their attributes",
        "See and change objects and their attributes",
    ),
    (
        "list_entry",
        "See list entries",
        "See and change list entries",
    ),
    (
        "list_configuration",
        "See lists and their attributes",
        "See and change lists and their attributes",
    ),
    (
        "public_collection",
        "See the settings and data of public collections",
        "See and change the settings and data of public collections",
    ),
    (
        "private_collection",
        "See the settings and data of every collection, whatever its access settings",
        "See and change the settings and data of every collection, whatever its access settings",
    ),
    (
        "comment",
        "See comments and threads",
        "See comments and threads, and write comments",
    ),
    ("task", "See tasks", "See, create, change and delete tasks"),
    ("note", "See notes", "See, create, change and delete notes"),
    ("meeting", "See meetings", "See, create and change meetings"),
    (
        "call_recording",
        "See call recordings, their transcripts and speakers",
        "See and manage call recordings, their transcripts and speakers",
    ),
    (
        "webhook",
        "See webhooks",
        "See, create, change and delete webhooks",
    ),
    ("file", "See files", "See and upload files"),
    (
        "scim_management",
        "See users through SCIM",
        "Manage users through SCIM",
    ),
];

/// Whether `scope` is one of [`ALL_SCOPES`].
pub(crate) fn is_known(scope: &str) -> bool {
    ALL_SCOPES.contains(&scope)
}

/// A human description of a known scope, for the consent page.
pub(crate) fn describe(scope: &str) -> &'static str {
    let (base, write) = match scope.rsplit_once(':') {
        Some((base, "read")) => (base, false),
        Some((base, "read-write")) => (base, true),
        _ => return "An unrecognised permission",
    };
    DESCRIPTIONS
        .iter()
        .find(|(name, _, _)| *name == base)
        .map(|(_, read, read_write)| if write { *read_write } else { *read })
        .unwrap_or("An unrecognised permission")
}

/// Whether `granted` satisfies `required`; `X:read-write` also satisfies `X:read`.
pub(crate) fn grants(granted: &[String], required: &str) -> bool {
    granted.iter().any(|scope| {
        scope == required
            || required
                .strip_suffix(":read")
                .is_some_and(|base| scope.strip_suffix(":read-write") == Some(base))
    })
}

/// Parses a space- or comma-separated scope list, rejecting unknown scopes.
///
/// # Errors
/// Names the first scope that is not in [`ALL_SCOPES`].
pub fn parse_scope_list(list: &str) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in list.split([' ', ',', '\t', '\n']).filter(|s| !s.is_empty()) {
        if !is_known(scope) {
            return Err(format!("unknown scope \"{scope}\""));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_has_a_description() {
        for scope in ALL_SCOPES {
            assert_ne!(describe(scope), "An unrecognised permission", "{scope}");
        }
        assert_eq!(ALL_SCOPES.len(), 2 * DESCRIPTIONS.len());
    }

    #[test]
    fn read_write_satisfies_read_but_not_the_reverse() {
        let rw = vec!["task:read-write".to_owned()];
        assert!(grants(&rw, "task:read"));
        assert!(grants(&rw, "task:read-write"));
        let r = vec!["task:read".to_owned()];
        assert!(!grants(&r, "task:read-write"));
        assert!(!grants(&rw, "note:read"));
    }

    #[test]
    fn scope_lists_accept_spaces_and_commas_and_reject_unknown_names() {
        assert_eq!(
            parse_scope_list("task:read, webhook:read-write").as_deref(),
            Ok(&["task:read".to_owned(), "webhook:read-write".to_owned()][..])
        );
        assert!(parse_scope_list("task:write").is_err());
    }
}
