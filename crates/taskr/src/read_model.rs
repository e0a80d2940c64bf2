//! The read model: what page views read, kept in this process's memory so that a warm page
//! view makes no database round trip (each one costs a hop to a database thread and back,
//! which is where a page view's time went: see BENCHMARKS.md, "Pages").
//!
//! It caches copies, never decides anything: a miss reads the store, as before. A copy is
//! dropped when what it copies changes, never after a time:
//! - every change to a workspace's cache, feed or health is already published as a
//!   [`LiveEvent`](crate::live::LiveEvent) through the coordinator (open pages follow them);
//!   the same message drops the workspace's copies here, on every instance;
//! - a change to a user's session or Attio link sends `UserChanged`, which drops the user's
//!   copies (kept only by a single instance: see below);
//! - a delivery stored anywhere wakes the workers; that drops every copy of the count of
//!   deliveries waiting.
//!
//! The coordinator applies a message here synchronously as it is sent, so this instance's next
//! page view sees its own writes; other instances drop their copies when the message reaches
//! them through PostgreSQL (about a millisecond). That window is acceptable for what a
//! workspace shows, not for who is logged in: with several instances, sessions and links are
//! read from the database on every view, so that a log-out or a disconnect on one instance
//! holds on the next request to any other. While an instance may be missing messages
//! (its listening connection is down) it reads through to the store and keeps nothing; after
//! it listens again everything is dropped. A value read from the store while a message
//! arrives is not kept (each message moves an epoch that a read-through checks before keeping
//! what it read), so a slow read can never put back what a change just dropped.
//!
//! What time changes is computed at each view from what is cached (overdue deadlines, "last
//! synced" and its staleness); the inbox figures say themselves until when they stay true.
//! Memory is bounded: sessions, workspaces and pages each have a fixed ceiling, and a map
//! that reaches it is emptied (the next views read through and fill it again).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use uuid::Uuid;

use crate::naming::Objects;
use crate::store::{
    ActivityPage, ActivityQuery, Backlog, InboxHealth, Link, Store, StoreResult, TaskList,
    TaskQuery, User, UserId, Workspace, WorkspaceId,
};

/// Live sessions kept at most (about 100 bytes each).
const MAX_SESSIONS: usize = 65_536;
/// Workspaces whose heads and inbox figures are kept at most.
const MAX_WORKSPACES: usize = 4_096;
/// Pages of tasks or of the feed kept at most, over all workspaces (each up to 50 entries and
/// their rendered rows, about 75 KiB: some 19 MiB in all).
const MAX_PAGES: usize = 256;

/// What to drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forget {
    /// Everything about one workspace (its cache, feed or health changed).
    Workspace(WorkspaceId),
    /// A user's sessions and Attio link.
    User(UserId),
    /// Every workspace's count of deliveries not applied yet (a delivery was stored). The
    /// late count needs no message for that: a delivery stored now is late no sooner than
    /// `late_after_ms` from now, which its copy already allows for.
    Inbox,
    /// Everything (this instance may have missed messages).
    Everything,
}

/// A page of tasks or of the feed as the store gave it, and the HTML the web layer rendered of
/// it: kept with the page, so dropped with it.
pub struct Page<T> {
    data: T,
    rendered: Mutex<Option<(i64, Arc<str>)>>,
}

impl<T> Page<T> {
    fn new(data: T) -> Self {
        Self {
            data,
            rendered: Mutex::new(None),
        }
    }

    /// What `render` makes of the page, made once for each `key` (whatever else the HTML
    /// depends on that can change while the page is kept, such as the day).
    pub fn rendered<E>(
        &self,
        key: i64,
        render: impl FnOnce(&T) -> Result<String, E>,
    ) -> Result<Arc<str>, E> {
        let lock = || {
            self.rendered
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some((made_for, html)) = lock().as_ref() {
            if *made_for == key {
                return Ok(html.clone());
            }
        }
        let html: Arc<str> = render(&self.data)?.into();
        *lock() = Some((key, html.clone()));
        Ok(html)
    }
}

impl<T> std::ops::Deref for Page<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

/// A workspace as its pages show it, apart from the lists.
#[derive(Debug)]
pub struct WorkspaceHead {
    pub workspace: Workspace,
    /// The webhook's status as Attio last reported it; `None` before it is registered.
    pub webhook_status: Option<String>,
    /// Member display names by member id.
    pub member_names: HashMap<Uuid, String>,
    /// The workspace's objects (their nouns), found by id or by slug.
    pub objects: Objects,
}

#[derive(Clone, Default)]
pub struct ReadModel {
    inner: Arc<Inner>,
}

struct Inner {
    /// Several instances share the database: sessions and links are never kept.
    shared: bool,
    maps: Mutex<Maps>,
    /// Moved (under the lock) by every `forget`: a read-through started before keeps nothing.
    epoch: AtomicU64,
    /// False while this instance may be missing messages: nothing is read from or kept here.
    trusted: AtomicBool,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            shared: false,
            maps: Mutex::default(),
            epoch: AtomicU64::new(0),
            trusted: AtomicBool::new(true),
        }
    }
}

