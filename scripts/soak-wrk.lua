-- wrk script of scripts/soak.sh: a fixed mix of requests, counts by kind and
-- by status, and one line of results at the end ("SOAK_JSON {...}").
--
--   wrk ... -s scripts/soak-wrk.lua URL -- DIR THREADS CLIENTS SALT
--
-- DIR holds the request paths (with their queries):
--   hits.txt    refreshes of credentials refreshed shortly before: cache hits
--   misses.txt  refreshes of accounts never refreshed: cache misses (a Login
--               and a VIP lookup upstream each). Dealt out to the THREADS
--               threads, each sent at most once; a thread that runs out sends
--               a hit instead and the run says so ("misses_exhausted")
--   signs.txt   /tool/cos/sign of a fixed set of files (InitUpload reused)
-- and every 20 requests of a thread are: 2 misses, 11 hits, 6 signs of a
-- known file, 1 sign of a new file (sha1 = SALT + thread id + counter: a fresh
-- InitUpload each).
--
-- Every request carries `X-Forwarded-For: 127.<16+thread>.<x>.<y>`, one of
-- CLIENTS addresses per thread in turn (soak.sh trusts 127.0.0.1 as a proxy),
-- so the per-client rate limit stays on and is exercised, as it would be
-- behind a reverse proxy. These are header values only: every connection
-- goes to the URL given, on loopback.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local MD5 = "f853b39f8d7c2e617dbde77dca66d413"
-- Position in a block of 20 -> kind of request.
local PLAN = {
  "miss", "hit", "sign", "hit", "hit", "sign", "hit", "hit", "sign", "hit",
  "miss", "hit", "sign", "hit", "hit", "sign", "hit", "new", "sign", "hit",
}

local function lines(path, every, mine)
  local out, i = {}, 0
  for line in io.lines(path) do
    if line ~= "" then
      if every == nil or i % every == mine then
        out[#out + 1] = line
      end
      i = i + 1
    end
  end
  return out
end

function init(args)
  local dir, nthreads = args[1], tonumber(args[2]) or 1
  local clients, salt = tonumber(args[3]) or 1024, args[4] or "50a50a50"
  local hits = lines(dir .. "/hits.txt")
  local misses = lines(dir .. "/misses.txt", nthreads, id)
  local signs = lines(dir .. "/signs.txt")
  assert(#hits > 0 and #signs > 0, "soak-wrk.lua: empty hits.txt or signs.txt")

  sent = { hit = 0, miss = 0, sign = 0, new = 0 }
  statuses = {}
  samples = {}
  misses_exhausted = 0

  local n, next_miss, next_hit, next_sign = 0, 1, 1, 1
  request = function()
    n = n + 1
    local kind = PLAN[(n - 1) % #PLAN + 1]
    local path
    if kind == "miss" then
      path = misses[next_miss]
      if path == nil then
        misses_exhausted = misses_exhausted + 1
        kind = "hit"
      else
        next_miss = next_miss + 1
      end
    end
    if kind == "hit" then
      path = hits[next_hit]
      next_hit = next_hit % #hits + 1
    elseif kind == "sign" then
      path = signs[next_sign]
      next_sign = next_sign % #signs + 1
    elseif kind == "new" then
      local sha1 = string.format("%s%08x%024x", salt, id, n)
      path = "/tool/cos/sign?sha1=" .. sha1 .. "&md5=" .. MD5 .. "&size=51458&ext=png"
    end
    sent[kind] = sent[kind] + 1
    local c = (n - 1) % clients + 1
    local client = string.format("127.%d.%d.%d", 16 + id, math.floor(c / 256) % 256, c % 256)
    return wrk.format("GET", path, { ["X-Forwarded-For"] = client })
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if (status < 200 or status > 299) and #samples < 3 then
    samples[#samples + 1] = status .. " " .. string.sub(body or "", 1, 300)
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(ch)
    return string.format("\\u%04x", string.byte(ch))
  end) .. '"'
end

function done(summary, latency, requests)
  local kinds = { hit = 0, miss = 0, sign = 0, new = 0 }
  local by_status, bodies, exhausted = {}, {}, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("sent") or {}) do
      kinds[k] = (kinds[k] or 0) + v
    end
    for s, v in pairs(t:get("statuses") or {}) do
      by_status[s] = (by_status[s] or 0) + v
    end
    for _, b in ipairs(t:get("samples") or {}) do
      bodies[#bodies + 1] = json_string(b)
    end
    exhausted = exhausted + (t:get("misses_exhausted") or 0)
  end
  local status_parts = {}
  for s, v in pairs(by_status) do
    status_parts[#status_parts + 1] = string.format('"%d":%d', s, v)
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,' ..
    '"sent":{"hit":%d,"miss":%d,"sign":%d,"new":%d},"statuses":{%s},' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"misses_exhausted":%d,"error_samples":[%s]}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
    kinds.hit, kinds.miss, kinds.sign, kinds.new, table.concat(status_parts, ","),
    e.connect, e.read, e.write, e.timeout, exhausted, table.concat(bodies, ",")))
end
