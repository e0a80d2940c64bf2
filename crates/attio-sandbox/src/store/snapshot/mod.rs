//! The whole saved state as plain data: what `--data-dir` writes to its file, what
//! `GET /_sandbox/snapshot` answers and what `POST /_sandbox/restore` takes.
//!
//! These are explicit structs, not serde derives on the store's own types, on purpose: the
//! store keeps monotonic `Instant`s, `&'static str` event types, secrets it must not expose
//! through `Debug`, and tokens only as hashes; the file format is versioned and must not change
//! because a field of a domain type was renamed. Each conversion destructures the domain type
//! completely, so adding a field to one (a `Record`, a `Task`) fails to compile here until the
//! snapshot carries it (or says why not, and bumps [`VERSION`] if old files cannot be read).

mod auth;
mod data;
mod history;
mod meetings;
mod refs;
mod webhooks;

use std::time::{Instant, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::auth::AuthState;
use super::{Store, WorkspaceStore};
use crate::delivery::Deliveries;

/// The value of `format`, so that another JSON file given by mistake is named as such.
pub(crate) const FORMAT: &str = "attio-sandbox-state";
/// The snapshot version this sandbox writes and reads. A file of another version is refused
/// (never reseeded), naming both versions.
pub(crate) const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Snapshot {
    pub format: String,
    pub version: u32,
    pub saved_at: Ts,
    /// In creation order; the first is the default of every control.
    pub workspaces: Vec<data::WorkspaceState>,
    pub auth: auth::AuthSnapshot,
}

/// Just enough of a snapshot to check what it claims to be before reading the rest.
#[derive(Deserialize)]
struct Header {
    format: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
}

impl Snapshot {
    /// Parses and checks a snapshot (JSON text); the message says what is wrong and where.
    pub fn parse(bytes: &[u8]) -> Result<Snapshot, String> {
        let header: Header = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a sandbox state (unreadable JSON: {e})"))?;
        if header.format.as_ref().and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(format!(
                "not a sandbox state (\"format\" must be \"{FORMAT}\")"
            ));
        }
        let version = match &header.version {
            None => return Err("\"version\" is missing".to_owned()),
            Some(value) => value
                .as_u64()
                .ok_or_else(|| format!("\"version\" must be a whole number, got {value}"))?,
        };
        match version {
            v if v == u64::from(VERSION) => {}
            newer if newer > u64::from(VERSION) => {
                return Err(format!(
                    "written by a newer sandbox (state version {newer}; this one reads version {VERSION})"
                ))
            }
            other => {
                return Err(format!(
                    "state version {other} is not supported (this sandbox reads version {VERSION})"
                ))
            }
        }
        let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            format!("invalid at {path}: {}", e.into_inner())
        })
    }

    pub fn parse_value(value: &serde_json::Value) -> Result<Snapshot, String> {
        let bytes = serde_json::to_vec(value).map_err(|e| e.to_string())?;
        Snapshot::parse(&bytes)
    }
}

impl Store {
    /// The whole state, as of now. Called under the lock; it copies, so keep it quick.
    pub fn snapshot(&self) -> Snapshot {
        let clock = Clock::now();
        Snapshot {
            format: FORMAT.to_owned(),
            version: VERSION,
            saved_at: Ts(clock.wall),
            workspaces: self
                .workspaces
                .iter()
                .map(|w| data::WorkspaceState::from_store(w, clock))
                .collect(),
            auth: auth::AuthSnapshot::from_state(&self.auth, clock),
        }
    }

    /// Replaces every workspace, code and token with the snapshot's, after checking it whole
    /// (nothing changes when it is refused). Apps, settings and fault rules stay.
    pub fn restore(&mut self, snapshot: Snapshot) -> Result<(), String> {
        let clock = Clock::now();
        if snapshot.workspaces.is_empty() {
            return Err("workspaces: at least one workspace is required".to_owned());
        }
        let mut workspaces: Vec<WorkspaceStore> = Vec::with_capacity(snapshot.workspaces.len());
        for (i, state) in snapshot.workspaces.into_iter().enumerate() {
            let at = format!("workspaces[{i}]");
            if workspaces.iter().any(|w| w.workspace.id == state.id) {
                return Err(format!("{at}.id: workspace {} appears twice", state.id));
            }
            if workspaces.iter().any(|w| w.workspace.slug == state.slug) {
                return Err(format!("{at}.slug: \"{}\" appears twice", state.slug));
            }
            let deliveries =
                |pending, log| Deliveries::restored(self.delivery, self.idle.clone(), pending, log);
            workspaces.push(state.into_store(&at, clock, deliveries)?);
        }
        let auth = snapshot
            .auth
            .into_state(&workspaces, clock, self.code_ttl)?;
        self.replace(workspaces, auth);
        Ok(())
    }

    /// Back to the demo seed: its workspaces only, no codes, tokens, webhooks or deliveries.
    pub fn reset(&mut self) {
        let workspaces = crate::seed::demo()
            .into_iter()
            .map(|seed| {
                WorkspaceStore::new(seed, Deliveries::new(self.delivery, self.idle.clone()))
            })
            .collect();
        self.replace(workspaces, AuthState::default());
    }

    /// Swaps the state in and starts a new epoch, so that workers of the old one end.
    fn replace(&mut self, workspaces: Vec<WorkspaceStore>, auth: AuthState) {
        for old in &self.workspaces {
            old.delivery.wake_all();
        }
        self.workspaces = workspaces;
        self.auth = auth;
        self.epoch += 1;
        self.idle.notify_waiters();
    }
}

/// A timestamp in the file: RFC 3339 with as many subsecond digits as it has.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Ts(pub OffsetDateTime);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.0.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Ts, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339).map(Ts).map_err(|e| {
            serde::de::Error::custom(format!("\"{text}\" is not an RFC 3339 time: {e}"))
        })
    }
}

impl From<SystemTime> for Ts {
    fn from(at: SystemTime) -> Ts {
        Ts(OffsetDateTime::from(at))
    }
}

impl From<Ts> for SystemTime {
    fn from(at: Ts) -> SystemTime {
        SystemTime::from(at.0)
    }
}

/// One reading of both clocks, to turn the store's monotonic `Instant`s into wall-clock times
/// for the file and back. An instant too far in the past for this machine's monotonic clock
/// (older than its uptime) becomes "now": for a retry that means "due", and codes and consent
/// requests that old have expired and are dropped before it matters.
#[derive(Clone, Copy)]
pub(super) struct Clock {
    pub instant: Instant,
    pub wall: OffsetDateTime,
}

impl Clock {
    pub fn now() -> Clock {
        Clock {
            instant: Instant::now(),
            wall: OffsetDateTime::now_utc(),
        }
    }

    pub fn wall_of(self, at: Instant) -> Ts {
        let wall = if at <= self.instant {
            self.wall - (self.instant - at)
        } else {
            self.wall + (at - self.instant)
        };
        Ts(wall)
    }

    pub fn instant_of(self, at: Ts) -> Instant {
        let delta = at.0 - self.wall;
        let magnitude = delta.unsigned_abs();
        let shifted = if delta.is_negative() {
            self.instant.checked_sub(magnitude)
        } else {
            self.instant.checked_add(magnitude)
        };
        shifted.unwrap_or(self.instant)
    }

    /// How long ago `at` was (zero if it is in the future).
    pub fn age(self, at: Ts) -> std::time::Duration {
        let delta = self.wall - at.0;
        if delta.is_negative() {
            std::time::Duration::ZERO
        } else {
            delta.unsigned_abs()
        }
    }
}
