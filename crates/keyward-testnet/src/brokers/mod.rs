//! Broker sessions: login-based brokers whose sessions live on the testnet's clock, each on its
//! own listener.

pub(crate) mod ibkr;
mod ibkr_session;
