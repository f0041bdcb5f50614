//! The browser sign-in of issue 14: its pure parts, shared by the `/.auth/*` routes.
//!
//! | module | what |
//! |---|---|
//! | [`return_to`] | where to go after signing in: same-origin paths only |
//! | [`state`] | the one-time login state: contract, browser binding, in-memory store for tests |
//! | [`cookie`] | `Cookie` parsing and `Set-Cookie` values (`__Host-` on https, a loopback name) |
//! | [`page`] | every sign-in failure as status, code and message; the HTML page and JSON |
//!
//! The protocol itself (authorization URL, callback, token exchange) is [`crate::oauth`].
//! Sealing the session cookie and the Durable Object stores come with the routes.

pub(crate) mod cookie;
pub(crate) mod page;
pub(crate) mod return_to;
pub(crate) mod state;
