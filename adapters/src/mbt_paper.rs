//! The MBT paper adapter (in progress).
