-- bench/wrk/trends.lua: GET BENCH_PATH again and again (bench/trends sets it:
-- the trends bench dashboard with ?refresh=force_blocking or force_cache, or
-- its run_insights/?refresh=force_blocking)
--   BENCH_PATH=/api/projects/1/dashboards/1/ wrk -s bench/wrk/trends.lua http://127.0.0.1:PORT
-- (other environment: see common.lua)
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
