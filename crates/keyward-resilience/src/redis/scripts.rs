//! The Lua scripts that decide the shared budget in Redis, one round trip each, atomic.
//!
//! Times are whole microseconds (the resolution of Redis's `TIME`), which Lua's doubles hold
//! exactly for centuries past the epoch. `ARGV[1]` is "now": empty for Redis's own `TIME` (one
//! time base for the whole fleet, no skew between hosts) or a number from an injected clock. A
//! stored value is a theoretical arrival time (TAT) as a decimal integer; anything else in a key
//! (another program's data, another type) makes the script answer `{-1, i}` (key `i` is bad)
//! before it writes anything, so the caller returns a typed error and charges nothing.

use redis::Script;

/// Reads "now" and defines `bad(i, raw)`: the shared head of every script.
const HEAD: &str = r"
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
local function read(key)
  local raw = redis.pcall('GET', key)
  if type(raw) == 'table' then return nil, true end
  if not raw then return nil, false end
  local tat = tonumber(raw)
  if tat == nil or tat ~= tat or tat < 0 or tat > 9007199254740991 or tat ~= math.floor(tat) then
    return nil, true
  end
  return tat, false
end
local function write(key, tat)
  if tat > now then
    redis.call('SET', key, string.format('%.0f', tat), 'PX', math.max(1, math.ceil((tat - now) / 1000)))
  else
    redis.call('DEL', key)
  end
end
";

/// GCRA over every key at once, as governor decides one window: with `t` the refill interval,
/// `tau = t * (burst - 1)` and a cost `n`, a request is allowed when
/// `now >= tat + t * (n - 1) - tau`, and the key's TAT becomes `max(tat, now) + t * n`.
/// ARGV after "now": `t, tau, n` per key. Answers `{1, 0, 0}` (all charged), `{0, i, wait}`
/// (nothing charged; key `i` has the longest wait, in µs) or `{-1, i, 0}`.
const CHECK: &str = r"
local nexts = {}
local worst, worst_wait = 0, -1
for i = 1, #KEYS do
  local t = tonumber(ARGV[3 * i - 1])
  local tau = tonumber(ARGV[3 * i])
  local cost = tonumber(ARGV[3 * i + 1])
  local tat, bad = read(KEYS[i])
  if bad then return {-1, i, 0} end
  if tat == nil then tat = now end
  local earliest = tat + t * (cost - 1) - tau
  if now < earliest then
    if earliest - now > worst_wait then worst, worst_wait = i, earliest - now end
  else
    nexts[i] = math.max(tat, now) + t * cost
  end
end
if worst > 0 then return {0, worst, worst_wait} end
for i = 1, #KEYS do write(KEYS[i], nexts[i]) end
return {1, 0, 0}
";

/// Raises each key's TAT to `now + used * t` (ARGV after "now": `t, used` per key, `used`
/// already capped at the capacity); never lowers one. Answers `{1, raised}` or `{-1, i}`.
const RESYNC: &str = r"
local wants = {}
for i = 1, #KEYS do
  local t = tonumber(ARGV[2 * i])
  local used = tonumber(ARGV[2 * i + 1])
  local tat, bad = read(KEYS[i])
  if bad then return {-1, i} end
  local want = now + used * t
  if tat == nil or want > tat then wants[i] = want end
end
local raised = 0
for i = 1, #KEYS do
  if wants[i] and wants[i] > now then write(KEYS[i], wants[i]); raised = raised + 1 end
end
return {1, raised}
";

/// Gives back a charge (ARGV after "now": `t, n` per key): each TAT moves back by `t * n`, to
/// no earlier than now. Answers `{1, 0}` or `{-1, i}`.
const REFUND: &str = r"
local backs = {}
for i = 1, #KEYS do
  local t = tonumber(ARGV[2 * i])
  local cost = tonumber(ARGV[2 * i + 1])
  local tat, bad = read(KEYS[i])
  if bad then return {-1, i} end
  if tat ~= nil then backs[i] = tat - t * cost end
end
for i = 1, #KEYS do
  if backs[i] then write(KEYS[i], backs[i]) end
end
return {1, 0}
";

/// The three scripts, loaded once per limiter (the redis crate sends `EVALSHA`, and the source
/// only when Redis does not know the script yet).
#[derive(Debug)]
pub(crate) struct Scripts {
    pub(crate) check: Script,
    pub(crate) resync: Script,
    pub(crate) refund: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Self {
            check: Script::new(&format!("{HEAD}{CHECK}")),
            resync: Script::new(&format!("{HEAD}{RESYNC}")),
            refund: Script::new(&format!("{HEAD}{REFUND}")),
        }
    }
}
