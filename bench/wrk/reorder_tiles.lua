-- bench/wrk/reorder_tiles.lua: POST /api/projects/2/dashboards/<random id>/reorder_tiles/
-- with {"tile_order":[the dashboard's 20 tile ids, shuffled],"layout":"preserve"};
-- answers 200 with the dashboard (20 tiles).
--   wrk -s bench/wrk/reorder_tiles.lua http://127.0.0.1:PORT   (environment: see common.lua)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(dir .. "common.lua")

local headers = {}
local order = {}

function init(args)
   c.seed()
   for k, v in pairs(c.headers) do headers[k] = v end
   headers["Content-Type"] = "application/json"
end

function request()
   local id = c.random_id()
   local first = c.tile_base + (id - c.id_min) * 20
   for i = 1, 20 do order[i] = first + i end
   for i = 20, 2, -1 do
      local j = math.random(1, i)
      order[i], order[j] = order[j], order[i]
   end
   local body = '{"tile_order":[' .. table.concat(order, ",") .. '],"layout":"preserve"}'
   return wrk.format("POST", c.base .. id .. "/reorder_tiles/", headers, body)
end
