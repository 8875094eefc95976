-- bench/wrk/common.lua: shared by list.lua, retrieve.lua and patch.lua.
--
-- Environment (bench/run sets it):
--   BENCH_API_KEY        personal API key (required), sent as Authorization: Bearer
--   BENCH_PROJECT        project id (1)
--   BENCH_ID_MIN/MAX     dashboard id range for random ids (1 / 10000)
--   BENCH_TILE_BASE      reorder_tiles: tile ids of dashboard d are
--                        BENCH_TILE_BASE + (d - BENCH_ID_MIN) * 20 + 1..20
--
-- Every response whose status is not M.expect (200; create_text_tile sets
-- 201) is counted by status; done() prints them
-- and one machine-readable line:
--   BENCH requests=N duration_s=S rps=R p50_ms=A p90_ms=B p99_ms=C max_ms=D
--         non200=N errors=E
-- (errors = wrk's connect + read + write + timeout errors).

local M = {}

M.key = os.getenv("BENCH_API_KEY")
if M.key == nil or M.key == "" then
   error("BENCH_API_KEY is not set")
end
M.project = os.getenv("BENCH_PROJECT") or "1"
M.id_min = tonumber(os.getenv("BENCH_ID_MIN") or "1")
M.id_max = tonumber(os.getenv("BENCH_ID_MAX") or "10000")
M.base = "/api/projects/" .. M.project .. "/dashboards/"
M.tile_base = tonumber(os.getenv("BENCH_TILE_BASE") or "0")
M.expect = 200
M.headers = {
   ["Authorization"] = "Bearer " .. M.key,
   ["Accept"] = "application/json",
}

local threads = {}
local counter = 0

-- main state: one call per thread, before they start
function setup(thread)
   counter = counter + 1
   thread:set("thread_no", counter)
   table.insert(threads, thread)
end

-- thread state
non200 = 0
statuses = {}

function M.seed()
   math.randomseed(os.time() * 1000 + (thread_no or 0) * 7919 + math.floor(os.clock() * 1e6))
   for _ = 1, 10 do math.random() end
end

function M.random_id()
   return math.random(M.id_min, M.id_max)
end

function response(status, headers, body)
   if status ~= M.expect then
      non200 = non200 + 1
      statuses[status] = (statuses[status] or 0) + 1
      if non200 <= 3 then
         io.stderr:write(string.format("unexpected response: %d %s\n", status,
                                       string.sub(body or "", 1, 300)))
      end
   end
end

-- main state, after the run
function done(summary, latency, requests)
   local bad, by_status = 0, {}
   for _, t in ipairs(threads) do
      bad = bad + (t:get("non200") or 0)
      local s = t:get("statuses")
      if s then
         for k, v in pairs(s) do by_status[k] = (by_status[k] or 0) + v end
      end
   end
   for k, v in pairs(by_status) do
      io.write(string.format("status %d: %d responses\n", k, v))
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "BENCH requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non200=%d errors=%d\n",
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000,
      bad, e.connect + e.read + e.write + e.timeout))
end

return M
