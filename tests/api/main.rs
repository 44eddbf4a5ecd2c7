//! Integration tests: the real service on port 0, against SQLite and PostgreSQL, with a real SMTP
//! server. One binary, so the crate is linked once.

mod helpers;

mod access_matrix;
mod accounts_admin;
mod acute;
mod api_tokens;
mod audit_trail;
mod calendar_feed;
mod calendar_files;
mod calendar_interop;
mod case_system;
mod caseload;
mod closing;
mod command_line;
mod consultations;
mod encryption;
mod faults;
mod find_time;
mod health;
mod information_requests;
mod instances;
mod journal;
mod journal_pages;
mod journal_signed;
mod login;
mod names_and_input;
mod organisations;
mod outbox;
mod partner_access;
mod per_child;
mod protocol;
mod report_pages;
mod reports;
mod request_files;
mod retention;
mod single_sign_on;
mod single_sign_on_setup;
mod sip_consent;
mod sips;
mod statistics;
mod statistics_rollup;
mod two_factor;
mod webhooks;
