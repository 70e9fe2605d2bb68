-- Reads: GET /items/{id}, the id picked at random among the seeded ones.
-- Arguments after `--`: the number of seeded ids.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local ids

function init(args)
  ids = tonumber(args[1])
  math.randomseed(os.time() * 100 + thread_id)
end

function request()
  return wrk.format("GET", "/items/" .. math.random(ids))
end
