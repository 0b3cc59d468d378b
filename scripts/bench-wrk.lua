-- wrk script of scripts/bench.sh: what each request is, and one JSON line of
-- results at the end ("BENCH_JSON {...}": counts, latency percentiles in µs).
--
--   wrk ... -s scripts/bench-wrk.lua URL -- fixed
--       the URL given, every request (wrk builds the request once)
--   wrk ... -s scripts/bench-wrk.lua URL -- list FILE THREADS
--       each request the next line of FILE (a path with its query); the lines
--       are dealt out to the THREADS threads and each is sent at most once. A
--       thread that runs out stops, and the run says "exhausted": true (its
--       req/s would then be too low: bench.sh provisions enough lines)
--   wrk ... -s scripts/bench-wrk.lua URL -- sign-fresh SALT
--       /tool/cos/sign of a new file each request: sha1 = SALT (8 hex) +
--       thread id (8 hex) + request counter (24 hex), never repeated in a run

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local MD5 = "f853b39f8d7c2e617dbde77dca66d413"

function init(args)
  local mode = args[1] or "fixed"
  exhausted = false
  if mode == "list" then
    local n = tonumber(args[3]) or 1
    local reqs, i = {}, 0
    for line in io.lines(args[2]) do
      if line ~= "" then
        if i % n == id then
          reqs[#reqs + 1] = wrk.format("GET", line)
        end
        i = i + 1
      end
    end
    local next_req = 1
    request = function()
      local r = reqs[next_req]
      if r == nil then
        exhausted = true
        wrk.thread:stop()
        -- One more request may go out before the loop stops: repeat the last.
        return reqs[#reqs] or wrk.format("GET", "/")
      end
      next_req = next_req + 1
      return r
    end
  elseif mode == "sign-fresh" then
    local salt = args[2] or "0badf00d"
    local counter = 0
    request = function()
      counter = counter + 1
      local sha1 = string.format("%s%08x%024x", salt, id, counter)
      return wrk.format("GET", "/tool/cos/sign?sha1=" .. sha1 .. "&md5=" .. MD5 .. "&size=51458&ext=png")
    end
  end
end

function done(summary, latency, requests)
  local any_exhausted = false
  for _, t in ipairs(threads) do
    if t:get("exhausted") then
      any_exhausted = true
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"mean_us":%.1f,"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"exhausted":%s}\n',
    summary.requests, summary.duration, summary.bytes, latency.mean,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, tostring(any_exhausted)))
end
