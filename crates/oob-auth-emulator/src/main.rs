//! `oob-auth-emulator`: serves every provider until interrupted (see `--help`).

use std::io::Write as _;
use std::process::ExitCode;

use oob_auth_emulator::{Command, Server, USAGE};

fn main() -> ExitCode {
    let command = match Command::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("oob-auth-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let (options, print_json) = match command {
        Command::Run {
            options,
            print_json,
        } => (options, print_json),
        Command::Help => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("oob-auth-emulator {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => return ExitCode::from(2),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("oob-auth-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !options.bind.is_loopback() {
        eprintln!(
            "oob-auth-emulator: warning: listening on {} — the control API hands out every \
             key and secret, and anyone who reaches it can approve step-ups",
            options.bind
        );
    }
    runtime.block_on(async move {
        let server = match Server::start(*options).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("oob-auth-emulator: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut out = std::io::stdout().lock();
        let printed = if print_json {
            writeln!(out, "{}", server.info())
        } else {
            write!(out, "{}", summary(server.info()))
        };
        if printed.and_then(|()| out.flush()).is_err() {
            return ExitCode::FAILURE;
        }
        drop(out);
        let _ = tokio::signal::ctrl_c().await;
        drop(server);
        ExitCode::SUCCESS
    })
}

/// What a person needs at start: the URLs, ids, keys and secrets, one provider per block.
fn summary(info: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let _ = writeln!(s, "oob-auth-emulator {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(
        s,
        "  phone page and control API: {}",
        text(&info["phone_url"])
    );
    if let Some(cert) = info["tls"]["certificate"].as_str() {
        let _ = writeln!(s, "  TLS certificate (trust it in your client): {cert}");
    }
    if let Some(providers) = info["providers"].as_object() {
        for (name, p) in providers {
            let _ = writeln!(s, "\n{name}");
            if let Some(fields) = p.as_object() {
                for (k, v) in fields {
                    if k == "service_private_key_pem"
                        || (k == "users" && v.as_object().is_some_and(serde_json::Map::is_empty))
                    {
                        continue;
                    }
                    let _ = writeln!(s, "  {k}: {}", text(v));
                }
            }
        }
    }
    let _ = writeln!(
        s,
        "\n`--print-json` prints all of this (and the LaunchKey service key) as JSON. Ctrl-C stops."
    );
    s
}
