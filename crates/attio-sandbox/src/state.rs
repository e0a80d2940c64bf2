//! The whole state at once, for tests and tools: take a snapshot, restore one, go back to the
//! seed, and wait until the data directory holds every change. The HTTP controls
//! (`/_sandbox/snapshot`, `/_sandbox/restore`, `/_sandbox/reset`) call these.

use serde_json::Value;

use crate::persist::StateError;
use crate::store::Snapshot;
use crate::Sandbox;

impl Sandbox {
    /// The whole state as JSON, in the format of the data directory's file: every workspace's
    /// data, webhooks with their secrets, queued deliveries and logs, codes and tokens (as
    /// SHA-256 hashes only). Not saved there: fault rules, rate-limit switches, OAuth apps
    /// (configuration), and the raw tokens kept for [`Sandbox::issued_access_tokens`].
    pub fn snapshot(&self) -> Value {
        let snapshot = self.store().snapshot();
        // Plain data with string keys: serialising it cannot fail.
        serde_json::to_value(snapshot).unwrap_or(Value::Null)
    }

    /// Replaces the whole state with a snapshot (from [`Sandbox::snapshot`] or a data
    /// directory's file). Apps, fault rules and rate-limit switches stay as they are; delivery
    /// workers of the previous state stop, and the snapshot's queued messages are sent.
    ///
    /// # Errors
    /// A message naming what is wrong (not a snapshot, another version, a missing or unknown
    /// field, a queued message of an unknown webhook, ...); the state is then unchanged.
    pub async fn restore(&self, snapshot: &Value) -> Result<(), String> {
        self.restore_snapshot(Snapshot::parse_value(snapshot)?)
            .await
    }

    pub(crate) async fn restore_snapshot(&self, snapshot: Snapshot) -> Result<(), String> {
        {
            let _replacing = self.shared().gate.write().await;
            self.store().restore(snapshot)?;
        }
        // Failures are logged (and retried) inside; the state is restored in memory.
        let _ = self.shared().save().await;
        Ok(())
    }

    /// Back to the seed state: the two demo workspaces as on a first start; workspaces created
    /// since, codes, tokens, API keys, webhooks and deliveries are gone. Apps, fault rules and
    /// rate-limit switches stay.
    pub async fn reset(&self) {
        {
            let _replacing = self.shared().gate.write().await;
            self.store().reset();
        }
        let _ = self.shared().save().await;
    }

    /// Waits until the data directory's file holds every change made so far (at once for a
    /// sandbox without one).
    ///
    /// # Errors
    /// The file could not be written; the error names it.
    pub async fn flush(&self) -> Result<(), StateError> {
        self.shared().save().await
    }
}
