//! AI functions as plug-ins. A module implements [`AiFunction`] for each of its functions (its
//! typed input and output, what it reserves, the model calls, the writes) and registers it; the
//! engine runs any registered function by the name its jobs carry, and knows none of them.
//!
//! A run has two halves, so that a crash in between loses nothing and charges nothing twice:
//! - [`AiFunction::run`] asks the model and turns the answers into one validated output (ids of
//!   new records are assigned here); the engine saves it on the job before anything is written;
//! - [`AiFunction::apply`] writes that output. Every write must be idempotent (puts of known ids,
//!   sets of values), since a redelivered message replays it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::context::JobContext;
use super::model::{CallRecord, JobError, store_err};
use crate::access::Caller;
use crate::credits::{CreditCosts, Operation};
use crate::jobs::{self, Job, Queue, Submission};
use crate::store::Write;
use crate::{ApiError, Services};

/// What a job of a function reserves, and in how many parts (model calls) it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    pub credits: i64,
    pub parts: u32,
}

/// What a run produced: the output, the model calls it made (one usage log each), and its parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run<O> {
    pub output: O,
    pub calls: Vec<CallRecord>,
    pub parts: u32,
}

/// What applying an output did.
#[derive(Debug)]
pub struct Applied<R> {
    /// What `task_progress` shows as the job's result.
    pub result: R,
    /// Writes that must happen exactly once, in the settlement transaction (usage counters).
    pub once: Vec<Write>,
}

/// One AI function. See the module documentation for the contract of each half.
pub trait AiFunction: Send + Sync + 'static {
    /// The name its jobs carry and `task_progress` shows (`auto_cluster`).
    const NAME: &'static str;
    /// The module switch it belongs to (`planner`): with the module switched off for the job's
    /// account, its queued jobs do not start (they fail, their credits refunded).
    const MODULE: &'static str;
    /// The credit operation it is charged as.
    const OPERATION: Operation;
    /// The queue its jobs go to.
    const QUEUE: Queue = Queue::Ai;

    type Input: Serialize + DeserializeOwned + Send + Sync;
    type Output: Serialize + DeserializeOwned + Send + Sync;
    type Result: Serialize + Send;

    /// What to reserve for `input`.
    fn estimate(&self, costs: &CreditCosts, input: &Self::Input) -> Estimate;

    /// Before the model is asked (the first time).
    fn before_run(
        &self,
        job: &JobContext<'_>,
        input: &Self::Input,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        let _ = (job, input);
        async { Ok(()) }
    }

    /// Asks the model and answers the validated output.
    fn run(
        &self,
        job: &JobContext<'_>,
        input: &Self::Input,
    ) -> impl Future<Output = Result<Run<Self::Output>, JobError>> + Send;

    /// The units of [`Self::OPERATION`] a run is charged (its parts unless said otherwise).
    fn units(&self, run: &Run<Self::Output>) -> u64 {
        u64::from(run.parts)
    }

    /// Writes the output (idempotently).
    fn apply(
        &self,
        job: &JobContext<'_>,
        input: &Self::Input,
        output: &Self::Output,
    ) -> impl Future<Output = Result<Applied<Self::Result>, ApiError>> + Send;

    /// After the job failed for good (its reservation is back).
    fn after_failure(
        &self,
        job: &JobContext<'_>,
        input: &Self::Input,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        let _ = (job, input);
        async { Ok(()) }
    }
}

/// The submission of a job of `function` on `input`.
pub fn submission<F: AiFunction>(function: &F, costs: &CreditCosts, input: &F::Input) -> Result<Submission, ApiError> {
    let Estimate { credits, parts } = function.estimate(costs, input);
    Ok(Submission {
        function: F::NAME.to_owned(),
        queue: F::QUEUE,
        input: serde_json::to_value(input).map_err(ApiError::internal)?,
        reserve: credits,
        parts,
    })
}

/// Starts a job of `function` for the caller: reserves its estimate and queues it (402 when the
/// balance is short). Answers the job.
pub async fn start<F: AiFunction>(
    services: &Services,
    caller: &Caller,
    function: &F,
    input: F::Input,
    description: &str,
) -> Result<Job, ApiError> {
    let submission = submission(function, &services.config.credit_costs, &input)?;
    jobs::submit(services, &caller.account, &caller.user.id, submission, description).await
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the worker settles a run with.
pub(crate) struct Settlement {
    pub result: Value,
    pub once: Vec<Write>,
    pub operation: Operation,
    pub units: u64,
    pub calls: Vec<CallRecord>,
}

/// A job bound to its function, its input read: what the worker drives.
pub(crate) trait BoundJob: Send + Sync {
    fn before_run<'a>(&'a self, job: &'a JobContext<'a>) -> BoxFuture<'a, Result<(), ApiError>>;
    /// The run, as the JSON saved on the job.
    fn run<'a>(&'a self, job: &'a JobContext<'a>) -> BoxFuture<'a, Result<Value, JobError>>;
    /// Applies a saved run; a saved run that does not read is fatal.
    fn apply<'a>(&'a self, job: &'a JobContext<'a>, saved: Value) -> BoxFuture<'a, Result<Settlement, JobError>>;
    fn after_failure<'a>(&'a self, job: &'a JobContext<'a>) -> BoxFuture<'a, Result<(), ApiError>>;
}

struct Bound<'f, F: AiFunction> {
    function: &'f F,
    input: F::Input,
}

