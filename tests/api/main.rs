//! The black-box test binary: the real application on real sockets, real SQLite files and a real
//! PostgreSQL, the Cal.com simulator over HTTP. One binary, many modules (fast to link).

mod calendar;
mod helpers;
mod store_suite;
mod retell;
mod protocol;
mod calcom;
mod ops;
mod recovery;
mod admin;
mod browser;
