//! [`Call`]: one request a venue's module describes (method, path, parameters, class, rate
//! costs), and where the venue's answer names the order id.

use keyward_resilience::RequestClass;

use crate::params::Params;

/// One call to make: method, path (below the base URL), parameters, class and rate costs.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: &'static str,
    pub(crate) path: String,
    pub(crate) params: Params,
    pub(crate) class: RequestClass,
    /// Units charged to the rate limiter: request weight and orders placed (inline, so a
    /// call allocates nothing for them).
    pub(crate) weight: u32,
    pub(crate) orders: u32,
    pub(crate) signed: bool,
    /// The client order id an order placement carries, to name in an unknown outcome.
    pub(crate) client_order_id: Option<String>,
    /// Where the venue's answer names the order id (a dotted path, `data.0.ordId`), as the
    /// venue documents it; None when the answer names none.
    pub(crate) answer_order_id: Option<&'static str>,
}

impl Call {
    pub(crate) fn new(method: &'static str, path: impl Into<String>, params: Params) -> Self {
        Self {
            method,
            path: path.into(),
            params,
            class: RequestClass::Read,
            weight: 1,
            orders: 0,
            signed: true,
            client_order_id: None,
            answer_order_id: None,
        }
    }

    pub(crate) fn class(mut self, class: RequestClass) -> Self {
        self.class = class;
        self
    }

    pub(crate) fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    pub(crate) fn orders(mut self, orders: u32) -> Self {
        self.orders = orders;
        self
    }

    /// The answer names the order id at `path` (dotted, array items by index).
    pub(crate) fn answer_order_id(mut self, path: &'static str) -> Self {
        self.answer_order_id = Some(path);
        self
    }

    /// The rate-limiter costs, as (unit, amount); a zero amount charges nothing.
    pub(crate) fn costs(&self) -> [(&'static str, u32); 2] {
        [("weight", self.weight), ("orders", self.orders)]
    }

    pub(crate) fn public(mut self) -> Self {
        self.signed = false;
        self
    }
}
