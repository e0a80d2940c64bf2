//! Black-box tests of the OAuth 2.0 test provider and its sequencer API: each test serves
//! `Provider::router()` on a free port and speaks HTTP to it, never following redirects.

mod authorize;
mod helpers;
mod refresh;
mod revoke;
mod sequencer;
mod token;
