//! `serve`'s settings as the README documents them: flags and environment variables win over the
//! config file, which wins over the defaults. Each test starts the binary on 127.0.0.1 port 0 and
//! reads back the settings its start-up log line reports.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::support::files::{scratch, BIN};

/// Starts `serve` with the config file `toml`, the extra `args` and the environment `env` (no other
/// `THEATRE_` variable), and returns the fields of its `serving` log line.
fn serving(name: &str, toml: &str, args: &[&str], env: &[(&str, &str)]) -> serde_json::Map<String, Value> {
    let dir = scratch(name);
    let config = dir.join("serve.toml");
    std::fs::write(&config, toml).unwrap();
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("THEATRE_") {
            command.env_remove(key);
        }
    }
    command
        .args([
            "--log-format",
            "json",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--config",
        ])
        .arg(&config)
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the binary runs");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let fields = loop {
        // A hang guard only: start-up takes well under a second.
        let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            panic!("no `serving` line; the server said: {seen:#?}");
        };
        if let Ok(Value::Object(mut event)) = serde_json::from_str::<Value>(&line) {
            if let Some(Value::Object(fields)) = event.remove("fields") {
                if fields.get("message") == Some(&Value::from("serving")) {
                    break fields;
                }
            }
        }
        seen.push(line);
    };
    child.kill().unwrap();
    child.wait().unwrap();
    fields
}

const FILE: &str = "max_queued = 7\nmax_sessions = 123\nmax_patients = 456\nmax_worlds = 5\n";

#[test]
fn a_flag_wins_over_the_config_file() {
    let fields = serving(
        "settings-flag",
        FILE,
        &["--max-queued", "9", "--world-idle-seconds", "60"],
        &[],
    );
    assert_eq!(fields.get("max_queued"), Some(&Value::from(9)), "{fields:?}");
    assert_eq!(
        fields.get("world_idle_seconds"),
        Some(&Value::from(60)),
        "{fields:?}"
    );
    assert_eq!(fields.get("max_sessions"), Some(&Value::from(123)), "{fields:?}");
}

#[test]
fn an_environment_variable_wins_over_the_config_file() {
    let fields = serving("settings-env", FILE, &[], &[("THEATRE_MAX_SESSIONS", "321")]);
    assert_eq!(fields.get("max_sessions"), Some(&Value::from(321)), "{fields:?}");
    assert_eq!(fields.get("max_queued"), Some(&Value::from(7)), "{fields:?}");
}

#[test]
fn the_config_file_wins_over_the_defaults() {
    let fields = serving("settings-file", FILE, &[], &[]);
    assert_eq!(fields.get("max_patients"), Some(&Value::from(456)), "{fields:?}");
    assert_eq!(fields.get("max_worlds"), Some(&Value::from(5)), "{fields:?}");
    // A setting nobody gives keeps its default (64 MiB; 15 minutes).
    assert_eq!(
        fields.get("world_idle_seconds"),
        Some(&Value::from(900)),
        "{fields:?}"
    );
    assert_eq!(
        fields.get("max_message_bytes"),
        Some(&Value::from(64 * 1024 * 1024)),
        "{fields:?}"
    );
}
