//! Submitting AI jobs directly (reservation and queueing, as an API action would), for tests and
//! benchmarks that need a job of a given function and input.

use igny8_domain::accounts::Account;
use igny8_domain::jobs::{self, Job, Queue, Submission};
use igny8_domain::{Services, modules};
use serde_json::Value;

/// The submission of a job of the module function named `function` on `input` (JSON), with its
/// estimate.
pub fn submission(services: &Services, function: &str, input: Value) -> Submission {
    modules::ai_functions()
        .submission(function, &services.config.credit_costs, input)
        .expect("a registered function and an input it reads")
}

/// What `function` reserves for `input`, and in how many parts.
pub fn estimate(services: &Services, function: &str, input: &Value) -> (i64, u32) {
    let submission = submission(services, function, input.clone());
    (submission.reserve, submission.parts)
}

/// Reserves what the function estimates for `input` and queues the job through `services`.
pub async fn submit(services: &Services, account: &Account, user_id: &str, function: &str, input: Value) -> Job {
    let submission = submission(services, function, input);
    jobs::submit(services, account, user_id, submission, "test job").await.expect("job submitted")
}

/// A submission as it is, estimate and all: for jobs no function would have queued.
pub fn raw(function: &str, queue: Queue, input: Value, reserve: i64, parts: u32) -> Submission {
    Submission { function: function.to_owned(), queue, input, reserve, parts }
}
