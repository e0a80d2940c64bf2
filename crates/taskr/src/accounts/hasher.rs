//! Password hashing with bounded cost. Argon2id needs 19 MiB of working memory per hash; run
//! on the blocking pool without a cap, 64 concurrent log-ins took the server to 1.6 GiB, and the
//! allocator kept most of it. Here a fixed set of threads (about one per core) does all hashing,
//! each reusing one memory buffer for its whole life, so hashing memory is `workers × 19 MiB`
//! however many requests arrive. Requests wait in a bounded queue; beyond it they are refused at
//! once with [`HashError::Busy`], which the web layer answers with 503 and `Retry-After`.
//!
//! A thread that has had nothing to hash for [`IDLE_RELEASE`] gives its buffer back, so that an
//! idle server does not keep `workers × 19 MiB` for a log-in an hour ago. The buffer is one
//! allocation far above the allocator's mmap threshold, so freeing it returns it to the system;
//! the next hash allocates it again (a few milliseconds of page faults beside ~50 ms of hashing).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use flume::{Receiver, RecvTimeoutError, Sender, TrySendError};

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every worker is busy and the queue is full: try again shortly.
    #[error("password checks are queued to capacity")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

enum Work {
    Hash(String),
    Verify { password: String, hash: String },
}

enum Outcome {
    Hashed(String),
    Verified(bool),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Outcome, HashError>>,
}

/// How long a hashing thread keeps its buffer without work.
pub const IDLE_RELEASE: Duration = Duration::from_secs(10);

/// A fixed pool of hashing threads behind a bounded queue. Cheap to share behind an `Arc`.
pub struct Hasher {
    queue: Sender<Job>,
    workers: usize,
    /// Threads holding a buffer right now.
    buffers: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl Hasher {
    /// Starts `workers` threads with room for `queue` waiting requests. The threads end when the
    /// `Hasher` is dropped.
    pub fn start(workers: usize, queue: usize) -> Self {
        Self::start_with_idle_release(workers, queue, IDLE_RELEASE)
    }

    /// `start`, with threads giving their buffer back after `idle` without work.
    pub fn start_with_idle_release(workers: usize, queue: usize, idle: Duration) -> Self {
        let workers = workers.max(1);
        let (sender, receiver) = flume::bounded::<Job>(queue);
        let buffers = Arc::new(AtomicUsize::new(0));
        for n in 0..workers {
            let receiver = receiver.clone();
            let buffers = buffers.clone();
            std::thread::Builder::new()
                .name(format!("taskr-hash-{n}"))
                .spawn(move || work(&receiver, idle, &buffers))
                .expect("spawning a password hashing thread");
        }
        Self {
            queue: sender,
            workers,
            buffers,
        }
    }

    /// How many hashing threads hold a buffer now (each `19 MiB` with the default cost).
    pub fn buffers_held(&self) -> usize {
        self.buffers.load(Ordering::Relaxed)
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    async fn submit(&self, work: Work) -> Result<Outcome, HashError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Job { work, reply })
            .map_err(|e| match e {
                TrySendError::Full(_) => HashError::Busy,
                TrySendError::Disconnected(_) => {
                    HashError::Failed("the hashing threads have stopped".into())
                }
            })?;
        answer
            .await
            .map_err(|_| HashError::Failed("a hashing thread stopped mid-job".into()))?
    }

    /// A new Argon2id hash (PHC string) of `password` with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        match self.submit(Work::Hash(password)).await? {
            Outcome::Hashed(hash) => Ok(hash),
            Outcome::Verified(_) => Err(HashError::Failed("unexpected answer".into())),
        }
    }

    /// Whether `password` matches the PHC string `hash`.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, HashError> {
        match self.submit(Work::Verify { password, hash }).await? {
            Outcome::Verified(ok) => Ok(ok),
            Outcome::Hashed(_) => Err(HashError::Failed("unexpected answer".into())),
        }
    }
}

