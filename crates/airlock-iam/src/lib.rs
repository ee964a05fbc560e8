//! `airlock-iam`: not built yet (see its issue).
