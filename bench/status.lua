-- wrk script of the abuse phase (bench/bench.py): counts responses by HTTP status, since wrk
-- itself only counts "non-2xx or 3xx" and a 503 with Retry-After is a documented answer there,
-- not a failure. Each wrk thread has its own Lua state: done() gathers the threads' tables.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("status %d %d\n", status, n))
  end
end
