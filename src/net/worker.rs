//! The worker thread: runs blocking jobs (bcrypt verification) off the
//! event loop and hands the results back through a channel and a
//! `mio::Waker`, so the loop never stalls on a password check.
//! Imports `state::{Job, Purpose}` only.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::Waker;

use crate::state::{Job, JobDone};

/// The handle the loop keeps.
pub struct Worker {
    jobs: Option<Sender<Job>>,
    pub results: Receiver<JobDone>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the thread; `waker` wakes the loop when a result is ready.
    pub fn start(waker: Arc<Waker>) -> std::io::Result<Worker> {
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel::<JobDone>();
        let thread = std::thread::Builder::new()
            .name("picoircd-worker".into())
            .spawn(move || {
                for job in job_rx {
                    if done_tx.send(job.run()).is_err() {
                        break;
                    }
                    let _ = waker.wake();
                }
            })?;
        Ok(Worker {
            jobs: Some(job_tx),
            results: done_rx,
            thread: Some(thread),
        })
    }

    /// Queues a job.
    pub fn submit(&self, job: Job) {
        if let Some(tx) = &self.jobs {
            let _ = tx.send(job);
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
