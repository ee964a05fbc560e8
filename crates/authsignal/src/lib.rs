//! `authsignal`: not built yet (see its issue).
