"""Lua scripts: each cache operation is one atomic round trip.

All keys of a call share the tenant's hash tag, so the scripts also run on Redis Cluster.
Keys a script reaches through a set's members (value keys of an entry) carry the same tag.

A value key is a hash: `v` the packed JSON, `g` the entry generation it was computed at,
`s` (only on a stale value) when it stopped being current, in ms of Redis's clock (TIME,
so every app server measures staleness on the same clock), `p` its parameters as JSON
(for refresh-ahead), `r` when it was last read (ms, updated at most every 5 s), `o` the
epoch of the Redis server that stored it (its run_id and replication id: `epoch()` below;
"run_id" below means this identity).
A value is only ever valid on the server that stored it: READ and MISS treat a value whose
`o` is not their own server's run_id as absent (MISS deletes it). Replication copies a
value with its master's run_id, so after a failover (Sentinel, a Cluster replica promoted,
an old master promoted again) or a restart (a new process, even with RDB or AOF) every
earlier value misses once: an
invalidation the old master acknowledged but never replicated cannot leave a value behind.
For the same reason MISS returns the run_id it saw (its reply's last element) and STORE
stores nothing on another server: a reader that fetched before such an invalidation
cannot store its value on the new master, whose generation never moved. A value stored
before `o` existed (an earlier version of this code) has none: it misses once. The run_id
comes from INFO server inside the script (a few µs), so it is always the identity of the
server that runs the script, whatever the client believes it is talking to.
A per-(tenant, user) hash `_meta:ryw:<user>` holds, per entry, the generation that user's
latest write produced: a stale value older than that is never served to them; with a
standby configured its field `_lsn` holds the primary's WAL position after that write.
`_meta:lsn:<entry>` (with a standby configured) is the highest WAL position recorded by the
entry's invalidations: a recomputation on the standby waits until it has replayed it.
Both are recorded as '<lsn>:<run_id>': a position another master recorded counts as none
(the new master may lack the higher position of an invalidation the old one acknowledged),
so the first recomputation after a failover needs the primary's current position.
"""

# This server's identity as a master (the epoch of the values it stores), read at most
# once per call: its run_id (new on every start) and its replication id (new on every
# promotion, REPLICAOF NO ONE included), 20 hex digits of each. The replication id is what
# tells a re-promoted master from the one it was: a master that failed over, came back as
# a replica (its data replaced by the new master's, values it had stored included) and is
# promoted again keeps its run_id, and would otherwise take those values for its own.
_EPOCH = """
local server_epoch = nil
local function epoch()
  if not server_epoch then
    local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
    local replid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
    server_epoch = string.sub(run_id, 1, 20) .. string.sub(replid, 1, 20)
  end
  return server_epoch
end
-- A recorded WAL position, '<lsn>:<run_id>': its lsn if this server recorded it, else nil
-- (a record another master wrote may lack an invalidation that master acknowledged).
local function own_lsn(recorded)
  if not recorded then return nil end
  local lsn, origin = string.match(recorded, '^(%d+):(%w+)$')
  if origin ~= epoch() then return nil end
  return lsn
end
-- Record `lsn` in `key` (or its hash `field`) unless this server already recorded one as
-- high: the highest position of the entry's (or writer's) invalidations, tagged.
local function raise_lsn(key, field, lsn)
  local old
  if field then old = redis.call('HGET', key, field) else old = redis.call('GET', key) end
  local own = own_lsn(old)
  if own and tonumber(own) >= tonumber(lsn) then return end
  local record = lsn .. ':' .. epoch()
  if field then redis.call('HSET', key, field, record) else redis.call('SET', key, record) end
end
"""

# Can the value in KEYS[1] (HMGET v g s r o -> h) be served to this reader? 1 fresh, 2 stale
# within the bound, 0 no. `need`: the reader's own latest write's generation (or nil).
# A value another server stored (`o`, or none: an older version's) is absent ({}).
_SERVABLE = (
    _EPOCH
    + """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function servable(h, max_stale_ms, need, now)
  if not h[1] then return 0 end
  if not h[3] then return 1 end
  if max_stale_ms <= 0 or now - tonumber(h[3]) >= max_stale_ms then return 0 end
  if need and tonumber(need) > tonumber(h[2]) then return 0 end
  return 2
end
local function fetch_value(key)
  local h = redis.pcall('HMGET', key, 'v', 'g', 's', 'r', 'o')
  if type(h) ~= 'table' or h.err then return {} end  -- a pre-hash string value: a miss
  if h[1] and h[5] ~= epoch() then return {} end  -- stored by another server: a miss
  return h
end
local function touch(key, h, now)
  if not h[4] or now - tonumber(h[4]) > 5000 then redis.call('HSET', key, 'r', now) end
end
"""
)

