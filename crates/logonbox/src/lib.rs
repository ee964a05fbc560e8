//! `logonbox`: not built yet (see its issue).
