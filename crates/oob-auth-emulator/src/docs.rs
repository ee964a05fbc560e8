//! The user guide.
