//! Password hashing with bounded cost. Argon2id needs 19 MiB of working memory per hash; run
//! on the blocking pool without a cap, 64 concurrent log-ins took the server to 1.6 GiB, and the
//! allocator kept most of it. Here a fixed set of threads (about one per core) does all hashing,
//! each reusing one memory buffer for its whole life, so hashing memory is `workers × 19 MiB`
//! however many requests arrive. Requests wait in a bounded queue; beyond it they are refused at
//! once with [`HashError::Busy`], which the web layer answers with 503 and `Retry-After`.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

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

/// A fixed pool of hashing threads behind a bounded queue. Cheap to share behind an `Arc`.
pub struct Hasher {
    queue: SyncSender<Job>,
    workers: usize,
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
        let workers = workers.max(1);
        let (sender, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..workers {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("taskr-hash-{n}"))
                .spawn(move || work(&receiver))
                .expect("spawning a password hashing thread");
        }
        Self {
            queue: sender,
            workers,
        }
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

/// One hashing thread: takes jobs until the queue closes, with one reusable memory buffer.
fn work(receiver: &Mutex<Receiver<Job>>) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = {
            let receiver = receiver.lock().unwrap_or_else(|p| p.into_inner());
            match receiver.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        // The visitor gave up (timeout, closed connection): skip the 19 MiB of work.
        if job.reply.is_closed() {
            continue;
        }
        let outcome = match job.work {
            Work::Hash(password) => hash_with(&mut memory, &password).map(Outcome::Hashed),
            Work::Verify { password, hash } => {
                verify_with(&mut memory, &password, &hash).map(Outcome::Verified)
            }
        };
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