impl<F: AiFunction> BoundJob for Bound<'_, F> {
    fn before_run<'a>(&'a self, job: &'a JobContext<'a>) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(self.function.before_run(job, &self.input))
    }

    fn run<'a>(&'a self, job: &'a JobContext<'a>) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let run = self.function.run(job, &self.input).await?;
            serde_json::to_value(&run)
                .map_err(|e| JobError::fatal(format!("The output could not be saved: {e}"), "OutputError"))
        })
    }

    fn apply<'a>(&'a self, job: &'a JobContext<'a>, saved: Value) -> BoxFuture<'a, Result<Settlement, JobError>> {
        Box::pin(async move {
            let run = read_run::<F::Output>(saved)
                .map_err(|e| JobError::fatal(format!("The saved output cannot be read: {e}"), "OutputError"))?;
            let units = self.function.units(&run);
            let applied = self.function.apply(job, &self.input, &run.output).await.map_err(store_err)?;
            Ok(Settlement {
                result: serde_json::to_value(applied.result).map_err(|e| store_err(ApiError::internal(e)))?,
                once: applied.once,
                operation: F::OPERATION,
                units,
                calls: run.calls,
            })
        })
    }

    fn after_failure<'a>(&'a self, job: &'a JobContext<'a>) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(self.function.after_failure(job, &self.input))
    }
}

/// A saved run. Earlier releases saved the output's fields, `calls` and `parts` side by side (the
/// same fields, without the `output` wrapper): a job saved so and delivered again still completes.
fn read_run<O: DeserializeOwned>(saved: Value) -> Result<Run<O>, serde_json::Error> {
    if saved.get("output").is_some() {
        return serde_json::from_value(saved);
    }
    let calls = serde_json::from_value(saved.get("calls").cloned().unwrap_or(Value::Array(vec![])))?;
    let parts = saved.get("parts").and_then(Value::as_u64).unwrap_or(1) as u32;
    Ok(Run { output: serde_json::from_value(saved)?, calls, parts })
}

/// A registered function, its types erased.
trait Registered: Send + Sync {
    /// The job bound to this function, or why its input does not read.
    fn bind<'f>(&'f self, job: &Job) -> Result<Box<dyn BoundJob + 'f>, String>;
    /// A job of this function on `input` (JSON), or why the input does not read.
    fn submission(&self, costs: &CreditCosts, input: Value) -> Result<Submission, String>;
    fn module(&self) -> &'static str;
}

impl<F: AiFunction> Registered for F {
    fn bind<'f>(&'f self, job: &Job) -> Result<Box<dyn BoundJob + 'f>, String> {
        let input: F::Input = serde_json::from_value(job.input.clone()).map_err(|e| e.to_string())?;
        Ok(Box::new(Bound { function: self, input }))
    }

    fn submission(&self, costs: &CreditCosts, input: Value) -> Result<Submission, String> {
        let input: F::Input = serde_json::from_value(input).map_err(|e| e.to_string())?;
        submission(self, costs, &input).map_err(|e| e.to_string())
    }

    fn module(&self) -> &'static str {
        F::MODULE
    }
}

/// The AI functions a worker can run, by name.
#[derive(Clone, Default)]
pub struct Registry {
    functions: HashMap<&'static str, Arc<dyn Registered>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&&str> = self.functions.keys().collect();
        names.sort();
        f.debug_struct("Registry").field("functions", &names).finish()
    }
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `function` under its name (replacing one registered under the same name).
    pub fn with<F: AiFunction>(mut self, function: F) -> Self {
        self.functions.insert(F::NAME, Arc::new(function));
        self
    }

    /// The names registered, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.functions.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// A job of the function named `name` on `input` (JSON), with its estimate; or why not.
    pub fn submission(&self, name: &str, costs: &CreditCosts, input: Value) -> Result<Submission, String> {
        let function = self.functions.get(name).ok_or_else(|| format!("no AI function named \"{name}\""))?;
        function.submission(costs, input)
    }

    /// The module switch of the function named `name`.
    pub fn module_of(&self, name: &str) -> Option<&'static str> {
        self.functions.get(name).map(|function| function.module())
    }

    /// The job bound to its function: `None` when no function has its name, `Some(Err)` when
    /// its input does not read.
    pub(crate) fn bind<'r>(&'r self, job: &Job) -> Option<Result<Box<dyn BoundJob + 'r>, String>> {
        self.functions.get(job.function.as_str()).map(|function| function.bind(job))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Run, read_run};

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Output {
        clusters: Vec<String>,
    }

    #[test]
    fn saved_runs_read_in_both_shapes() {
        let call = json!({"id": "c1", "model": "m", "input_tokens": 1, "output_tokens": 2, "cost_usd": 0.5,
                          "duration_ms": 3, "attempts": 1});
        let now: Run<Output> =
            read_run(json!({"output": {"clusters": ["a"]}, "calls": [call.clone()], "parts": 2})).unwrap();
        let earlier: Run<Output> = read_run(json!({"clusters": ["a"], "calls": [call], "parts": 2})).unwrap();
        assert_eq!(now, earlier);
        assert_eq!(now.output.clusters, ["a"]);
        assert_eq!((now.calls[0].id.as_str(), now.parts), ("c1", 2));
        assert!(read_run::<Output>(json!({"clusters": "no"})).is_err());
    }
}
