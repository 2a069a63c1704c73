//! Nothing to link: this package exists for its test binary, `exchange/main.rs` (the exchange
//! client's end-to-end suites against the local testnet). See `Cargo.toml`.
