//! The harness's own errors: what went wrong reaching or steering a venue
//! (a broker model's `/_sim/` control surface, or the paper engine), as
//! opposed to anything an adapter did. Typed, so a case can tell a venue
//! that refused a request from one it could not reach; a case that meets
//! one fails with its text (see `Failure`).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum VenueError {
    /// The control request could not be written (a path or a body).
    #[error("control {path}: cannot send the request: {why}")]
    Request { path: String, why: String },
    /// The model could not be reached, or the exchange broke off.
    #[error("control {path}: {why}")]
    Unreachable { path: String, why: String },
    /// The model answered with a refusal.
    #[error("control {path}: HTTP {status} {body}")]
    Refused {
        path: String,
        status: u16,
        body: String,
    },
    /// The model answered something the harness cannot read.
    #[error("control {path}: unreadable answer: {why}")]
    Unreadable { path: String, why: String },
    /// The paper engine cannot do this (it has no fault injection).
    #[error("the paper engine has no {0}")]
    NotOnPaper(&'static str),
    /// The paper engine refused a price.
    #[error("cannot price {symbol} at {price}")]
    Price { symbol: String, price: String },
    /// The paper engine refused one of several prices (and set none).
    #[error("cannot price {0} (none was set)")]
    Prices(String),
    /// The world was built without the broker model a subject trades at.
    #[error("the world has no {0} model")]
    NoModel(String),
    /// The paper engine could not be built.
    #[error("the paper engine: {0}")]
    Paper(String),
}

/// Why a world could not run a case at all: the harness's or the
/// machine's trouble, never anything the adapter did.
#[derive(Debug, Error)]
pub enum SetupError {
    #[error("starting a runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("binding 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    #[error("a TCP dialer: {0}")]
    Dialer(#[source] std::io::Error),
    #[error("no model of broker {broker:?}: {source}")]
    Model {
        broker: String,
        source: broker_models::BuildError,
    },
    #[error("the case's fault plan: {0}")]
    Plan(#[from] broker_models::faults::PlanError),
    #[error("installing the case's fault plan: {0}")]
    Faults(#[source] VenueError),
    #[error("starting the adapter: {0}")]
    Adapter(#[source] adapters::AdapterError),
    #[error(transparent)]
    Faketime(#[from] FaketimeError),
    /// The simulation itself broke off (turmoil's error, as it says it).
    #[error("simulation failed: {0}")]
    Simulation(String),
    #[error("the client ended without a result")]
    NoResult,
}

/// Why an adapter cannot run faster than real time here.
#[derive(Debug, Error)]
pub enum FaketimeError {
    #[error("running {script}: {source}")]
    Run {
        script: &'static str,
        source: std::io::Error,
    },
    #[error("{script} failed ({status}); or pass --pace 1")]
    Failed {
        script: &'static str,
        status: std::process::ExitStatus,
    },
    #[error("running the adapter {factor}x faster needs libfaketime in {dir}: run scripts/faketime.sh, or pass --pace 1", dir = .dir.display())]
    Missing {
        factor: u32,
        dir: std::path::PathBuf,
    },
}

/// Why a mutant is not applied to an adapter: the run is skipped with it.
#[derive(Debug, Error)]
#[error("the mutant cannot break {adapter}: {why}")]
pub struct CannotBreak {
    pub adapter: String,
    pub why: String,
}
