-- The wrk script of bench:edge (scripts/bench/edge/wrk.ts runs it; settings come in EDGE_* variables).
-- EDGE_MODE=health: wrk's static request (the URL, GET). EDGE_MODE=issue: POST /coupons/<c>/issue
-- with {"userId": <u>}, u uniformly in 1..EDGE_USERS, c in 1..EDGE_COUPONS (or 1 with EDGE_HOT=1),
-- "?waitMs=EDGE_WAIT_MS" when it is above 0.
-- Every response is counted by status, and a 5xx by status and error code too: wrk's own summary only
-- says "Non-2xx or 3xx responses", which would let a 503 OVERLOADED pass for an answer. The request id
-- of every 202 (and the decision of every 200) goes to EDGE_ANSWERS_FILE, for the database check.
-- done() prints one line `EDGE_RESULT {json}` that wrk.ts parses.

local mode = os.getenv("EDGE_MODE") or "health"
local users = tonumber(os.getenv("EDGE_USERS") or "1")
local coupons = tonumber(os.getenv("EDGE_COUPONS") or "1")
local hot = os.getenv("EDGE_HOT") == "1"
local waitMs = tonumber(os.getenv("EDGE_WAIT_MS") or "0")

-- setup() runs in the main Lua state, before each thread's init(); done() reads the threads back.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

function init(args)
  counts = {}
  answers = {}
  answered = 0
  -- Threads share no generator: each its own seed, so they do not send the same sequence.
  math.randomseed(os.time() * 1000 + number)
end

if mode == "issue" then
  local headers = { ["Content-Type"] = "application/json" }
  local query = waitMs > 0 and ("?waitMs=" .. waitMs) or ""
  function request()
    local coupon = hot and 1 or math.random(coupons)
    local body = '{"userId":' .. math.random(users) .. '}'
    return wrk.format("POST", "/coupons/" .. coupon .. "/issue" .. query, headers, body)
  end
end

function response(status, headers, body)
  local key = tostring(status)
  if mode == "issue" and (status == 200 or status == 202) then
    local id = string.match(body, '"requestId":"([^"]+)"')
    local decided = status == 200 and string.match(body, '"status":"(%u+)"') or "PENDING"
    if id then
      answered = answered + 1
      answers[answered] = id .. " " .. decided
    else
      key = key .. " without requestId"
    end
  elseif status >= 500 then
    local code = string.match(body, '"code":"([%u_]+)"')
    if code then key = key .. " " .. code end
  end
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local statuses = {}
  local file = os.getenv("EDGE_ANSWERS_FILE")
  local out = file and assert(io.open(file, "w"))
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("counts")) do statuses[key] = (statuses[key] or 0) + n end
    if out then
      for _, line in ipairs(thread:get("answers")) do out:write(line, "\n") end
    end
  end
  if out then out:close() end
  local parts = {}
  for key, n in pairs(statuses) do table.insert(parts, string.format('"%s":%d', key, n)) end
  local e = summary.errors
  io.write(string.format(
    'EDGE_RESULT {"requests":%d,"durationUs":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latencyUs":{"mean":%.1f,"max":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f},"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), table.concat(parts, ",")))
end
