//! `launchkey`: not built yet (see its issue).
