//! How Taskr names a record on its pages: "Initech · Company", linked to the record's page in
//! Attio's web app, or marked deleted or merged; and an object by its nouns. Pure functions of
//! what the cache holds, shared by the tasks page and the activity feed.
//!
//! The link: Attio documents a `web_url` on every record ("a URL that links directly to the
//! record page in the Attio web application", example `https://app.attio.com/salarya/person/
//! <record id>`). Taskr keeps it and shows its path on the configured Attio app URL, so that
//! the link works against the sandbox too. For a record it has not read yet it builds the same
//! shape itself: `<app URL>/<workspace slug>/<object api_slug>/<record id>`. That built form
//! is UNCONFIRMED (the example shows a singular `person` where the slug is `people`; secondary
//! sources show both `…/person/<id>` and `…/deals/record/<id>`); docs/architecture.md says so.

use std::collections::HashMap;

use url::Url;
use uuid::Uuid;

use crate::store::{CachedRecord, ObjectInfo};

/// A workspace's objects, by id and by slug (tasks and events name an object either way).
#[derive(Debug, Default)]
pub struct Objects {
    by_key: HashMap<String, ObjectInfo>,
}

impl Objects {
    pub fn new(objects: Vec<ObjectInfo>) -> Self {
        let mut by_key = HashMap::new();
        for object in objects {
            by_key.insert(object.api_slug.clone(), object.clone());
            by_key.insert(object.object_id.to_string(), object);
        }
        Self { by_key }
    }

    /// The object a slug or an id names.
    pub fn get(&self, slug_or_id: &str) -> Option<&ObjectInfo> {
        self.by_key.get(slug_or_id)
    }
}

/// A record as a page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordView {
    pub id: Uuid,
    /// Its name; `None` when Taskr has not read it (or may not).
    pub name: Option<String>,
    /// The object's singular noun ("Company").
    pub noun: String,
    /// Its page in Attio; `None` once it is deleted or merged away.
    pub href: Option<String>,
    pub deleted: bool,
    pub merged: bool,
}

impl RecordView {
    /// "Initech · Company"; "Company 7ebcdcfc" before its name is known; "Unnamed · Company"
    /// for a record without one.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("{name} · {}", self.noun),
            None => format!("{} {}", self.noun, short(&self.id.to_string())),
        }
    }

    /// Just the name, or the label when the name is unknown (for sentences: "commented on
    /// Initech").
    pub fn short_label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.label())
    }

    /// What follows the label: why there is no link.
    pub fn note(&self) -> Option<&'static str> {
        if self.deleted {
            Some("(deleted in Attio)")
        } else if self.merged {
            Some("(merged)")
        } else {
            None
        }
    }
}

/// The first eight characters of an id.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// What names records in one workspace.
pub struct Naming<'a> {
    pub app_url: &'a Url,
    pub workspace_slug: &'a str,
    pub objects: &'a Objects,
}

