//! The integration test binary: real servers on 127.0.0.1:0, real clients, every plan re-checked
//! by the independent plan checker.

mod age_rules;
mod api;
mod architecture;
mod bad_inputs;
mod beds;
mod checker_wiring;
mod cli;
mod desk;
mod held_world;
mod import;
mod keepalive;
mod logs;
mod metrics;
mod optimiser;
pub mod oracle;
mod planning;
mod properties;
mod report;
mod right_place;
mod security;
mod serve_settings;
mod service;
mod setup_script;
mod streaming;
pub mod support;
mod traces;
mod validation;
mod whatif;