# The hit path: one script, one round trip. KEYS: value, stats, the reader's ryw hash;
# ARGV: the value key's tail, max stale ms, entry id. Returns {1|2, payload} or nil.
READ = (
    _SERVABLE
    + """
local h = fetch_value(KEYS[1])
if not h[1] then return false end
local now = now_ms()
local need = nil
if h[3] then need = redis.call('HGET', KEYS[3], ARGV[3]) end
local state = servable(h, tonumber(ARGV[2]), need, now)
if state == 0 then return false end
redis.call('HINCRBY', KEYS[2], (state == 1 and 'h|' or 's|') .. ARGV[1], 1)
touch(KEYS[1], h, now)
return {state, h[1]}
"""
)

# After a miss: count it, register the entry (so a tenant-wide invalidation reaches it),
# read the generation *before* the caller reads the database, and try the lease (lock,
# whose value names the generation its holder computes). A servable value stored
# meanwhile is returned instead. A reader whose own write is newer than the holder's
# generation does not wait behind it (locked = 2: compute alongside).
# A purged (deleted) tenant's key space is closed: nothing is written, {2} = bypass.
# KEYS: value, stats, gen, lock, entries, purged, ryw, lsn
# ARGV: entry id, lock token, lock ttl ms, count, max stale ms (-1: only a fresh value)
# Returns {1, payload, state} or {0, gen, locked, now ms, lock value, lsn or false,
# run_id}: the WAL position the entry's invalidations recorded, read with the generation,
# and the run_id of this server.
MISS = (
    _SERVABLE
    + """
if redis.call('EXISTS', KEYS[6]) == 1 then return {2} end
local now = now_ms()
local need = redis.call('HGET', KEYS[7], ARGV[1])
local h = fetch_value(KEYS[1])
if h.err == nil and #h == 0 then redis.call('DEL', KEYS[1]) end
local state = servable(h, tonumber(ARGV[5]), need, now)
if state > 0 then return {1, h[1], state} end
if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[2], 'm|' .. ARGV[1], 1) end
redis.call('SADD', KEYS[5], ARGV[1])
local gen = redis.call('GET', KEYS[3]) or '0'
local lsn = own_lsn(redis.call('GET', KEYS[8])) or false
local lock_value = gen .. ':' .. ARGV[2]
if redis.call('SET', KEYS[4], lock_value, 'NX', 'PX', ARGV[3]) then
  return {0, gen, 1, now, lock_value, lsn, epoch()}
end
local holder = redis.call('GET', KEYS[4]) or ''
local holder_gen = tonumber(string.match(holder, '^(%d+):') or '0')
if need and tonumber(need) > holder_gen then return {0, gen, 2, now, '', lsn, epoch()} end
return {0, gen, 0, now, '', lsn, epoch()}
"""
)

