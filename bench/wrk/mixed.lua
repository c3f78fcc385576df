-- Reads of the target path with every WRITE_EVERY-th request (per thread) a POST of an
-- issue: WRITE_EVERY=100 is 1 % writes. bench/common.py substitutes WRITE_EVERY.
local counter = 0
local read_request, write_request

init = function(args)
  read_request = wrk.format()
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Content-Type"] = "application/json"
  write_request = wrk.format("POST", "/api/v1/issues/", headers,
    '{"title": "Written by the bench under load", "priority": "low"}')
end

request = function()
  counter = counter + 1
  if counter % WRITE_EVERY == 0 then return write_request end
  return read_request
end
