//! Task sync, in one place: the webhook registered at Attio for each linked workspace
//! (`registration`), receiving its signed deliveries (`receive`) into the durable inbox
//! (`inbox_writer`), applying them (`worker`), naming what they refer to (`names`), the
//! backfill and the periodic reconciler (`backfill`), and whether a workspace's cache is
//! current (`health`). The HTTP endpoint for deliveries is `web::deliveries`; what a live
//! update says is `crate::live`, shared with the coordination seam that carries it.

pub mod backfill;
pub mod health;
pub mod inbox_writer;
pub mod names;
pub mod receive;
pub mod registration;
pub mod task_writes;
pub mod worker;

pub use backfill::{
    reconcile_all, reconcile_turn, run_reconciler, sync_and_wait, sync_for_user, SyncOutcome,
    Syncer, WAIT_FOR_SYNC,
};

use std::sync::{Arc, OnceLock};

use crate::attio_gateway::AttioGateway;
use crate::config::Settings;
use crate::coordination::{Coordinator, Leases};
use crate::crypto::Cipher;
use crate::metrics::Metrics;
use crate::store::Store;

/// What task sync works with, and nothing else: the store, the cipher that opens tokens and
/// webhook secrets, the Attio gateway, the coordination seam (live updates, worker wake-ups),
/// the metrics and the settings. Cheap to clone; every function of this module takes it.
#[derive(Clone)]
pub struct SyncService {
    pub store: Arc<dyn Store>,
    pub cipher: Cipher,
    pub attio: Arc<AttioGateway>,
    pub settings: Arc<Settings>,
    pub coordinator: Coordinator,
    pub metrics: Metrics,
    /// Group commit of received deliveries.
    pub inbox_writer: inbox_writer::InboxWriter,
    /// One backfill at a time per workspace (on this instance).
    pub syncer: Arc<Syncer>,
    pub webhook_secrets: Arc<registration::SecretCache>,
    /// The "Attio cannot reach us" warning is logged once per process.
    pub webhook_unreachable_logged: Arc<OnceLock<()>>,
    /// Leases in the database, held under this instance's id (inbox claims, backfills, the
    /// reconciler).
    pub leases: Leases,
}

impl SyncService {
    /// Starts the inbox writer (so it must be called within a Tokio runtime).
    pub fn new(
        store: Arc<dyn Store>,
        cipher: Cipher,
        attio: Arc<AttioGateway>,
        settings: Arc<Settings>,
        coordinator: Coordinator,
        metrics: Metrics,
        leases: Leases,
    ) -> Self {
        Self {
            leases,
            inbox_writer: inbox_writer::InboxWriter::start(store.clone()),
            store,
            cipher,
            attio,
            settings,
            coordinator,
            metrics,
            syncer: Arc::new(Syncer::default()),
            webhook_secrets: Arc::new(registration::SecretCache::default()),
            webhook_unreachable_logged: Arc::new(OnceLock::new()),
        }
    }
}
