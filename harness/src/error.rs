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
    /// The world was built without the broker model a subject trades at.
    #[error("the world has no {0} model")]
    NoModel(String),
    /// The paper engine could not be built.
    #[error("the paper engine: {0}")]
    Paper(String),
}
