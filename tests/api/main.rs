//! The black-box test binary: the real application on real sockets, real SQLite files and a real
//! PostgreSQL, the Cal.com simulator over HTTP. One binary, many modules (fast to link).

mod admin;
mod availability;
mod browser;
mod calcom;
mod calendar;
mod chaos;
mod doctor;
mod exactly_once;
mod german;
mod helpers;
mod openapi;
mod ops;
mod protocol;
mod recovery;
mod retell;
mod schemathesis;
mod security;
mod store_suite;
mod transcripts;
mod wire;
