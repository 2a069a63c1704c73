//! Breakers by name, and a health report that lists every one of them.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

use super::CircuitBreaker;
use super::config::BreakerConfig;
use super::metrics::BreakerMetrics;
use super::state::BreakerState;

/// Breakers by name: one per venue or endpoint, shared by everything that calls it.
#[derive(Debug, Default)]
pub struct BreakerRegistry {
    breakers: RwLock<BTreeMap<String, CircuitBreaker>>,
}

/// One line of a registry's health report.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BreakerHealth {
    /// The breaker's name.
    pub name: String,
    /// Its state.
    pub state: BreakerState,
    /// Its figures.
    pub metrics: BreakerMetrics,
}

impl BreakerRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The breaker named `name`, created with `config` if there is none yet. An existing
    /// breaker keeps its own configuration (as resilience4j's registry does).
    pub fn get_or_create(&self, name: &str, config: BreakerConfig) -> CircuitBreaker {
        if let Some(breaker) = self.get(name) {
            return breaker;
        }
        let mut breakers = self
            .breakers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        breakers
            .entry(name.to_owned())
            .or_insert_with(|| CircuitBreaker::new(name, config))
            .clone()
    }

    /// The breaker named `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<CircuitBreaker> {
        self.breakers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Removes the breaker named `name` from the registry and returns it. Its clones still work.
    pub fn remove(&self, name: &str) -> Option<CircuitBreaker> {
        self.breakers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name)
    }

    /// The names of every breaker, in order.
    pub fn names(&self) -> Vec<String> {
        self.breakers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    /// Every breaker's name, state and figures, in name order.
    pub fn health(&self) -> Vec<BreakerHealth> {
        // Clone the breakers out first: no breaker's lock is taken under the registry's.
        let breakers: Vec<CircuitBreaker> = self
            .breakers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        breakers
            .into_iter()
            .map(|breaker| {
                let metrics = breaker.metrics();
                BreakerHealth {
                    name: breaker.name().to_owned(),
                    state: metrics.state,
                    metrics,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_breaker_per_name_and_a_health_line_each() {
        let registry = BreakerRegistry::new();
        let a = registry.get_or_create("okx", BreakerConfig::default());
        let again = registry.get_or_create(
            "okx",
            BreakerConfig::builder().minimum_calls(1).build().unwrap(),
        );
        again.transition_to_forced_open();
        assert_eq!(a.state(), BreakerState::ForcedOpen);
        assert_eq!(again.config().minimum_calls(), 100);
        registry.get_or_create("binance", BreakerConfig::default());
        assert_eq!(registry.names(), ["binance", "okx"]);
        let health = registry.health();
        assert_eq!(health.len(), 2);
        assert_eq!(
            (health[0].name.as_str(), health[0].state),
            ("binance", BreakerState::Closed)
        );
        assert_eq!(
            (health[1].name.as_str(), health[1].state),
            ("okx", BreakerState::ForcedOpen)
        );
        assert!(registry.remove("okx").is_some());
        assert!(registry.get("okx").is_none());
        assert_eq!(a.state(), BreakerState::ForcedOpen);
    }
}