impl Naming<'_> {
    /// The record `id` of `object` (a slug or an id), with what the cache knows of it.
    pub fn record(&self, object: &str, id: Uuid, cached: Option<&CachedRecord>) -> RecordView {
        let object = cached
            .and_then(|c| c.object_id.map(|o| o.to_string()))
            .filter(|o| self.objects.get(o).is_some())
            .unwrap_or_else(|| object.to_owned());
        let deleted = cached.is_some_and(|c| c.deleted);
        let merged = cached.is_some_and(|c| c.merged_into.is_some());
        let name = cached.and_then(|c| match (&c.name, c.fetched_ms) {
            (Some(name), _) if !name.trim().is_empty() => Some(name.clone()),
            (_, Some(_)) => Some("Unnamed".to_owned()),
            _ => None,
        });
        RecordView {
            id,
            name,
            noun: self.noun(&object),
            href: (!deleted && !merged)
                .then(|| self.url(&object, id, cached.and_then(|c| c.web_url.as_deref())))
                .flatten(),
            deleted,
            merged,
        }
    }

    /// The object's singular noun: from the objects list, else the standard ones by slug,
    /// else the slug itself.
    pub fn noun(&self, object: &str) -> String {
        match self.objects.get(object) {
            Some(o) => o.singular_noun.clone(),
            None => match object {
                "people" => "Person".to_owned(),
                "companies" => "Company".to_owned(),
                "deals" => "Deal".to_owned(),
                _ if Uuid::parse_str(object).is_ok() => "Record".to_owned(),
                other => other.to_owned(),
            },
        }
    }

    /// The object's plural noun ("Deals"), or "an object" when unknown.
    pub fn plural(&self, object: &str) -> Option<String> {
        self.objects.get(object).map(|o| o.plural_noun.clone())
    }

    /// The record's page in Attio's web app: the path of the `web_url` Attio gave, on the
    /// configured app URL; or the built form when Attio gave none.
    pub fn url(&self, object: &str, id: Uuid, web_url: Option<&str>) -> Option<String> {
        let mut url = self.app_url.clone();
        match web_url.and_then(|w| Url::parse(w).ok()) {
            Some(given) => {
                url.set_path(given.path());
                url.set_query(given.query());
            }
            None => {
                let slug = self
                    .objects
                    .get(object)
                    .map(|o| o.api_slug.as_str())
                    .or_else(|| Uuid::parse_str(object).is_err().then_some(object))?;
                url.path_segments_mut().ok()?.clear().extend([
                    self.workspace_slug,
                    slug,
                    &id.to_string(),
                ]);
            }
        }
        url.set_fragment(None);
        Some(url.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects() -> Objects {
        Objects::new(vec![ObjectInfo {
            object_id: Uuid::from_u128(7),
            api_slug: "companies".into(),
            singular_noun: "Company".into(),
            plural_noun: "Companies".into(),
        }])
    }

    fn cached(name: Option<&str>) -> CachedRecord {
        CachedRecord {
            record_id: Uuid::from_u128(1),
            object: "companies".into(),
            object_id: Some(Uuid::from_u128(7)),
            name: name.map(str::to_owned),
            web_url: None,
            deleted: false,
            merged_into: None,
            fetched_ms: name.map(|_| 1),
            problem: None,
        }
    }

    #[test]
    fn a_record_is_named_with_its_noun_and_linked_into_attio() {
        let app = Url::parse("http://127.0.0.1:3051").unwrap();
        let objects = objects();
        let naming = Naming {
            app_url: &app,
            workspace_slug: "acme-demo",
            objects: &objects,
        };
        let id = Uuid::from_u128(1);
        let view = naming.record("companies", id, Some(&cached(Some("Initech"))));
        assert_eq!(view.label(), "Initech · Company");
        assert_eq!(
            view.href.as_deref(),
            Some("http://127.0.0.1:3051/acme-demo/companies/00000000-0000-0000-0000-000000000001")
        );
        let unread = naming.record(&Uuid::from_u128(7).to_string(), id, None);
        assert_eq!(unread.label(), "Company 00000000");
        assert_eq!(unread.href, view.href, "the object id finds the slug");

        let mut given = cached(Some("Initech"));
        given.web_url = Some("https://app.attio.com/acme-demo/company/x?tab=notes#top".into());
        assert_eq!(
            naming.record("companies", id, Some(&given)).href.as_deref(),
            Some("http://127.0.0.1:3051/acme-demo/company/x?tab=notes"),
            "Attio's own web_url, on the configured app"
        );

        let mut gone = cached(Some("Initech"));
        gone.deleted = true;
        let view = naming.record("companies", id, Some(&gone));
        assert_eq!(view.href, None);
        assert_eq!(view.note(), Some("(deleted in Attio)"));

        let nameless = naming.record("companies", id, Some(&cached(Some(" "))));
        assert_eq!(nameless.label(), "Unnamed · Company");
        assert_eq!(naming.noun("people"), "Person", "before objects are read");
        assert_eq!(
            naming.url(&Uuid::from_u128(9).to_string(), id, None),
            None,
            "an unknown object id makes no link"
        );
    }
}
