-- bench/wrk/list.lua: GET /api/projects/1/dashboards/?limit=100
--   wrk -s bench/wrk/list.lua http://127.0.0.1:PORT   (environment: see common.lua)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(dir .. "common.lua")

local req

function init(args)
   req = wrk.format("GET", c.base .. "?limit=100", c.headers)
end

function request()
   return req
end
