//! SIP (samordnad individuell plan): a caseworker records the family's consent, adds partners
//! and books meetings whose invitations land in real calendars; partners answer by link or from
//! their calendar.

pub mod api;
pub mod feed;
pub mod inbound;
pub mod invitations;
pub mod model;
pub mod reminders;
pub mod store;
pub mod times;
pub mod web;
