-- bench/wrk/create_text_tile.lua: POST /api/projects/2/dashboards/<random id>/create_text_tile/
-- with a text tile that has an sm layout; answers 201 with the tile.
--   wrk -s bench/wrk/create_text_tile.lua http://127.0.0.1:PORT   (environment: see common.lua)
-- The body is already in the form the module passes to SQL (as in
-- bench/pgbench/create_text_tile.sql).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(dir .. "common.lua")
c.expect = 201

local headers = {}
local body = '{"body":"## Notes\\nWritten by the benchmark: sign-ups are up this week.",'
          .. '"layouts":{"sm":{"x":0,"y":0,"w":6,"h":5}}}'

function init(args)
   c.seed()
   for k, v in pairs(c.headers) do headers[k] = v end
   headers["Content-Type"] = "application/json"
end

function request()
   return wrk.format("POST", c.base .. c.random_id() .. "/create_text_tile/", headers, body)
end
