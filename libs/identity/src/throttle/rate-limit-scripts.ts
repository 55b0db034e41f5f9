// RateLimiter's Lua scripts (Redis runs each one atomically).
import { LEASE_SHARE } from './quota-leases';

// Every quota of a request in one script, so one command and one round trip whatever their number, and atomic: a
// request counts against every quota when all of them have room, else only against those it is refused by (a
// credential's refused flood must not spend its organization's quota, nor one client's the address's it shares with
// others). Fixed windows: a quota's counter starts with its window's first request and expires with the window.
// KEYS: per quota, its counter, the replicas granted a lease of it (QuotaLeases) and the values they gave back. ARGV:
// the points, this replica's id, whether a refusal may be held (below), then each quota's limit, window in seconds
// and the most it may take beyond the points for this replica's lease (at most a sixteenth of what is left).
// A quota with no room left admits a request with values given back, each once. A request refused only by quotas that
// other replicas hold leases of is held when asked: counted nowhere, so that it can be counted again once they gave
// back what they did not use. Returns, per quota, its count (this request's points and lease included where they were
// counted; the highest value given back that it took), the milliseconds left in its window, the points leased and,
// for a held refusal, how many other replicas hold a lease of it.
export const CONSUME = `
local points, me, hold = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1'
local quotas = #KEYS / 3
local counts, reuse, holders, refused = {}, {}, {}, false
for i = 1, quotas do
  counts[i], holders[i] = tonumber(redis.call('get', KEYS[3 * i - 2]) or '0'), 0
  if counts[i] + points > tonumber(ARGV[3 * i + 1]) then
    if redis.call('llen', KEYS[3 * i]) >= points then
      reuse[i] = true
    else
      refused = true
      holders[i] = redis.call('scard', KEYS[3 * i - 1]) - redis.call('sismember', KEYS[3 * i - 1], me)
      if holders[i] == 0 then hold = false end
    end
  end
end
hold = hold and refused
local out = {}
for i = 1, quotas do
  local counter, lessees, returned = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local limit, window, lease = tonumber(ARGV[3 * i + 1]), tonumber(ARGV[3 * i + 2]), tonumber(ARGV[3 * i + 3])
  local count, ttl, extra, room = counts[i], nil, 0, counts[i] + points <= limit
  if reuse[i] then
    -- Refused by another quota, a request takes no value given back: this one reports itself full, not refusing.
    count = limit
    if not refused then
      count = 0
      for _, value in ipairs(redis.call('lpop', returned, points)) do count = math.max(count, tonumber(value)) end
    end
  elseif hold then
    if not room then count = counts[i] + points end
  elseif room ~= refused then
    if not refused and lease > 0 then extra = math.min(lease, math.floor((limit - counts[i] - points) / ${LEASE_SHARE})) end
    count = redis.call('incrby', counter, points + extra)
    ttl = redis.call('pttl', counter)
    if ttl < 0 then
      redis.call('expire', counter, window)
      ttl = window * 1000
    end
    if extra > 0 then
      redis.call('sadd', lessees, me)
      redis.call('pexpire', lessees, ttl)
    end
  end
  if not ttl then
    ttl = redis.call('pttl', counter)
    if ttl < 0 then ttl = window * 1000 end
  end
  out[4 * i - 3] = count
  out[4 * i - 2] = ttl
  out[4 * i - 1] = extra
  out[4 * i] = hold and holders[i] or 0
end
return out
`;

// Gives back a replica's unused values of a quota and takes it off the quota's holders. A quota with room gets them
// back on its counter (DECRBY); one whose room is spent (or any, for a reclaim) gets them on the list that requests
// take values from when the counter has no room, each value then used once: decrementing a counter past its limit
// would free nothing, and would hand out again values other requests reported. KEYS: counter, holders, values given
// back. ARGV: this replica's id, the quota's limit, 1 to keep the counter as it is, the values.
export const GIVE_BACK = `
redis.call('srem', KEYS[2], ARGV[1])
local count = tonumber(redis.call('get', KEYS[1]) or '-1')
if count < 0 or #ARGV < 4 then return 0 end
if count <= tonumber(ARGV[2]) and ARGV[3] ~= '1' then
  redis.call('decrby', KEYS[1], #ARGV - 3)
else
  redis.call('rpush', KEYS[3], unpack(ARGV, 4))
  local ttl = redis.call('pttl', KEYS[1])
  if ttl > 0 then redis.call('pexpire', KEYS[3], ttl) end
end
return 0
`;
