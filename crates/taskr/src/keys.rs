//! `taskr keys rotate`: re-seals every sealed value (Attio tokens, webhook secrets, connection
//! values and refresh tokens, pending PKCE verifiers) under the current key. Each value is
//! replaced only if it is still what was read, one at a time, so the command can be interrupted
//! and run again, and can run beside a live server.

use indicatif::{ProgressBar, ProgressStyle};

use crate::crypto::Cipher;
use crate::store::Store;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RotationReport {
    pub resealed: u64,
    /// Changed by someone else between read and write; the new value is sealed by its writer.
    pub skipped: u64,
    /// Sealed under a key that is not configured: add it to TASKR_OLD_ENCRYPTION_KEYS.
    pub unreadable: u64,
}

pub async fn rotate(
    store: &dyn Store,
    cipher: &Cipher,
    progress: bool,
) -> anyhow::Result<RotationReport> {
    let values = store.sealed_values_not_under(cipher.key_id()).await?;
    let bar = if progress {
        ProgressBar::new(values.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("re-sealing {bar:40} {pos}/{len} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut report = RotationReport::default();
    for value in values {
        match cipher.open(&value.sealed, &value.context) {
            Ok(plain) => {
                let fresh = cipher.seal(&plain, &value.context);
                if store.reseal(&value.slot, &value.sealed, &fresh).await? {
                    report.resealed += 1;
                } else {
                    report.skipped += 1;
                }
            }
            Err(e) => {
                tracing::error!(slot = ?value.slot, error = %e, "cannot open a sealed value");
                report.unreadable += 1;
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(report)
}
