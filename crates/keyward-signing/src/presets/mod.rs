//! Venue presets: one module per venue, each stating its rules, linking the venue's docs and
//! declaring its descriptor.

pub(crate) mod binance;
pub(crate) mod bitmart;
pub(crate) mod bitmex;
pub(crate) mod bybit;
pub(crate) mod coinbase;
pub(crate) mod deribit;
pub(crate) mod kraken;
pub(crate) mod okx;
