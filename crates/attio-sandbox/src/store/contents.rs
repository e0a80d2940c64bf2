//! What a workspace starts with, as a seed (the demo data, or an empty workspace) hands it to the
//! store: the store takes these as they are.

use super::{
    Attribute, Comment, Entry, List, Meeting, Member, Note, Object, Record, Task, Thread, Workspace,
};

/// A new workspace's contents.
pub(crate) struct Seed {
    pub workspace: Workspace,
    pub members: Vec<Member>,
    pub objects: Vec<Object>,
    pub records: Vec<Record>,
    pub tasks: Vec<Task>,
    /// Attributes, lists, entries, notes, comments and meetings.
    pub crm: Crm,
}

/// Attributes, lists, entries, notes, comment threads and meetings.
pub(crate) struct Crm {
    pub attributes: Vec<Attribute>,
    pub lists: Vec<List>,
    pub entries: Vec<Entry>,
    pub notes: Vec<Note>,
    pub threads: Vec<Thread>,
    pub comments: Vec<Comment>,
    pub meetings: Vec<Meeting>,
}
