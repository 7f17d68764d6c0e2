//! The worker: claims due deliveries, attempts them with bounded concurrency while
//! renewing their leases, and records the outcomes.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::error::DeliveryError;
use crate::outbox::Outbox;
use crate::record::{Delivery, DeliveryState};

/// Delivers what the outbox holds. Several workers, in one process or in several
/// sharing one PostgreSQL database, never attempt the same delivery at once.
#[derive(Debug, Clone)]
pub struct Worker {
    outbox: Outbox,
    id: Arc<str>,
}

/// What one [`Worker::run_due`] round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Deliveries claimed.
    pub claimed: usize,
    /// Acknowledged by their sink.
    pub delivered: usize,
    /// Failed and scheduled again.
    pub retrying: usize,
    /// Became dead letters.
    pub dead: usize,
    /// Lost their lease while being attempted (another worker took them over).
    pub lease_lost: usize,
}

/// How one attempt ended, for the round's report.
enum Outcome {
    State(DeliveryState),
    LeaseLost,
}

impl Worker {
    pub(crate) fn new(outbox: Outbox, id: String) -> Worker {
        Worker {
            outbox,
            id: id.into(),
        }
    }

    /// One round: claims up to `max_concurrent` due deliveries, attempts them all at
    /// once, records their outcomes, and returns when they are done. Useful to
    /// drive deliveries step by step (tests, a command-line "deliver now").
    pub async fn run_due(&self) -> Result<RoundReport, DeliveryError> {
        let token = uuid::Uuid::new_v4().to_string();
        let limit = self.outbox.inner.worker.max_concurrent;
        let claimed = self.outbox.claim(&self.id, &token, limit).await?;
        let mut report = RoundReport {
            claimed: claimed.len(),
            ..RoundReport::default()
        };
        let mut set = JoinSet::new();
        for job in claimed {
            let worker = self.clone();
            let token = token.clone();
            set.spawn(async move { worker.attempt(job, &token).await });
        }
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(Ok(outcome)) => report.count(outcome),
                // The row stays in flight; its lease expires and it is retried.
                Ok(Err(e)) => tracing::warn!(code = e.code(), "recording an outcome failed: {e}"),
                Err(e) => tracing::error!("a delivery attempt panicked: {e}"),
            }
        }
        Ok(report)
    }

    /// Runs the worker in the background until [`WorkerHandle::stop`]: at most
    /// `max_concurrent` attempts at a time; it looks for due deliveries when one
    /// finishes, when this process enqueues, and every `poll_interval_secs`.
    pub fn spawn(self) -> WorkerHandle {
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(self.run(stop_rx));
        WorkerHandle {
            stop: stop_tx,
            task,
        }
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let max = self.outbox.inner.worker.max_concurrent as usize;
        let poll = Duration::from_secs(self.outbox.inner.worker.poll_interval_secs);
        let permits = Arc::new(Semaphore::new(max));
        let mut set: JoinSet<()> = JoinSet::new();
        loop {
            if *stop.borrow() {
                break;
            }
            let free = permits.available_permits();
            let mut claimed_any = false;
            if free > 0 {
                let token = uuid::Uuid::new_v4().to_string();
                let limit = u32::try_from(free).unwrap_or(u32::MAX);
                match self.outbox.claim(&self.id, &token, limit).await {
                    Ok(jobs) => {
                        claimed_any = !jobs.is_empty();
                        for job in jobs {
                            let worker = self.clone();
                            let token = token.clone();
                            // The claim asked for no more than the free permits, so
                            // this succeeds; waiting in the task only guards the bound.
                            let held = permits.clone().try_acquire_owned().ok();
                            let permits = permits.clone();
                            set.spawn(async move {
                                let permit = match held {
                                    Some(p) => p,
                                    None => match permits.acquire_owned().await {
                                        Ok(p) => p,
                                        Err(_) => return,
                                    },
                                };
                                if let Err(e) = worker.attempt(job, &token).await {
                                    tracing::warn!(
                                        code = e.code(),
                                        "recording an outcome failed: {e}"
                                    );
                                }
                                drop(permit);
                            });
                        }
                    }
                    Err(e) => tracing::warn!(code = e.code(), "claiming deliveries failed: {e}"),
                }
            }
            if claimed_any && permits.available_permits() > 0 {
                // More may be due right now.
                continue;
            }
            tokio::select! {
                _ = stop.changed() => {}
                Some(_) = set.join_next(), if !set.is_empty() => {}
                _ = self.outbox.inner.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
        // Let the attempts under way finish and record their outcomes.
        while set.join_next().await.is_some() {}
    }

    /// One attempt of a claimed delivery, racing the sink against the lease: if the
    /// lease is lost (this worker stalled past it and another took over), the
    /// attempt is dropped without recording anything.
    async fn attempt(&self, job: Delivery, token: &str) -> Result<Outcome, DeliveryError> {
        let Some(sink) = self.outbox.inner.sinks.get(&job.sink) else {
            // Claims only take configured sinks; a row for another is not ours.
            return Ok(Outcome::LeaseLost);
        };
        tracing::debug!(delivery = %job.id, sink = %job.sink, attempt = job.attempts, "delivering");
        let result = tokio::select! {
            r = sink.deliver(&job) => Some(r),
            () = self.keep_lease(&job.id, token) => None,
        };
        let recorded = match result {
            None => None,
            Some(Ok(receipt)) => self
                .outbox
                .record_delivered(&job, token, &receipt)
                .await?
                .then_some(DeliveryState::Delivered),
            Some(Err(e)) => self.outbox.record_failure(&job, token, &e).await?,
        };
        Ok(match recorded {
            Some(state) => state.into(),
            None => {
                tracing::warn!(delivery = %job.id, "lease lost during an attempt; another worker has it");
                Outcome::LeaseLost
            }
        })
    }

    /// Renews the lease every third of its length; returns only when it is lost.
    async fn keep_lease(&self, id: &str, token: &str) {
        let every = Duration::from_secs(self.outbox.inner.worker.lease_secs) / 3;
        loop {
            tokio::time::sleep(every).await;
            match self.outbox.renew(id, token).await {
                Ok(true) => {}
                Ok(false) => return,
                // A database hiccup: the lease still runs; try again next time.
                Err(e) => tracing::warn!(code = e.code(), "renewing a lease failed: {e}"),
            }
        }
    }
}

impl From<DeliveryState> for Outcome {
    fn from(s: DeliveryState) -> Self {
        Outcome::State(s)
    }
}

impl RoundReport {
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::State(DeliveryState::Delivered) => self.delivered += 1,
            Outcome::State(DeliveryState::Dead) => self.dead += 1,
            Outcome::State(_) => self.retrying += 1,
            Outcome::LeaseLost => self.lease_lost += 1,
        }
    }
}

/// A worker running in the background.
#[derive(Debug)]
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops claiming, lets the attempts under way finish, and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Stops at once, abandoning attempts under way, as a crash would: their
    /// leases expire and they are retried (by this process or another).
    pub fn abort(self) {
        self.task.abort();
    }
}
