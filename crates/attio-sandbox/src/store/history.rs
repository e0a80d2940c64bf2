//! When and by whom each attribute value was written, and the values it replaced: what Attio
//! reports as a value's `active_from`, `active_until` and `created_by_actor`, and what the
//! attribute-values endpoints list with `show_historic=true`.

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Actor;

/// When a value became active and who wrote it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Written {
    pub at: OffsetDateTime,
    pub by: Actor,
}

/// A value that is no longer active: its stored form (as the record or entry keeps the current
/// one), when it was written and by whom, and when it stopped being active.
#[derive(Clone, PartialEq, Debug)]
pub(crate) struct PastValue {
    pub attribute: Uuid,
    pub raw: Value,
    pub written: Written,
    pub until: OffsetDateTime,
}

/// At most this many past values are kept per record or entry (the oldest go first), so a
/// client that rewrites one value in a loop cannot grow the sandbox without bound.
const PAST_VALUES_KEPT: usize = 200;

/// The history of one record's or entry's values. Attributes never written since the record
/// was created are reported as written by its creator when it was created.
#[derive(Clone, PartialEq, Debug)]
pub(crate) struct ValueHistory {
    // Visible to the store's modules for `snapshot`, which saves and restores them as they are.
    pub(super) created: Written,
    pub(super) written: BTreeMap<Uuid, Written>,
    pub(super) past: Vec<PastValue>,
}

impl ValueHistory {
    pub fn new(created: Written) -> ValueHistory {
        ValueHistory {
            created,
            written: BTreeMap::new(),
            past: Vec::new(),
        }
    }

    /// When the current value of `attribute` became active, and who wrote it.
    pub fn written(&self, attribute: Uuid) -> Written {
        self.written
            .get(&attribute)
            .copied()
            .unwrap_or(self.created)
    }

    /// Records that `attribute` changed at `now`: the value it had (if any) becomes past, and the
    /// new one (if any) is active from `now`.
    pub fn changed(&mut self, attribute: Uuid, before: Option<Value>, now: Written) {
        if let Some(raw) = before {
            if self.past.len() == PAST_VALUES_KEPT {
                self.past.remove(0);
            }
            self.past.push(PastValue {
                attribute,
                raw,
                written: self.written(attribute),
                until: now.at,
            });
        }
        self.written.insert(attribute, now);
    }

    /// Past values of `attribute`, oldest first.
    pub fn past(&self, attribute: Uuid) -> impl Iterator<Item = &PastValue> {
        self.past.iter().filter(move |p| p.attribute == attribute)
    }

    /// Another record's history carried into a merged record: its past values, and its current
    /// values' write times for the attributes `take` names.
    pub fn absorb(&mut self, other: &ValueHistory, take: impl Fn(Uuid) -> bool) {
        for (attribute, written) in &other.written {
            if take(*attribute) {
                self.written.insert(*attribute, *written);
            }
        }
        self.past.extend(other.past.iter().cloned());
        self.past.sort_by_key(|p| p.until);
        let excess = self.past.len().saturating_sub(PAST_VALUES_KEPT);
        self.past.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn a_change_moves_the_old_value_to_the_past_with_its_times() {
        let creator = Actor::System;
        let created = Written {
            at: datetime!(2025-01-01 00:00 UTC),
            by: creator,
        };
        let mut history = ValueHistory::new(created);
        let attribute = Uuid::new_v4();
        assert_eq!(history.written(attribute), created);
        let member = Actor::WorkspaceMember(Uuid::new_v4());
        let later = Written {
            at: datetime!(2025-02-01 00:00 UTC),
            by: member,
        };
        history.changed(attribute, Some(json!("old")), later);
        assert_eq!(history.written(attribute), later);
        let past: Vec<&PastValue> = history.past(attribute).collect();
        assert_eq!(past.len(), 1);
        assert_eq!(past[0].raw, json!("old"));
        assert_eq!(past[0].written, created);
        assert_eq!(past[0].until, later.at);
        assert_eq!(history.past(Uuid::new_v4()).count(), 0);
    }

    #[test]
    fn the_past_is_bounded() {
        let created = Written {
            at: datetime!(2025-01-01 00:00 UTC),
            by: Actor::System,
        };
        let mut history = ValueHistory::new(created);
        let attribute = Uuid::new_v4();
        for i in 0..(PAST_VALUES_KEPT + 50) {
            history.changed(attribute, Some(json!(i)), created);
        }
        let past: Vec<&PastValue> = history.past(attribute).collect();
        assert_eq!(past.len(), PAST_VALUES_KEPT);
        assert_eq!(past[0].raw, json!(50), "the oldest went first");
    }
}
