//! The Alpaca Trading API v2 adapter (in progress).
