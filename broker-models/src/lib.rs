//! broker-models (in progress)
