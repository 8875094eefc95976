-- bench/wrk/trends-http.lua: GET BENCH_PATH again and again (bench/trends-http
-- sets it), one thread (wrk -t1).  Besides common.lua's BENCH line, prints
-- MEAN_MS= (the mean latency of the completed requests).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(dir .. "common.lua")

local path = os.getenv("BENCH_PATH")
if path == nil or path == "" then
   error("BENCH_PATH is not set")
end
local req

function init(args)
   req = wrk.format("GET", path, c.headers)
end

function request()
   return req
end

local base_done = done
function done(summary, latency, requests)
   base_done(summary, latency, requests)
   io.write(string.format("MEAN_MS=%.3f\n", latency.mean / 1000))
end
