//! IRC state (stub).
