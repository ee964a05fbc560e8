//! `onegini-model`: not built yet (see its issue).
