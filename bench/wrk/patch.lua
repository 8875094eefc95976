-- bench/wrk/patch.lua: PATCH /api/projects/1/dashboards/<random id>/
-- with {"description":"bench <random>"}
--   wrk -s bench/wrk/patch.lua http://127.0.0.1:PORT   (environment: see common.lua)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(dir .. "common.lua")

local headers = {}

function init(args)
   c.seed()
   for k, v in pairs(c.headers) do headers[k] = v end
   headers["Content-Type"] = "application/json"
end

function request()
   local body = string.format('{"description":"bench %d"}', math.random(1, 1000000000))
   return wrk.format("PATCH", c.base .. c.random_id() .. "/", headers, body)
end
