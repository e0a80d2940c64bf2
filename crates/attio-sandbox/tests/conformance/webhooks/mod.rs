//! The webhook platform: management API, delivery and filters.

mod delivery;
mod filters;
mod management;
