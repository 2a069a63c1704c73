#![doc = include_str!("../README.md")]

mod error;
mod store;
mod value;

pub use error::{Error, Result};
pub use store::{
    CURRENT, Capabilities, Metadata, PENDING, PREVIOUS, Secret, SecretStore, Selector,
    validate_name,
};
pub use value::SecretValue;
