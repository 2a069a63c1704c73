//! Venue-agnostic order types for [`RestClient::place_order`](crate::RestClient::place_order) and
//! [`RestClient::cancel_order`](crate::RestClient::cancel_order).

use serde_json::Value;

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// Market or limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderType {
    /// At the market.
    Market,
    /// At `price` or better, good till cancelled.
    Limit {
        /// The limit price, as a decimal string (no float rounding).
        price: String,
    },
}

/// An order to place. Quantities and prices are decimal strings, as venues take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    /// The venue's symbol (`BTCUSDT`, `BTC-USDT`, `XBTUSD`, `BTC-PERPETUAL`).
    pub symbol: String,
    /// Buy or sell.
    pub side: Side,
    /// Market or limit.
    pub order_type: OrderType,
    /// The quantity in the venue's unit.
    pub quantity: String,
    /// A client order id, sent where the venue takes one: use it to reconcile after an
    /// [`Error::UnknownOutcome`](crate::Error::UnknownOutcome). Left `None`, the client
    /// generates one in the venue's form (a UUID v4 from the operating system's CSPRNG) and
    /// returns it in [`OrderAck::client_order_id`] and in the unknown-outcome error; one given
    /// here that the venue's form does not allow is refused before sending.
    pub client_order_id: Option<String>,
}

impl OrderRequest {
    /// A market order.
    pub fn market(symbol: impl Into<String>, side: Side, quantity: impl Into<String>) -> Self {
        Self {
            symbol: symbol.into(),
            side,
            order_type: OrderType::Market,
            quantity: quantity.into(),
            client_order_id: None,
        }
    }

    /// A limit order, good till cancelled.
    pub fn limit(
        symbol: impl Into<String>,
        side: Side,
        quantity: impl Into<String>,
        price: impl Into<String>,
    ) -> Self {
        Self {
            order_type: OrderType::Limit {
                price: price.into(),
            },
            ..Self::market(symbol, side, quantity)
        }
    }

    /// Sets the client order id.
    pub fn with_client_order_id(mut self, id: impl Into<String>) -> Self {
        self.client_order_id = Some(id.into());
        self
    }

    pub(crate) fn price(&self) -> Option<&str> {
        match &self.order_type {
            OrderType::Market => None,
            OrderType::Limit { price } => Some(price),
        }
    }
}

/// An order to cancel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    /// The venue's symbol (ignored by venues that cancel by id alone).
    pub symbol: String,
    /// The venue's order id.
    pub order_id: String,
}

impl CancelRequest {
    /// Cancel `order_id` on `symbol`.
    pub fn new(symbol: impl Into<String>, order_id: impl Into<String>) -> Self {
        Self {
            symbol: symbol.into(),
            order_id: order_id.into(),
        }
    }
}

/// The venue's acknowledgement of an order placement or cancellation.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderAck {
    /// The venue's order id, read from the field the venue documents for its answer
    /// (Binance `orderId`, OKX `data[0].ordId`, Kraken `result.txid[0]`...); None when the
    /// answer names none there.
    pub order_id: Option<String>,
    /// The client order id the placement carried (the caller's, or the one the client
    /// generated), for venues that take one; None for a cancellation.
    pub client_order_id: Option<String>,
    /// The venue's answer as it came.
    pub raw: Value,
}

impl OrderAck {
    /// The acknowledgement in `raw`, its order id read from the field the venue documents
    /// (`order_id_at`, a dotted path; None when the venue's answer names no order).
    pub(crate) fn from_raw(raw: Value, order_id_at: Option<&str>) -> Self {
        let order_id = order_id_at
            .and_then(|path| crate::venue::lookup(&raw, path))
            .and_then(|v| match v {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        Self {
            order_id,
            client_order_id: None,
            raw,
        }
    }
}
