#![doc = include_str!("../README.md")]

mod client;

pub use client::{Client, ClientBuilder, Venue};

pub use keyward_core_crypto as crypto;
pub use keyward_exchange_client as exchange;
pub use keyward_resilience as resilience;
pub use keyward_secrets_backends as secrets;
pub use keyward_signing as signing;

pub use keyward_exchange_client::{
    Error, ErrorKind, OrderRequest, RestClient, RootCertificate, Side, WsConfig, WsEvent, WsSession,
};
pub use keyward_secrets_backends::{SecretStore, SecretValue};
pub use keyward_signing::{Credentials, Scheme};
