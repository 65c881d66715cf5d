-- wrk script for raftlite-kv: PUTs or GETs of fixed-size values over a key
-- space, the shape raftlite-kv-load drives, so the two clients can be compared
-- (docs/performance.md, "raftlite-kv under wrk"; `KV_BENCH_CLIENT=wrk ./run kv-bench`).
--
--   wrk -t1 -c64 -d8s --timeout 15s -s apps/kv_load/wrk_kv.lua http://127.0.0.1:8101 -- put
--   wrk -t1 -c64 -d8s --timeout 15s -s apps/kv_load/wrk_kv.lua http://127.0.0.1:8101 -- get 1000 256 check
--
-- Arguments (after --): put | get, then optionally the number of keys (1000),
-- the value's bytes (256) and `check`.
--   put  key k0, k1, ... k(K-1), k0, ... in turn on each connection's thread
--        (so a run of at least K requests leaves every key with a value: run
--        put before get on a fresh cluster, or get answers 404)
--   get  a key chosen at random
-- Requests carry no X-Client-Id/X-Client-Seq: sessionless commands, which the
-- server accepts (each committed PUT is applied; exactly-once is not needed
-- for a benchmark that only overwrites).
--
-- Errors. wrk counts a status >= 400 as an error of its own (every error of
-- the kv API is one: 400, 404, 413, 429, 503, 504); those, and failed
-- connects, reads, writes and timeouts, are reported. `check` also parses
-- every response in Lua (which costs wrk CPU, so it is off for measuring):
-- it counts any status other than 200 by status, and a GET whose body is not
-- the value put writes.
--
-- Several peers: KV_WRK_TARGETS=host:port,host:port,... gives thread i the
-- i-th address (mod the count), so `-t3 -c63` puts 21 connections on each of
-- three peers. (An environment variable because wrk calls setup() before any
-- script argument is visible.)
--
-- done() prints one JSON line beginning {"ops_per_s": with the figures
-- raftlite-kv-load --json prints (ok = responses with status < 400 that
-- passed the check; latency is wrk's, over every response), and exits 1 when
-- not one request succeeded.

local threads = {}

function setup(thread)
   local index = #threads
   thread:set("index", index)
   local list = os.getenv("KV_WRK_TARGETS")
   if list and list ~= "" then
      local targets = {}
      for t in string.gmatch(list, "[^,]+") do targets[#targets + 1] = t end
      local host, port = string.match(targets[index % #targets + 1], "^(.+):(%d+)$")
      if not host then
         io.stderr:write("wrk_kv.lua: KV_WRK_TARGETS: expected host:port,...\n")
         os.exit(2)
      end
      thread.addr = wrk.lookup(host, port)[1]
   end
   threads[#threads + 1] = thread
end

local requests = {}   -- one formatted request per key, built once
local keys, mode, value
local next_key = 0
local check = false
local bad, bad_value = 0, 0
local by_status = {}

function init(args)
   mode = args[1] or "put"
   keys = tonumber(args[2] or "1000")
   local value_bytes = tonumber(args[3] or "256")
   check = args[4] == "check"
   if (mode ~= "put" and mode ~= "get") or not keys or keys < 1 or not value_bytes or value_bytes < 1 then
      io.stderr:write("wrk_kv.lua: arguments: put|get [keys >= 1] [value bytes >= 1] [check]\n")
      os.exit(2)
   end
   value = string.rep("v", value_bytes)
   for k = 0, keys - 1 do
      if mode == "put" then
         requests[k] = wrk.format("PUT", "/kv/k" .. k, nil, value)
      else
         requests[k] = wrk.format("GET", "/kv/k" .. k)
      end
   end
   local index = wrk.thread:get("index") or 0
   -- Threads start at different keys, so with several threads the keys are
   -- still all written early in a put run.
   next_key = math.floor(index * keys / 7) % keys
   math.randomseed(1 + index)
   -- done() runs in wrk's main Lua state, which sees no arguments: it reads
   -- the shape from the threads.
   wrk.thread:set("mode", mode)
   wrk.thread:set("keys", keys)
   wrk.thread:set("value_bytes", value_bytes)
   if not check then response = nil end
end

function request()
   local k
   if mode == "put" then
      k = next_key
      next_key = next_key + 1
      if next_key == keys then next_key = 0 end
   else
      k = math.random(0, keys - 1)
   end
   return requests[k]
end

function response(status, headers, body)
   if status ~= 200 then
      bad = bad + 1
      by_status[status] = (by_status[status] or 0) + 1
      local parts = {}
      for s, n in pairs(by_status) do parts[#parts + 1] = '"' .. s .. '":' .. n end
      wrk.thread:set("bad", bad)
      wrk.thread:set("by_status", table.concat(parts, ","))
   elseif mode == "get" and body ~= value then
      bad_value = bad_value + 1
      wrk.thread:set("bad_value", bad_value)
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   -- Statuses >= 400 are in e.status already; `check` adds the other non-200s.
   local check_bad, check_value, kinds = 0, 0, {}
   for _, t in ipairs(threads) do
      check_value = check_value + (t:get("bad_value") or 0)
      local s = t:get("by_status")
      if s then kinds[#kinds + 1] = s end
      for status, n in string.gmatch(s or "", '"(%d+)":(%d+)') do
         if tonumber(status) < 400 then check_bad = check_bad + tonumber(n) end
      end
   end
   local first = threads[1]
   local seconds = summary.duration / 1e6
   local ok = summary.requests - e.status - check_bad - check_value
   local errors = e.connect + e.read + e.write + e.timeout + e.status + check_bad + check_value
   io.write(string.format(
      '{"ops_per_s":%.1f,"mean_us":%.1f,"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"max_us":%.1f,' ..
      '"ok":%d,"errors":%d,"errors_by_kind":{"connect":%d,"read":%d,"write":%d,"timeout":%d,' ..
      '"status_400_up":%d,"bad_value":%d},"non_200_by_status":{%s},"requests":%d,"seconds":%.3f,' ..
      '"workload":"%s","threads":%d,"keys":%d,"value_bytes":%d,"client":"wrk"}\n',
      ok / seconds, latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, ok, errors, e.connect, e.read, e.write, e.timeout, e.status, check_value,
      table.concat(kinds, ","), summary.requests, seconds, first:get("mode"), #threads,
      first:get("keys"), first:get("value_bytes")))
   if ok <= 0 then os.exit(1) end
end
