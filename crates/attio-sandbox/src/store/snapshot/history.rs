//! A record's or entry's value history in a snapshot: when and by whom each current value was
//! written, and the values it replaced (what `active_from`, `active_until`, `created_by_actor`
//! and `show_historic=true` answer).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::refs::ActorState;
use super::Ts;
use crate::store::history::PastValue;
use crate::store::{ValueHistory, Written};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryState {
    /// When the record or entry was created, and by whom: the write time of values never
    /// written since.
    created: WrittenState,
    /// The current value's write, by attribute id.
    written: BTreeMap<Uuid, WrittenState>,
    /// Replaced values, oldest first.
    past: Vec<PastState>,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct WrittenState {
    at: Ts,
    by: ActorState,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PastState {
    attribute: Uuid,
    raw: Value,
    written: WrittenState,
    until: Ts,
}

impl From<Written> for WrittenState {
    fn from(written: Written) -> Self {
        let Written { at, by } = written;
        WrittenState {
            at: Ts(at),
            by: by.into(),
        }
    }
}

impl From<WrittenState> for Written {
    fn from(state: WrittenState) -> Self {
        Written {
            at: state.at.0,
            by: state.by.into(),
        }
    }
}

impl From<&ValueHistory> for HistoryState {
    fn from(history: &ValueHistory) -> Self {
        let ValueHistory {
            created,
            written,
            past,
        } = history;
        HistoryState {
            created: (*created).into(),
            written: written.iter().map(|(k, w)| (*k, (*w).into())).collect(),
            past: past
                .iter()
                .map(|p| {
                    let PastValue {
                        attribute,
                        raw,
                        written,
                        until,
                    } = p;
                    PastState {
                        attribute: *attribute,
                        raw: raw.clone(),
                        written: (*written).into(),
                        until: Ts(*until),
                    }
                })
                .collect(),
        }
    }
}

impl From<HistoryState> for ValueHistory {
    fn from(state: HistoryState) -> Self {
        ValueHistory {
            created: state.created.into(),
            written: state
                .written
                .into_iter()
                .map(|(k, w)| (k, w.into()))
                .collect(),
            past: state
                .past
                .into_iter()
                .map(|p| PastValue {
                    attribute: p.attribute,
                    raw: p.raw,
                    written: p.written.into(),
                    until: p.until.0,
                })
                .collect(),
        }
    }
}
