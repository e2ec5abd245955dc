//! The account module (`/api/v1/account/`): the account's settings, team and usage analytics, as
//! the account's owner sees them.

pub mod routes;
