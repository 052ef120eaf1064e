-- wrk script for bench/http.py: send request bodies taken in turn from a file, and print the
-- run's figures as one JSON line (prefixed BENCH_JSON) for the bench to parse.
--
--   wrk -t1 -c16 -d10s --latency -s bench/wrk/bodies.lua URL -- FILE PATH METHOD [ID_BASE]
--
-- FILE holds one body per line (an empty line sends no body). Each thread starts at its own
-- place in the file. With ID_BASE, every "__ID__" in a body becomes a point id unique to that
-- request (thread t sends ID_BASE + t * 10^9, then + 1, + 2, ...), so every write adds a point.

local threads = {}
local bodies = {}
local count = 0
local next_body = 0
local path = "/"
local method = "GET"
local id_base = nil
local sent = 0
local headers = { ["Content-Type"] = "application/json" }

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads - 1)
end

local function split_id(line)
  local at = string.find(line, "__ID__", 1, true)
  if at == nil then
    return { line }
  end
  return { string.sub(line, 1, at - 1), string.sub(line, at + 6) }
end

function init(args)
  for line in io.lines(args[1]) do
    count = count + 1
    bodies[count] = line
  end
  path = args[2] or path
  method = args[3] or method
  if args[4] ~= nil then
    id_base = tonumber(args[4])
    for i = 1, count do
      bodies[i] = split_id(bodies[i])
    end
  end
  next_body = (thread_index * 7919) % count
end

local function body_for(i)
  local body = bodies[i]
  if id_base == nil then
    return body
  end
  if #body == 1 then
    return body[1]
  end
  local id = id_base + thread_index * 1000000000 + sent
  return body[1] .. string.format("%d", id) .. body[2]
end

function request()
  next_body = next_body % count + 1
  local body = body_for(next_body)
  sent = sent + 1
  if body == "" then
    body = nil
  end
  return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
