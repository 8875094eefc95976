-- bench/wrk/trends-http.lua: GET BENCH_PATH again and again (bench/trends-http
-- sets it), one thread (wrk -t1).  Prints common.lua's BENCH line and
-- MEAN_MS= (the mean latency of the completed requests).
--
-- Unlike common.lua it defines no response() hook: with one, wrk hands every
-- body to Lua as a string, and the client then spends CPU in proportion to
-- the size of the answer, on the same CPUs as the server (a dashboard of
-- insight tiles answers ~55 KB, one of text tiles ~10 KB).  Answers that are
-- not 2xx or 3xx are counted by wrk itself (summary.errors.status): they
-- show as non200 here.
local path = os.getenv("BENCH_PATH")
if path == nil or path == "" then
   error("BENCH_PATH is not set")
end
local key = os.getenv("BENCH_API_KEY")
if key == nil or key == "" then
   error("BENCH_API_KEY is not set")
end
local req

function init(args)
   req = wrk.format("GET", path, {
      ["Authorization"] = "Bearer " .. key,
      ["Accept"] = "application/json",
   })
end

function request()
   return req
end

function done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "BENCH requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non200=%d errors=%d\n",
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000,
      e.status, e.connect + e.read + e.write + e.timeout))
   io.write(string.format("MEAN_MS=%.3f\n", latency.mean / 1000))
end