# Store what was computed at generation ARGV[3]: as the current value if the generation
# has not moved, else (bounded staleness on) as a stale value of that generation, stale
# since the computation started (no later than the first write it misses), so under
# continuous writes values still converge instead of never being stored. Never replaces a
# value of a newer generation. Counts the computation; releases the lease if ours.
# Stores nothing on a server other than the one whose MISS gave the generation (ARGV[11]):
# after a failover that generation may predate an invalidation the old master acknowledged.
# KEYS: value, gen, idx, lock, purged, stats
# ARGV: payload, ttl ms, computed gen, lock value, index ttl s, max stale ms, started ms,
#       params JSON ('' none), value key tail, '1' if a reader computed it (counts as read),
#       the run_id MISS returned
# Returns 1 stored current, 2 stored stale, 0 not stored.
STORE = (
    _EPOCH
    + """
local stored = 0
if redis.call('EXISTS', KEYS[5]) == 0 then
  redis.call('HINCRBY', KEYS[6], 'c|' .. ARGV[9], 1)
  local g = tonumber(ARGV[3])
  local existing = redis.pcall('HMGET', KEYS[1], 'g', 'o')
  if existing.err or existing[2] ~= ARGV[11] then existing = false else existing = existing[1] end
  if epoch() == ARGV[11] and (not existing or tonumber(existing) < g) then
    local current = tonumber(redis.call('GET', KEYS[2]) or '0')
    if current == g then stored = 1 elseif tonumber(ARGV[6]) > 0 then stored = 2 end
  end
  if stored > 0 then
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], 'v', ARGV[1], 'g', ARGV[3], 'o', ARGV[11])
    if stored == 2 then redis.call('HSET', KEYS[1], 's', ARGV[7]) end
    if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'p', ARGV[8]) end
    if ARGV[10] == '1' then redis.call('HSET', KEYS[1], 'r', ARGV[7]) end
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    redis.call('SADD', KEYS[3], KEYS[1])
    redis.call('EXPIRE', KEYS[3], ARGV[5])
  end
end
if ARGV[4] ~= '' and redis.call('GET', KEYS[4]) == ARGV[4] then redis.call('DEL', KEYS[4]) end
return stored
"""
)

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Bump each entry's generation (so in-flight readers cannot store what they computed
# before as current). With bounded staleness (ARGV[1] > 0) its values are kept, marked
# stale since now (a value already stale keeps its earlier mark); strict (0) drops them.
# With a writer (ARGV[2] > 0 ms) the writer's ryw hash records each new generation.
# The primary's WAL position after the write (ARGV[3]; '' no standby, '-' unknown) is
# kept as each entry's highest (unknown: forgotten, so a recomputation asks the primary)
# and as the writer's. Cost: the tenant's own keys of those entries only. Returns the
# affected value keys. A purged tenant's key space is left alone (no leftover keys).
# KEYS: purged, ryw, gen1, idx1, lsn1, gen2, idx2, lsn2, ...
# ARGV: max stale ms, ryw ttl ms, lsn, entry ids
INVALIDATE = (
    _EPOCH
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local keep = tonumber(ARGV[1]) > 0
local ryw_ttl = tonumber(ARGV[2])
local lsn = ARGV[3]
local affected = 0
for i = 3, #KEYS, 3 do
  local gen = redis.call('INCR', KEYS[i])
  if ryw_ttl > 0 then redis.call('HSET', KEYS[2], ARGV[3 + i / 3], gen) end
  if lsn == '-' then
    redis.call('DEL', KEYS[i + 2])
  elseif lsn ~= '' then
    raise_lsn(KEYS[i + 2], nil, lsn)
  end
  local members = redis.call('SMEMBERS', KEYS[i + 1])
  if keep then
    for _, member in ipairs(members) do
      if redis.call('TYPE', member).ok == 'hash' then
        redis.call('HSETNX', member, 's', now)
        affected = affected + 1
      else
        redis.call('UNLINK', member)
        redis.call('SREM', KEYS[i + 1], member)
      end
    end
  else
    for j = 1, #members, 1000 do
      affected = affected + redis.call('UNLINK', unpack(members, j, math.min(j + 999, #members)))
    end
    redis.call('DEL', KEYS[i + 1])
  end
end
if ryw_ttl > 0 then
  if lsn ~= '' and lsn ~= '-' then raise_lsn(KEYS[2], '_lsn', lsn) end
  redis.call('PEXPIRE', KEYS[2], ryw_ttl)
end
return affected
"""
)

# The acting user's latest write's WAL position in their ryw hash (KEYS[1]): its lsn if
# this server recorded it, '-' if another master did (unknown: no standby may serve them),
# false if there is none.
RYW_LSN = (
    _EPOCH
    + """
local recorded = redis.call('HGET', KEYS[1], '_lsn')
if not recorded then return false end
return own_lsn(recorded) or '-'
"""
)

# Refresh-ahead candidates: the entry's value keys read in the last ARGV[1] ms (Redis's
# clock) that are stale, with their parameters. KEYS: idx. Returns {key, params, ...}.
REFRESH_CANDIDATES = """
local t = redis.call('TIME')
local since = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1])
local out = {}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = redis.pcall('HMGET', member, 's', 'r', 'p')
  if type(h) == 'table' and not h.err and h[1] and h[2] and h[3]
     and tonumber(h[2]) >= since then
    out[#out + 1] = member
    out[#out + 1] = h[3]
  end
end
return out
"""

# Every entry this tenant has ever read: same as INVALIDATE over all of them, atomically.
# KEYS: entries set; ARGV: the tenant's meta prefix ('cache:{acme}:_meta:'), lsn (as there)
INVALIDATE_TENANT = (
    _EPOCH
    + """
local dropped = 0
for _, entry in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local idx = ARGV[1] .. 'idx:' .. entry
  redis.call('INCR', ARGV[1] .. 'gen:' .. entry)
  local lsn_key = ARGV[1] .. 'lsn:' .. entry
  if ARGV[2] == '-' then
    redis.call('DEL', lsn_key)
  elseif ARGV[2] ~= '' then
    raise_lsn(lsn_key, nil, ARGV[2])
  end
  local members = redis.call('SMEMBERS', idx)
  for j = 1, #members, 1000 do
    dropped = dropped + redis.call('UNLINK', unpack(members, j, math.min(j + 999, #members)))
  end
  redis.call('DEL', idx)
end
return dropped
"""
)

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
  local doomed = {idx, meta .. 'gen:' .. entry, meta .. 'lock:' .. entry, meta .. 'lsn:' .. entry}
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
