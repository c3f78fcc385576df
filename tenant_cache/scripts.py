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
# KEYS: value, stats, gen, lock, entries; ARGV: entry id, lock token, lock ttl ms, count
MISS = """
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
# KEYS: value, gen, idx, lock
# ARGV: payload, ttl ms, expected gen, lock token, index ttl s
SET_IF_CURRENT = """
local stored = 0
if (redis.call('GET', KEYS[2]) or '0') == ARGV[3] then
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
# KEYS: gen1, idx1, gen2, idx2, ...
INVALIDATE = """
local dropped = 0
for i = 1, #KEYS, 2 do
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
