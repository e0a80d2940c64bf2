//! Task sync, in one place: the webhook registered at Attio for each linked workspace
//! (`registration`), receiving its signed deliveries (`receive`) into the durable inbox
//! (`inbox_writer`), applying them (`worker`), the backfill and the periodic reconciler
//! (`backfill`), and whether a workspace's cache is current (`health`). The HTTP endpoint for
//! deliveries is `web::deliveries`; what a live update says is `crate::live`, shared with the
//! coordination seam that carries it.

pub mod backfill;
pub mod health;
pub mod inbox_writer;
pub mod receive;
pub mod registration;
pub mod worker;

pub use backfill::{
    reconcile_all, run_reconciler, sync_and_wait, sync_for_user, SyncOutcome, Syncer,
    WAIT_FOR_SYNC,
};
