//! adapters (in progress)
