//! [`LimitScope`]: whose budget a venue's rate limit counts, as the venue documents it. A fleet
//! that shares a budget in Redis names its keys by it, so that every process that spends the
//! same budget at the venue draws from the same key.

/// Whose budget one of a venue's rate limits counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    /// Every request from one IP address (Binance's request weight): every process behind
    /// one egress address shares it, whatever its key.
    Ip,
    /// Every request of one account (Binance's order counts, OKX's user id, BitMEX's
    /// account): every process using the account's API key shares it, whatever its IP.
    Account,
    /// One group of endpoints of one account (Bybit counts per UID and endpoint): the
    /// account's processes share it, apart from the account's other groups.
    AccountGroup(&'static str),
}

impl LimitScope {
    /// The scope's id in a fleet's key names: `<venue>:ip:<egress>`, `<venue>:acct:<key id>`
    /// or `<venue>:acct:<key id>:<group>`. `egress` names the IP the fleet's requests leave
    /// from (configured, the same in every process behind it); `key_id` is a hash of the API
    /// key, never the key.
    pub fn id(self, venue: &str, egress: &str, key_id: &str) -> String {
        match self {
            LimitScope::Ip => format!("{venue}:ip:{egress}"),
            LimitScope::Account => format!("{venue}:acct:{key_id}"),
            LimitScope::AccountGroup(group) => format!("{venue}:acct:{key_id}:{group}"),
        }
    }
}
