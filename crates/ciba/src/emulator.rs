//! A CIBA OpenID Provider emulator (feature `emulator`); being written.