#[derive(Default)]
struct Maps {
    sessions: HashMap<Vec<u8>, SessionCopy>,
    links: HashMap<UserId, Option<Arc<Link>>>,
    workspaces: HashMap<WorkspaceId, WorkspaceCopies>,
    /// Pages kept over all workspaces.
    pages: usize,
}

#[derive(Clone)]
struct SessionCopy {
    user: User,
    expires_at: i64,
}

#[derive(Default)]
struct WorkspaceCopies {
    head: Option<Arc<WorkspaceHead>>,
    tasks: HashMap<TaskQuery, Arc<Page<TaskList>>>,
    activity: HashMap<ActivityQuery, Arc<Page<ActivityPage>>>,
    health: Option<InboxHealth>,
    backlog: Option<Backlog>,
}

impl WorkspaceCopies {
    fn pages(&self) -> usize {
        self.tasks.len() + self.activity.len()
    }
}

impl Maps {
    fn workspace(&mut self, id: WorkspaceId) -> &mut WorkspaceCopies {
        if self.workspaces.len() >= MAX_WORKSPACES && !self.workspaces.contains_key(&id) {
            self.workspaces.clear();
            self.pages = 0;
        }
        self.workspaces.entry(id).or_default()
    }

    /// Makes room for one more page.
    fn room_for_page(&mut self) {
        if self.pages >= MAX_PAGES {
            for copies in self.workspaces.values_mut() {
                copies.tasks.clear();
                copies.activity.clear();
            }
            self.pages = 0;
        }
        self.pages += 1;
    }

    fn drop_workspace(&mut self, id: WorkspaceId) {
        if let Some(copies) = self.workspaces.remove(&id) {
            self.pages -= copies.pages();
        }
    }
}

