//! OS glue (stub).
