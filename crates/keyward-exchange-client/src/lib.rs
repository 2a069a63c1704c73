#![doc = include_str!("../README.md")]

pub mod ws;

pub use ws::{WsConfig, WsError, WsEvent, WsSession};
