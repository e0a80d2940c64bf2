//! Many workspaces: the public description of one, the input that creates one (shared by
//! [`Sandbox::create_workspace`] and `POST /_sandbox/workspaces`, so both validate alike), and the
//! workspace-aware versions of the typed helpers. The helpers without a workspace act on the first.

use std::collections::HashSet;

use uuid::Uuid;

use crate::ids::SeedIds;
use crate::scopes::ALL_SCOPES;
use crate::seed::{self, SMALL_DATA};
use crate::shared::WorkspaceGuard;
use crate::store::{check_member, AccessLevel, Member, Store, Workspace, WorkspaceKey};
use crate::timestamp::now;
use crate::Sandbox;

/// Longest workspace name and slug accepted.
const MAX_NAME: usize = 128;
const MAX_SLUG: usize = 64;

/// A workspace the sandbox hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceInfo {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
}

/// A member of a workspace to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMember {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub access_level: AccessLevel,
}

/// A workspace to create: a name, a slug unique in the sandbox (lowercase letters, digits and
/// inner hyphens), at least one member of whom at least one is an admin, and with `seed` the
/// small demo data set (six people, three companies, two lists, a dozen tasks, notes, comments
/// and meetings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewWorkspace {
    pub name: String,
    pub slug: String,
    pub members: Vec<NewMember>,
    pub seed: bool,
}

/// Validates and adds a workspace with a random id; member and seed ids derive from it.
pub(crate) fn create(store: &mut Store, new: NewWorkspace) -> Result<WorkspaceKey, String> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(format!("name must be 1 to {MAX_NAME} characters."));
    }
    if !valid_slug(&new.slug) {
        return Err(format!(
            "slug must be 1 to {MAX_SLUG} lowercase letters, digits and inner hyphens, got \"{}\".",
            new.slug
        ));
    }
    if store.slug_taken(&new.slug) {
        return Err(format!(
            "A workspace with slug \"{}\" already exists.",
            new.slug
        ));
    }
    if new.members.is_empty() {
        return Err("A workspace needs at least one member.".to_owned());
    }
    if !new
        .members
        .iter()
        .any(|m| m.access_level == AccessLevel::Admin)
    {
        return Err("A workspace needs at least one admin member.".to_owned());
    }
    let id = Uuid::new_v4();
    let ids = SeedIds::scoped(&id.to_string());
    let joined = now();
    let mut emails = HashSet::new();
    let mut members = Vec::with_capacity(new.members.len());
    for (i, member) in new.members.iter().enumerate() {
        let email = check_member(&member.first_name, &member.last_name, &member.email)
            .map_err(|e| format!("members[{i}]: {e}"))?;
        if !emails.insert(email.to_ascii_lowercase()) {
            return Err(format!(
                "members[{i}]: the email address \"{email}\" is given twice."
            ));
        }
        members.push(Member {
            id: ids.id(&format!("member:{}", email.to_ascii_lowercase())),
            first_name: member.first_name.trim().to_owned(),
            last_name: member.last_name.trim().to_owned(),
            email: email.to_owned(),
            access_level: member.access_level,
            created_at: joined,
        });
    }
    let workspace = Workspace {
        id,
        name: name.to_owned(),
        slug: new.slug,
    };
    let data = new.seed.then_some(&SMALL_DATA);
    Ok(store.add_workspace(seed::build(&ids, workspace, members, data)))
}

fn valid_slug(slug: &str) -> bool {
    (1..=MAX_SLUG).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

impl Sandbox {
    /// The store narrowed to one workspace; `None` for an unknown id.
    pub(crate) fn workspace_store(&self, workspace_id: Uuid) -> Option<WorkspaceGuard<'_>> {
        let store = self.store();
        let key = store.key(workspace_id)?;
        Some(store.into_workspace(key))
    }

    /// The store narrowed to the first workspace.
    pub(crate) fn first_workspace(&self) -> WorkspaceGuard<'_> {
        let store = self.store();
        let key = store.first_key();
        store.into_workspace(key)
    }

    /// Every workspace's id, in creation order: "Acme Demo" and "Globex" in the demo seed, then
    /// those created since.
    pub fn workspace_ids(&self) -> Vec<Uuid> {
        self.store()
            .workspaces()
            .iter()
            .map(|w| w.workspace.id)
            .collect()
    }

    /// Every workspace, in creation order.
    pub fn workspaces(&self) -> Vec<WorkspaceInfo> {
        self.store()
            .workspaces()
            .iter()
            .map(|w| WorkspaceInfo {
                id: w.workspace.id,
                name: w.workspace.name.clone(),
                slug: w.workspace.slug.clone(),
            })
            .collect()
    }

    /// Creates a workspace and returns its id.
    ///
    /// # Errors
    /// A blank or over-long name, an invalid or taken slug, no members or no admin, a member with
    /// a blank name or an invalid or repeated email address.
    pub fn create_workspace(&self, new: NewWorkspace) -> Result<Uuid, String> {
        let mut store = self.store();
        let key = create(&mut store, new)?;
        Ok(store.at(key).workspace.id)
    }

    /// Mints an API key of `workspace_id` acting as its admin; `None` grants every scope.
    /// `None` for an unknown workspace.
    pub fn mint_api_key_in(
        &self,
        workspace_id: Uuid,
        scopes: Option<Vec<String>>,
    ) -> Option<String> {
        let scopes = scopes.unwrap_or_else(|| ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect());
        let mut store = self.store();
        let key = store.key(workspace_id)?;
        Some(store.mint_api_key(key, scopes))
    }

    /// The first admin of `workspace_id`; `None` for an unknown workspace.
    pub fn admin_member_id_in(&self, workspace_id: Uuid) -> Option<Uuid> {
        Some(self.workspace_store(workspace_id)?.admin_member_id())
    }

    /// Member ids of `workspace_id` in order (seeded or given order, then added ones); empty for
    /// an unknown workspace.
    pub fn member_ids_in(&self, workspace_id: Uuid) -> Vec<Uuid> {
        self.workspace_store(workspace_id)
            .map(|w| w.members.iter().map(|m| m.id).collect())
            .unwrap_or_default()
    }

    /// Task ids of `workspace_id`, oldest first; empty for an unknown workspace.
    pub fn task_ids_in(&self, workspace_id: Uuid) -> Vec<Uuid> {
        self.workspace_store(workspace_id)
            .map(|w| w.task_ids())
            .unwrap_or_default()
    }

    /// Webhook ids of `workspace_id`, oldest first, whoever registered them.
    pub fn webhook_ids_in(&self, workspace_id: Uuid) -> Vec<Uuid> {
        self.workspace_store(workspace_id)
            .map(|w| w.webhooks.iter().map(|h| h.id).collect())
            .unwrap_or_default()
    }
}
