-- wrk script of bench/run: one request, the same every time, from environment variables, and a
-- count of the responses that were not the expected one (wrk itself only flags 4xx/5xx, but a
-- failed login is a 200 and an expired session is a 302).
--   BENCH_METHOD (GET), BENCH_BODY (form-encoded), BENCH_COOKIE, BENCH_EXPECT (200),
--   BENCH_EXPECT_LOCATION (the Location header a redirect must carry, optional)
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
local cookie = os.getenv("BENCH_COOKIE") or ""
local expect = tonumber(os.getenv("BENCH_EXPECT") or "200")
local location = os.getenv("BENCH_EXPECT_LOCATION") or ""

wrk.method = method
if body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
if cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  other = 0
  statuses = {}
end

function response(status, headers, body)
  if status == expect and (location == "" or headers["Location"] == location) then
    ok = ok + 1
  else
    other = other + 1
    local key = tostring(status)
    if status == expect then key = key .. "->" .. tostring(headers["Location"]) end
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total_ok, total_other, merged = 0, 0, {}
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_other = total_other + thread:get("other")
    for key, n in pairs(thread:get("statuses")) do
      merged[key] = (merged[key] or 0) + n
    end
  end
  local parts = {}
  for key, n in pairs(merged) do
    table.insert(parts, key .. ":" .. n)
  end
  io.write(string.format("BENCH_STATUS expected=%d ok=%d other=%d statuses=%s\n",
    expect, total_ok, total_other, table.concat(parts, ",")))
end