/// One hashing thread: takes jobs until the queue closes, with one reusable memory buffer,
/// given back after `idle` without work.
fn work(receiver: &Receiver<Job>, idle: Duration, buffers: &AtomicUsize) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = match receiver.recv_timeout(idle) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                if !memory.is_empty() {
                    memory = Vec::new();
                    buffers.fetch_sub(1, Ordering::Relaxed);
                }
                match receiver.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // The visitor gave up (timeout, closed connection): skip the 19 MiB of work.
        if job.reply.is_closed() {
            continue;
        }
        let held = !memory.is_empty();
        let outcome = match job.work {
            Work::Hash(password) => hash_with(&mut memory, &password).map(Outcome::Hashed),
            Work::Verify { password, hash } => {
                verify_with(&mut memory, &password, &hash).map(Outcome::Verified)
            }
        };
        if !held && !memory.is_empty() {
            buffers.fetch_add(1, Ordering::Relaxed);
        }
        let _ = job.reply.send(outcome);
    }
}

/// The buffer for `params`, grown once to the largest size asked for and then reused.
fn blocks_for<'m>(memory: &'m mut Vec<Block>, params: &Params) -> &'m mut [Block] {
    let count = params.block_count();
    if memory.len() < count {
        memory.resize(count, Block::default());
    }
    &mut memory[..count]
}

fn failed(e: impl std::fmt::Display) -> HashError {
    HashError::Failed(e.to_string())
}

/// The Argon2 output of `password` and `salt` in the thread's own buffer.
fn compute(
    memory: &mut Vec<Block>,
    argon: &Argon2<'_>,
    params: &Params,
    password: &str,
    salt: argon2::password_hash::Salt<'_>,
    output_len: usize,
) -> Result<Output, HashError> {
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(failed)?;
    Output::init_with(output_len, |out| {
        argon
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt_raw,
                out,
                blocks_for(memory, params),
            )
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(failed)
}

fn hash_with(memory: &mut Vec<Block>, password: &str) -> Result<String, HashError> {
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let output = compute(
        memory,
        &argon,
        &params,
        password,
        salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
    )?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params).try_into().map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

fn verify_with(memory: &mut Vec<Block>, password: &str, hash: &str) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(hash).map_err(failed)?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(failed)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(failed)?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(failed)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(HashError::Failed(
            "the stored hash has no salt or output".into(),
        ));
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let computed = compute(memory, &argon, &params, password, salt, expected.len())?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_that_verify_both_ways() {
        let hasher = Hasher::start(2, 4);
        let hash = hasher.hash("correct horse".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher
            .verify("correct horse".into(), hash.clone())
            .await
            .unwrap());
        assert!(!hasher
            .verify("wrong horse".into(), hash.clone())
            .await
            .unwrap());
        // The argon2 crate's own verifier agrees, and ours reads hashes it made.
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let theirs = {
            use argon2::password_hash::PasswordHasher;
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            Argon2::default()
                .hash_password(b"pw from elsewhere", &salt)
                .unwrap()
                .to_string()
        };
        assert!(hasher
            .verify("pw from elsewhere".into(), theirs)
            .await
            .unwrap());
        assert!(hasher
            .verify("x".into(), "not a hash".into())
            .await
            .is_err());
    }

    #[tokio::test]
    async fn an_idle_thread_gives_its_buffer_back_and_hashes_again_after() {
        let hasher = Hasher::start_with_idle_release(1, 4, Duration::from_millis(300));
        assert_eq!(hasher.buffers_held(), 0, "nothing before the first hash");
        let hash = hasher.hash("correct horse".into()).await.unwrap();
        assert_eq!(hasher.buffers_held(), 1);
        assert!(hasher
            .verify("correct horse".into(), hash.clone())
            .await
            .unwrap());
        assert_eq!(hasher.buffers_held(), 1, "reused while busy");
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(hasher.buffers_held(), 0, "given back when idle");
        assert!(hasher.verify("correct horse".into(), hash).await.unwrap());
        assert_eq!(hasher.buffers_held(), 1, "allocated again for the next");
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_instead_of_growing() {
        let hasher = Arc::new(Hasher::start(1, 1));
        let hash = hasher.hash("correct horse".into()).await.unwrap();
        let mut jobs = Vec::new();
        for _ in 0..16 {
            let hasher = hasher.clone();
            let hash = hash.clone();
            jobs.push(tokio::spawn(async move {
                hasher.verify("wrong".into(), hash).await
            }));
        }
        let mut busy = 0;
        let mut done = 0;
        for job in jobs {
            match job.await.unwrap() {
                Err(HashError::Busy) => busy += 1,
                Ok(false) => done += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(
            busy > 0,
            "one worker and one queue slot cannot take 16 at once"
        );
        assert!(done >= 1, "what fits is done");
        assert_eq!(busy + done, 16);
    }
}