impl ReadModel {
    /// The read model of one instance among several (`shared`), or of the only one.
    pub fn new(shared: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                shared,
                ..Inner::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Maps> {
        // A panic while holding the lock leaves only copies behind; they are still copies.
        self.inner
            .maps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn trusted(&self) -> bool {
        self.inner.trusted.load(Ordering::Acquire)
    }

    /// Drops the copies `what` names. Called by the coordinator for every message it sends
    /// or hears.
    pub fn forget(&self, what: Forget) {
        let mut maps = self.lock();
        self.inner.epoch.fetch_add(1, Ordering::AcqRel);
        match what {
            Forget::Workspace(id) => maps.drop_workspace(id),
            Forget::User(user) => {
                maps.links.remove(&user);
                maps.sessions.retain(|_, copy| copy.user.id != user);
            }
            Forget::Inbox => {
                for copies in maps.workspaces.values_mut() {
                    copies.backlog = None;
                }
            }
            Forget::Everything => *maps = Maps::default(),
        }
    }

    /// This instance may be missing messages from now on: read through, keep nothing.
    pub fn distrust(&self) {
        self.inner.trusted.store(false, Ordering::Release);
        self.forget(Forget::Everything);
    }

    /// This instance hears every message again (after `distrust`): drop what may be stale
    /// and keep copies again.
    pub fn trust(&self) {
        self.forget(Forget::Everything);
        self.inner.trusted.store(true, Ordering::Release);
    }

    /// A copy if there is one, else `load` from the store, kept by `keep` unless a message
    /// arrived meanwhile.
    async fn read_through<T: Clone>(
        &self,
        copy: impl FnOnce(&mut Maps) -> Option<T>,
        load: impl Future<Output = StoreResult<T>>,
        keep: impl FnOnce(&mut Maps, T),
    ) -> StoreResult<T> {
        if !self.trusted() {
            return load.await;
        }
        let epoch = {
            let mut maps = self.lock();
            if let Some(found) = copy(&mut maps) {
                return Ok(found);
            }
            self.inner.epoch.load(Ordering::Acquire)
        };
        let value = load.await?;
        let mut maps = self.lock();
        if self.trusted() && self.inner.epoch.load(Ordering::Acquire) == epoch {
            keep(&mut maps, value.clone());
        }
        Ok(value)
    }

    /// The user of a live session (`id_hash` as stored), or `None`.
    pub async fn session(
        &self,
        store: &dyn Store,
        id_hash: &[u8],
        now: i64,
    ) -> StoreResult<Option<User>> {
        if self.inner.shared {
            return store.session_user(id_hash, now).await;
        }
        let found = self
            .read_through(
                |maps| {
                    let copy = maps.sessions.get(id_hash)?;
                    if copy.expires_at > now {
                        Some(Some(copy.clone()))
                    } else {
                        maps.sessions.remove(id_hash);
                        None
                    }
                },
                async {
                    Ok(store
                        .session(id_hash, now)
                        .await?
                        .map(|session| SessionCopy {
                            user: session.user,
                            expires_at: session.expires_at,
                        }))
                },
                // Only live sessions are kept: an unknown cookie costs a read, as before, and
                // cannot fill the map with nothing.
                |maps, found| {
                    if let Some(copy) = found {
                        if maps.sessions.len() >= MAX_SESSIONS {
                            maps.sessions.clear();
                        }
                        maps.sessions.insert(id_hash.to_vec(), copy);
                    }
                },
            )
            .await?;
        Ok(found.map(|copy| copy.user))
    }

    /// The user's Attio link, active or broken.
    pub async fn link(&self, store: &dyn Store, user: UserId) -> StoreResult<Option<Arc<Link>>> {
        if self.inner.shared {
            return Ok(store.link(user).await?.map(Arc::new));
        }
        self.read_through(
            |maps| maps.links.get(&user).cloned(),
            async { Ok(store.link(user).await?.map(Arc::new)) },
            |maps, link| {
                if maps.links.len() >= MAX_SESSIONS {
                    maps.links.clear();
                }
                maps.links.insert(user, link);
            },
        )
        .await
    }

    /// The workspace, its webhook's status, its members' names and its objects.
    pub async fn head(
        &self,
        store: &dyn Store,
        id: WorkspaceId,
    ) -> StoreResult<Option<Arc<WorkspaceHead>>> {
        self.read_through(
            |maps| {
                maps.workspaces
                    .get(&id)
                    .and_then(|copies| copies.head.clone())
                    .map(Some)
            },
            async {
                let Some(workspace) = store.workspace(id).await? else {
                    return Ok(None);
                };
                let webhook_status = store.webhook_for_workspace(id).await?.map(|w| w.status);
                let member_names = store
                    .members(id)
                    .await?
                    .into_iter()
                    .map(|m| (m.id.workspace_member_id, m.display_name()))
                    .collect();
                let objects = Objects::new(store.objects(id).await?);
                Ok(Some(Arc::new(WorkspaceHead {
                    workspace,
                    webhook_status,
                    member_names,
                    objects,
                })))
            },
            |maps, head| {
                if let Some(head) = head {
                    maps.workspace(id).head = Some(head);
                }
            },
        )
        .await
    }

    /// One page of the workspace's cached tasks. The results of a search are not kept: any text
    /// can be searched for, and keeping each would only push out the pages everyone views.
    pub async fn tasks(
        &self,
        store: &dyn Store,
        id: WorkspaceId,
        query: &TaskQuery,
    ) -> StoreResult<Arc<Page<TaskList>>> {
        if query.search.is_some() {
            return Ok(Arc::new(Page::new(store.tasks(id, query).await?)));
        }
        let key = query.clone();
        let lookup = query;
        self.read_through(
            |maps| maps.workspaces.get(&id)?.tasks.get(lookup).cloned(),
            async { Ok(Arc::new(Page::new(store.tasks(id, query).await?))) },
            |maps, page| {
                maps.room_for_page();
                if maps.workspace(id).tasks.insert(key, page).is_some() {
                    maps.pages -= 1;
                }
            },
        )
        .await
    }

    /// One page of the workspace's activity feed.
    pub async fn activity(
        &self,
        store: &dyn Store,
        id: WorkspaceId,
        query: &ActivityQuery,
    ) -> StoreResult<Arc<Page<ActivityPage>>> {
        let key = query.clone();
        let lookup = key.clone();
        self.read_through(
            |maps| maps.workspaces.get(&id)?.activity.get(&lookup).cloned(),
            async { Ok(Arc::new(Page::new(store.activity(id, query).await?))) },
            move |maps, page| {
                maps.room_for_page();
                if maps.workspace(id).activity.insert(key, page).is_some() {
                    maps.pages -= 1;
                }
            },
        )
        .await
    }

    /// The workspace's late deliveries (see `InboxStore::inbox_health`) at `now_ms`. A copy
    /// serves until the first pending delivery that was not late becomes late, and at most
    /// `late_after_ms` (a delivery stored since then becomes late no sooner).
    pub async fn inbox_health(
        &self,
        store: &dyn Store,
        id: WorkspaceId,
        now_ms: i64,
        late_after_ms: i64,
    ) -> StoreResult<InboxHealth> {
        self.read_through(
            |maps| {
                let copies = maps.workspaces.get_mut(&id)?;
                match &copies.health {
                    Some(health) if health.next_late_ms.is_none_or(|at| now_ms < at) => {
                        Some(health.clone())
                    }
                    _ => {
                        copies.health = None;
                        None
                    }
                }
            },
            async {
                let mut health = store.inbox_health(id, now_ms, late_after_ms).await?;
                let limit = now_ms.saturating_add(late_after_ms);
                health.next_late_ms = Some(health.next_late_ms.map_or(limit, |at| at.min(limit)));
                Ok(health)
            },
            |maps, health| maps.workspace(id).health = Some(health),
        )
        .await
    }

    /// The workspace's deliveries not applied yet (the feed's backlog line).
    pub async fn backlog(&self, store: &dyn Store, id: WorkspaceId) -> StoreResult<Backlog> {
        self.read_through(
            |maps| maps.workspaces.get(&id)?.backlog.clone(),
            store.inbox_backlog(id),
            |maps, backlog| maps.workspace(id).backlog = Some(backlog),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TaskFilter;

    fn page_query(offset: u32) -> TaskQuery {
        TaskQuery {
            filter: TaskFilter::All,
            search: None,
            sort: Default::default(),
            limit: 50,
            offset,
        }
    }

    fn user(id: i64) -> SessionCopy {
        SessionCopy {
            user: User {
                id: UserId(id),
                username: format!("user{id}"),
                time_zone: None,
            },
            expires_at: i64::MAX,
        }
    }

    /// A session read through `model` whose load returns `loaded` after running `meanwhile`.
    async fn read(model: &ReadModel, key: &[u8], loaded: i64, meanwhile: impl FnOnce()) -> i64 {
        model
            .read_through(
                |maps| maps.sessions.get(key).cloned(),
                async {
                    meanwhile();
                    Ok(user(loaded))
                },
                |maps, copy| {
                    maps.sessions.insert(key.to_vec(), copy);
                },
            )
            .await
            .unwrap()
            .user
            .id
            .0
    }

    #[tokio::test]
    async fn a_copy_serves_until_a_message_drops_it() {
        let model = ReadModel::default();
        assert_eq!(read(&model, b"s", 1, || {}).await, 1);
        assert_eq!(
            read(&model, b"s", 2, || {}).await,
            1,
            "served from the copy"
        );
        model.forget(Forget::User(UserId(1)));
        assert_eq!(
            read(&model, b"s", 2, || {}).await,
            2,
            "read again after the message"
        );
    }

    #[tokio::test]
    async fn a_read_that_a_message_overtook_is_not_kept() {
        let model = ReadModel::default();
        // The message arrives while the store is being read: what was read may predate the
        // change, so it serves this one view and is not kept.
        let during = model.clone();
        assert_eq!(
            read(&model, b"s", 1, move || during.forget(Forget::Inbox)).await,
            1
        );
        assert_eq!(read(&model, b"s", 2, || {}).await, 2, "nothing was kept");
        assert_eq!(
            read(&model, b"s", 3, || {}).await,
            2,
            "the next read is kept"
        );
    }

    #[tokio::test]
    async fn an_instance_that_may_miss_messages_keeps_nothing_until_it_hears_again() {
        let model = ReadModel::default();
        assert_eq!(read(&model, b"s", 1, || {}).await, 1);
        model.distrust();
        assert_eq!(
            read(&model, b"s", 2, || {}).await,
            2,
            "the copy was dropped"
        );
        assert_eq!(read(&model, b"s", 3, || {}).await, 3, "and nothing kept");
        model.trust();
        assert_eq!(read(&model, b"s", 4, || {}).await, 4);
        assert_eq!(read(&model, b"s", 5, || {}).await, 4, "kept again");
    }

    #[test]
    fn dropping_a_workspace_or_everything_leaves_nothing_of_it() {
        let model = ReadModel::default();
        let (a, b) = (WorkspaceId(Uuid::new_v4()), WorkspaceId(Uuid::new_v4()));
        {
            let mut maps = model.lock();
            for id in [a, b] {
                maps.room_for_page();
                maps.workspace(id)
                    .tasks
                    .insert(page_query(0), Arc::new(Page::new(TaskList::default())));
                maps.workspace(id).backlog = Some(Backlog::default());
            }
        }
        model.forget(Forget::Workspace(a));
        {
            let maps = model.lock();
            assert!(!maps.workspaces.contains_key(&a));
            assert_eq!(maps.pages, 1, "the page count follows");
        }
        model.forget(Forget::Inbox);
        assert!(model.lock().workspaces[&b].backlog.is_none());
        assert_eq!(model.lock().workspaces[&b].tasks.len(), 1, "pages stay");
        model.forget(Forget::Everything);
        assert!(model.lock().workspaces.is_empty());
    }

    #[test]
    fn the_pages_kept_never_pass_the_ceiling() {
        let model = ReadModel::default();
        let id = WorkspaceId(Uuid::new_v4());
        let mut maps = model.lock();
        for page in 0..(MAX_PAGES as u32 * 2 + 7) {
            maps.room_for_page();
            maps.workspace(id).tasks.insert(
                page_query(page * 50),
                Arc::new(Page::new(TaskList::default())),
            );
            assert!(maps.pages <= MAX_PAGES);
            assert_eq!(maps.pages, maps.workspaces[&id].pages());
        }
    }

    #[test]
    fn a_page_is_rendered_once_for_each_key() {
        let page = Page::new(7);
        let mut renders = 0;
        let mut render = |key| {
            page.rendered(key, |n| {
                renders += 1;
                Ok::<_, ()>(format!("{n} for {key}"))
            })
            .unwrap()
        };
        assert_eq!(&*render(1), "7 for 1");
        assert_eq!(&*render(1), "7 for 1");
        assert_eq!(&*render(2), "7 for 2", "a new day renders again");
        assert_eq!(renders, 2);
    }

    /// A fresh SQLite store with one user and her session `s`, live from 100 until 200.
    async fn store_with_a_session() -> (tempfile::TempDir, Arc<dyn Store>, User) {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::store::DatabaseUrl::parse(&format!(
            "sqlite://{}",
            dir.path().join("t.db").display()
        ))
        .unwrap();
        let store = crate::store::connect(&url).await.unwrap();
        let alice = store
            .create_user("alice", "alice", "a1ice", "h", 1)
            .await
            .unwrap();
        store
            .create_session(b"s", alice.id, 100, 200)
            .await
            .unwrap();
        (dir, store, alice)
    }

    #[tokio::test]
    async fn a_kept_session_ends_when_the_stored_one_does() {
        let (_dir, store, alice) = store_with_a_session().await;
        let model = ReadModel::default();
        let at = |now| model.session(store.as_ref(), b"s", now);
        assert_eq!(at(150).await.unwrap().unwrap().id, alice.id);
        // The store would still answer for the session; the copy is what serves now.
        store.delete_session(b"s").await.unwrap();
        assert_eq!(at(199).await.unwrap().unwrap().id, alice.id, "a copy");
        assert!(at(200).await.unwrap().is_none(), "ended at its stored end");
        assert!(model.lock().sessions.is_empty(), "and the copy is gone");
    }

    #[tokio::test]
    async fn several_instances_never_keep_sessions_or_links() {
        let (_dir, store, alice) = store_with_a_session().await;
        let model = ReadModel::new(true);
        assert!(model
            .session(store.as_ref(), b"s", 150)
            .await
            .unwrap()
            .is_some());
        assert!(model
            .link(store.as_ref(), alice.id)
            .await
            .unwrap()
            .is_none());
        store.delete_session(b"s").await.unwrap();
        assert!(
            model
                .session(store.as_ref(), b"s", 150)
                .await
                .unwrap()
                .is_none(),
            "a log-out elsewhere holds at once"
        );
        let maps = model.lock();
        assert!(maps.sessions.is_empty() && maps.links.is_empty());
    }
}
