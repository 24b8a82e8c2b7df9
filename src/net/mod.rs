//! Network loop (stub).
