-- Writes: POST /items, every name unique across threads, runs and rounds.
-- Arguments after `--`: a prefix no other run uses.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local prefix
local counter = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  prefix = args[1]
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"name": "%s-%d-%d", "description": "written by the benchmark"}', prefix, thread_id, counter
  )
  return wrk.format("POST", "/items", headers, body)
end
