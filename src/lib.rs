//! Samordna: reports of concern (orosanmälan) and SIP meetings for Swedish child welfare.
//!
//! Organised by capability: [`accounts`], [`audit`], [`mail`], with the shared web parts in
//! [`web`] and the database in [`db`]. Pure rules live in modules that do no I/O.
//!
//! Below every capability, and importing none of them: [`error`], [`ids`], [`time`],
//! [`workdays`], [`crypto`], [`db`] and [`config`]. The command line ([`cli`]) sits above them
//! all, and alone knows every table that holds sealed data.

pub mod accounts;
pub mod api;
pub mod audit;
pub mod authz;
pub mod calendar;
pub mod case_system;
pub mod caseload;
pub mod cli;
pub mod config;
pub mod consultations;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod error;
pub mod home;
pub mod ids;
pub mod information_requests;
pub mod input;
pub mod journal;
pub mod mail;
pub mod personnummer;
pub mod profile;
pub mod proxies;
pub mod reports;
pub mod schedule;
pub mod secrets;
pub mod sip;
pub mod startup;
pub mod statistics;
pub mod telemetry;
pub mod text_enum;
pub mod time;
pub mod web;
pub mod webhooks;
pub mod workdays;
