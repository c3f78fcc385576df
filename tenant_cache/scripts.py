"""Lua scripts: each cache operation is one atomic round trip.

All keys of a call share the tenant's hash tag, so the scripts also run on Redis Cluster.
Keys a script reaches through a set's members (value keys of an entry) carry the same tag.
"""

# The hit path: one GET and one counter. KEYS: value, stats; ARGV: the value key's tail.
READ = """
local v = redis.call('GET', KEYS[1])
if v then redis.call('HINCRBY', KEYS[2], 'h|' .. ARGV[1], 1) end
return v
"""

# After a miss: count it, register the entry (so a tenant-wide invalidation bumps its
# generation too), read the generation *before* the caller reads the database, and try
# the stampede lock. A value stored meanwhile is returned instead.
# A purged (deleted) tenant's key space is closed: nothing is written, {2} = bypass.
# KEYS: value, stats, gen, lock, entries, purged; ARGV: entry id, lock token, lock ttl ms,
# count
MISS = """
if redis.call('EXISTS', KEYS[6]) == 1 then return {2} end
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[2], 'm|' .. ARGV[1], 1) end
redis.call('SADD', KEYS[5], ARGV[1])
local gen = redis.call('GET', KEYS[3]) or '0'
local locked = 0
if redis.call('SET', KEYS[4], ARGV[2], 'NX', 'PX', ARGV[3]) then locked = 1 end
return {0, gen, locked}
"""

# Store only if no invalidation happened since the reader read the generation; release
# the lock if we hold it.
# KEYS: value, gen, idx, lock, purged
# ARGV: payload, ttl ms, expected gen, lock token, index ttl s
SET_IF_CURRENT = """
local stored = 0
if redis.call('EXISTS', KEYS[5]) == 0 and (redis.call('GET', KEYS[2]) or '0') == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SADD', KEYS[3], KEYS[1])
  redis.call('EXPIRE', KEYS[3], ARGV[5])
  stored = 1
end
if redis.call('GET', KEYS[4]) == ARGV[4] then redis.call('DEL', KEYS[4]) end
return stored
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Bump each entry's generation (so in-flight readers cannot store what they computed
# before) and drop its value keys. Cost: the tenant's own keys of those entries only.
# A purged tenant's key space is left alone (a generation key would be a leftover).
# KEYS: purged, gen1, idx1, gen2, idx2, ...
INVALIDATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local dropped = 0
for i = 2, #KEYS, 2 do
  redis.call('INCR', KEYS[i])
  local members = redis.call('SMEMBERS', KEYS[i + 1])
  for j = 1, #members, 1000 do
    dropped = dropped + redis.call('UNLINK', unpack(members, j, math.min(j + 999, #members)))
  end
  redis.call('DEL', KEYS[i + 1])
end
return dropped
"""

# Every entry this tenant has ever read: same as INVALIDATE over all of them, atomically.
# KEYS: entries set; ARGV: the tenant's meta prefix ('cache:{acme}:_meta:')
INVALIDATE_TENANT = """
local dropped = 0
for _, entry in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local idx = ARGV[1] .. 'idx:' .. entry
  redis.call('INCR', ARGV[1] .. 'gen:' .. entry)
  local members = redis.call('SMEMBERS', idx)
  for j = 1, #members, 1000 do
    dropped = dropped + redis.call('UNLINK', unpack(members, j, math.min(j + 999, #members)))
  end
  redis.call('DEL', idx)
end
return dropped
"""

# A deleted tenant: every key reachable from its indexes (values, their locks, indexes,
# generations, the entries set and the stats), then its key space closed for ARGV[2] ms
# (0: left open). Entries are the tenant's own set plus those the caller knows (ARGV[3..]),
# so generations of entries it invalidated but never read go too.
# KEYS: entries, stats, purged; ARGV: tenant prefix ('cache:{acme}:'), closed ms, entry ids
PURGE = """
local prefix = ARGV[1]
local meta = prefix .. '_meta:'
local entries = redis.call('SMEMBERS', KEYS[1])
for i = 3, #ARGV do entries[#entries + 1] = ARGV[i] end
local deleted = 0
for _, entry in ipairs(entries) do
  local idx = meta .. 'idx:' .. entry
  local doomed = {idx, meta .. 'gen:' .. entry, meta .. 'lock:' .. entry}
  for _, value in ipairs(redis.call('SMEMBERS', idx)) do
    doomed[#doomed + 1] = value
    doomed[#doomed + 1] = meta .. 'lock:' .. string.sub(value, #prefix + 1)
  end
  for j = 1, #doomed, 1000 do
    deleted = deleted + redis.call('UNLINK', unpack(doomed, j, math.min(j + 999, #doomed)))
  end
end
deleted = deleted + redis.call('UNLINK', KEYS[1], KEYS[2])
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
else
  redis.call('DEL', KEYS[3])
end
return deleted
"""
