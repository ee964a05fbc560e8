//! The `ciba_token_response` fuzz target replayed on stable in a plain `cargo test`: every input
//! under `fuzz/regressions/ciba_token_response/`, `fuzz/seeds/ciba_token_response/` and
//! `fixtures/ciba/fuzz-seeds/ciba_token_response/` runs through the target's own harness, the
//! code libFuzzer runs. A fixed finding cannot come back unnoticed.
#[path = "../../../../fuzz/src/replay.rs"]
mod replay;
use replay::replay;

#[path = "../fuzz/ciba_token_response.rs"]
mod ciba_token_response;

#[test]
fn ciba_token_response() {
    replay("ciba_token_response", ciba_token_response::run);
}
