-- One replay decision of keyward's RedisReplayCache, atomic and in one round trip.
-- KEYS[1] the entry key <prefix>:{replay}:<hex id>, KEYS[2] the epoch key <prefix>:{replay}:epoch.
-- ARGV[1] now (ms, the verifier's clock), ARGV[2] how long to remember (ms, >= 1),
-- ARGV[3] the entry's valid_from (ms), ARGV[4] the epoch id the caller saw last ('' for none),
-- ARGV[5] a fresh epoch id, used if the epoch key is missing.
-- The epoch value is 'v1:<created ms>:<id hex>:<0 fresh | 1 restarted>'.
-- Returns {status, epoch id, epoch created, detected} where status is 'ok', 'replayed',
-- 'before_restart' or 'bad_epoch' (the epoch key holds something this script never writes),
-- and detected is '1' when this call found the restart.
local kind = redis.call('TYPE', KEYS[2])['ok']
local created, id, restarted
local detected = '0'
if kind == 'none' then
  created = ARGV[1]
  id = ARGV[5]
  if ARGV[4] ~= '' then
    restarted = '1'
    detected = '1'
  else
    restarted = '0'
  end
  redis.call('SET', KEYS[2], 'v1:' .. created .. ':' .. id .. ':' .. restarted)
elseif kind == 'string' then
  local value = redis.call('GET', KEYS[2])
  created, id, restarted = string.match(value, '^v1:(%d+):(%x+):([01])$')
  if not created or #created > 15 or #id > 32 then
    return {'bad_epoch', '', '', '0'}
  end
  if ARGV[4] ~= '' and ARGV[4] ~= id and restarted == '0' then
    restarted = '1'
    detected = '1'
    redis.call('SET', KEYS[2], 'v1:' .. created .. ':' .. id .. ':1')
  end
else
  return {'bad_epoch', '', '', '0'}
end
if restarted == '1' and tonumber(ARGV[3]) < tonumber(created) then
  return {'before_restart', id, created, detected}
end
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[2]) then
  return {'ok', id, created, detected}
end
return {'replayed', id, created, detected}
