//! Group commit for the webhook inbox: concurrent deliveries are written in one transaction, so
//! that one commit (the expensive part) acknowledges many. Every delivery is still answered only
//! after the commit that holds it.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::store::{NewDelivery, Store};

/// Deliveries written per transaction at most.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<bool, String>>;

#[derive(Clone)]
pub struct InboxWriter {
    sender: mpsc::Sender<(NewDelivery, Reply)>,
}

impl InboxWriter {
    /// Starts the writer task; it ends when the last handle is dropped.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_loop(store, receiver));
        Self { sender }
    }

    /// Stores a delivery; `Ok(false)` when its idempotency key was seen before. Returns after
    /// the commit.
    pub async fn insert(&self, delivery: NewDelivery) -> Result<bool, String> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send((delivery, reply))
            .await
            .map_err(|_| "the inbox writer stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the inbox writer stopped".to_owned())?
    }
}

async fn write_loop(store: Arc<dyn Store>, mut receiver: mpsc::Receiver<(NewDelivery, Reply)>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (deliveries, replies): (Vec<NewDelivery>, Vec<Reply>) = batch.into_iter().unzip();
        match store.inbox_insert_many(&deliveries).await {
            Ok(results) => {
                for (reply, inserted) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(inserted));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, rows = deliveries.len(), "could not store webhook deliveries");
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}
