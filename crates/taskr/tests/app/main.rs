//! Black-box tests of Taskr: each spawns Taskr and an in-process Attio sandbox on port 0 and
//! talks to them over HTTP.

mod accessibility;
mod accounts;
mod attio_link;
mod backlog;
mod browser;
mod connection_faults;
mod connections;
mod crash;
mod database;
mod demo;
mod forms;
mod hardening;
mod health;
mod helpers;
mod instances;
mod limits;
mod names;
mod ops;
mod properties;
mod proxy;
mod read_model;
mod security;
mod startup;
mod sync;
mod task_changes;
mod task_views;
mod tasks;
mod webhooks;
mod workspaces;
