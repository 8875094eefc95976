-- bench/wrk/bulk_update_tags.lua: POST /api/projects/2/dashboards/bulk_update_tags/
-- with 100 distinct random ids and, with equal probability,
--   {"action":"add","tags":["bench-q3"]}, {"action":"remove","tags":["bench-q3"]}
--   or {"action":"set","tags":["bench-a","bench-b"]},
-- so that every dashboard's tag set stays within 3 tags; answers 200.
--   wrk -s bench/wrk/bulk_update_tags.lua http://127.0.0.1:PORT   (environment: see common.lua)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local c = dofile(dir .. "common.lua")

local headers = {}
local path = c.base .. "bulk_update_tags/"
local tails = {
   '],"action":"add","tags":["bench-q3"]}',
   '],"action":"remove","tags":["bench-q3"]}',
   '],"action":"set","tags":["bench-a","bench-b"]}',
}

function init(args)
   c.seed()
   for k, v in pairs(c.headers) do headers[k] = v end
   headers["Content-Type"] = "application/json"
end

function request()
   local ids, seen = {}, {}
   while #ids < 100 do
      local id = c.random_id()
      if not seen[id] then
         seen[id] = true
         ids[#ids + 1] = id
      end
   end
   local body = '{"ids":[' .. table.concat(ids, ",") .. tails[math.random(1, 3)]
   return wrk.format("POST", path, headers, body)
end
