-- bench/wrk/retrieve.lua: GET /api/projects/1/dashboards/<random id>/
--   wrk -s bench/wrk/retrieve.lua http://127.0.0.1:PORT   (environment: see common.lua)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(dir .. "common.lua")

local reqs = {}

function init(args)
   c.seed()
   for id = c.id_min, c.id_max do
      reqs[id] = wrk.format("GET", c.base .. id .. "/", c.headers)
   end
end

function request()
   return reqs[c.random_id()]
end
