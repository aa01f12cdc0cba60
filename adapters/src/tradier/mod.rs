//! The Tradier brokerage API adapter (in progress).
