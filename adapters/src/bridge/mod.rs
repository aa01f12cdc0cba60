//! The process bridge to an out-of-process adapter (in progress).
