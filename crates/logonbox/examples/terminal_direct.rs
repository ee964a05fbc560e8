//! A terminal direct flow: type a user name, the phone asks, the terminal shows the outcome.
//!
//! Against a real credential server:
//! `cargo run -p logonbox --example terminal_direct -- --base-url https://corp.logonbox.directory [--user lee@logonbox.com]`
//!
//! Without `--base-url` it starts the emulator and you play the phone as well: answer `y` or `n`
//! when asked. With no terminal input (e.g. in CI) it runs with the defaults and approves.

use std::time::Duration;

use auth_core::{Classify, ErrorKind};
use logonbox::emulator::{Behaviour, Emulator};
use logonbox::{Client, Error, KeyType};
use tokio::io::{AsyncBufReadExt, BufReader};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

async fn ask(
    lines: &mut tokio::io::Lines<BufReader<tokio::io::Stdin>>,
    question: &str,
) -> Option<String> {
    println!("{question}");
    match lines.next_line().await {
        Ok(Some(line)) if !line.trim().is_empty() => Some(line.trim().to_owned()),
        _ => None,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut emulator = None;
    let client = match arg("--base-url") {
        Some(base_url) => Client::builder(base_url)
            .sign_timeout(Duration::from_secs(120))
            .build()?,
        None => {
            let e = Emulator::start().await?;
            println!("(no --base-url: using the emulator at {})", e.base_url());
            let c = Client::builder(e.base_url()).build()?;
            emulator = Some(e);
            c
        }
    };

    let user = match arg("--user") {
        Some(u) => u,
        None => ask(&mut lines, "User name [lee@logonbox.com]:")
            .await
            .unwrap_or_else(|| "lee@logonbox.com".to_owned()),
    };

    if let Some(e) = &emulator {
        e.add_user(&user, &[KeyType::Ed25519])?;
        let answer = ask(
            &mut lines,
            "You are the phone too. Approve the request? [Y/n]:",
        )
        .await;
        if answer.is_some_and(|a| a.eq_ignore_ascii_case("n")) {
            e.set_behaviour(&user, Behaviour::reject());
        }
    }

    println!("Asking {user}'s phone on {} …", client.base_url());
    match client.authenticate(user.as_str()).await {
        Ok(approval) => println!(
            "APPROVED: {} signed with {} ({})",
            approval.principal(),
            approval.key().fingerprint(),
            approval.key().comment()
        ),
        Err(Error::Rejected { message }) => println!("REJECTED on the phone: {message}"),
        Err(e) if e.is_not_enrolled() => println!("NOT ENROLLED: {e}"),
        Err(e) if e.kind() == ErrorKind::Timeout => println!("NO ANSWER in time: {e}"),
        Err(e) => println!("FAILED: {e}"),
    }
    Ok(())
}
