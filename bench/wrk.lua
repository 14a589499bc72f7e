-- wrk script of bench/run, from environment variables, with a count of the responses that were not
-- the expected one (wrk itself only flags 4xx/5xx, but a failed login is a 200 and an expired
-- session is a 302).
--
-- One request, the same every time:
--   BENCH_METHOD (GET), BENCH_BODY (form-encoded), BENCH_COOKIE, BENCH_EXPECT (200),
--   BENCH_EXPECT_LOCATION (the Location header a redirect must carry, optional)
--
-- A journey (BENCH_JOURNEY): steps separated by "|", each "METHOD PATH STATUS [LOCATION|-] [BODY]",
-- requested in order, over and over. BENCH_COOKIE is sent with every step, and so is the session
-- cookie (named BENCH_SESSION_COOKIE, default sessionid: the project's SESSION_COOKIE_NAME, which is
-- __Host-sessionid in production) from the last response that set one. A step with another status than its own
-- breaks the journey off: the next request starts it again. A journey keeps its state in the
-- thread's Lua state, so it needs one connection per thread (wrk -tN -cN; bench/run does that).
-- BENCH_XFF_PREFIX (e.g. "203.0.113."): each thread sends X-Forwarded-For: <prefix><thread number>,
-- one household per address (the server trusts one proxy: TRUSTED_PROXY_COUNT=1).
--
-- A credential-stuffing attack sent by wrk (BENCH_ATTACK=1; bench/run sends its attack with
-- bench/attack.py instead: wrk paces a connection only after reconnecting, so each paced request
-- first sits idle in a sync worker — a slow-client attack, see docs/performance.md): POST /login/ with a new 14-digit customer number
-- and a wrong password every time (BENCH_BODY is the form up to the number: the CSRF token and
-- form=customer), from BENCH_ATTACK_ADDRESSES (16) addresses in turn (X-Forwarded-For:
-- 198.18.0.1 ... 198.18.0.16), at BENCH_ATTACK_RATE (100) requests per second in all, spread over the
-- BENCH_THREADS threads (wrk's -t): each thread hands its connections the next slot of its schedule (delay()), so the rate
-- does not fall as the server slows down, as long as enough connections are open (-c). Expected
-- status 200: the login page again with the wrong-password message.
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
local cookie = os.getenv("BENCH_COOKIE") or ""
local expect = tonumber(os.getenv("BENCH_EXPECT") or "200")
local location = os.getenv("BENCH_EXPECT_LOCATION") or ""
local session_cookie = os.getenv("BENCH_SESSION_COOKIE") or "sessionid"

local steps = {}
for spec in string.gmatch(os.getenv("BENCH_JOURNEY") or "", "[^|]+") do
  local f = {}
  for field in string.gmatch(spec, "%S+") do table.insert(f, field) end
  table.insert(steps, {
    method = f[1],
    path = f[2],
    expect = tonumber(f[3]),
    location = (f[4] ~= nil and f[4] ~= "-") and f[4] or "",
    body = f[5] or "",
  })
end

wrk.method = method
if body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
if cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

local xff_prefix = os.getenv("BENCH_XFF_PREFIX") or ""
local attack = os.getenv("BENCH_ATTACK") == "1"
local attack_rate = tonumber(os.getenv("BENCH_ATTACK_RATE") or "100")
local attack_addresses = tonumber(os.getenv("BENCH_ATTACK_ADDRESSES") or "16")
-- wrk's -t, for the attack's schedule (a thread may start before the next one is set up).
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

local ffi = nil
local clock_ms = nil
if attack then
  ffi = require("ffi")
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock_id, bench_timespec *tp);
  ]]
  local now = ffi.new("bench_timespec")
  clock_ms = function()
    ffi.C.clock_gettime(1, now)  -- CLOCK_MONOTONIC
    return tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
  end
end

function init(args)
  ok = 0
  other = 0
  statuses = {}
  completed = 0
  broken = 0
  step = 1
  session = ""
  if xff_prefix ~= "" then
    wrk.headers["X-Forwarded-For"] = xff_prefix .. tostring(thread_number)
  end
  if attack then
    sent = 0
    math.randomseed(thread_number * 7919 + os.time())
    interval = 1000 * thread_count / attack_rate  -- ms between this thread's requests
    due = clock_ms() + interval * (thread_number - 1) / thread_count
  end
end

local function count(good, status, headers, want)
  if good then
    ok = ok + 1
  else
    other = other + 1
    local key = tostring(status)
    if status == want then key = key .. "->" .. tostring(headers["Location"]) end
    statuses[key] = (statuses[key] or 0) + 1
  end
end

if attack then
  function delay()
    local now = clock_ms()
    local wait = due - now
    if wait < -250 then due = now; wait = 0 end  -- far behind (a slow server): do not burst to catch up
    due = due + interval
    return wait > 0 and wait or 0
  end

  function request()
    sent = sent + 1
    local address = (thread_number - 1 + (sent - 1) * thread_count) % attack_addresses + 1
    local number = string.format("4%06d%07d", math.random(0, 999999), math.random(0, 9999999))
    local payload = body .. "&c-customer_number=" .. number .. "&c-password=stuffed-" .. math.random(1, 1e9)
    return wrk.format("POST", wrk.path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = cookie,
      ["X-Forwarded-For"] = "198.18.0." .. address,
    }, payload)
  end
end

if #steps > 0 then
  function request()
    local s = steps[step]
    local headers = {}
    local jar = cookie
    if session ~= "" then
      jar = (jar ~= "" and (jar .. "; ") or "") .. session_cookie .. "=" .. session
    end
    if jar ~= "" then headers["Cookie"] = jar end
    if xff_prefix ~= "" then headers["X-Forwarded-For"] = xff_prefix .. tostring(thread_number) end
    local payload = nil
    if s.body ~= "" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      payload = s.body
    end
    return wrk.format(s.method, s.path, headers, payload)
  end

  function response(status, headers, body)
    local s = steps[step]
    local good = status == s.expect and (s.location == "" or headers["Location"] == s.location)
    -- wrk keeps one header of each name: a response that sets several cookies shows the last one,
    -- which is the session's in Django's order (the CSRF cookie is set first).
    local set = headers["Set-Cookie"] or ""
    local sid = nil
    if string.sub(set, 1, #session_cookie + 1) == session_cookie .. "=" then  -- plain text, no pattern
      sid = string.match(string.sub(set, #session_cookie + 2), "^([^;]*)")
    end
    if sid ~= nil then
      if sid == '""' then session = "" else session = sid end
    end
    count(good, status, headers, s.expect)
    if not good then
      broken = broken + 1
      step = 1
      session = ""
    elseif step == #steps then
      completed = completed + 1
      step = 1
      session = ""
    else
      step = step + 1
    end
  end
else
  function response(status, headers, body)
    count(status == expect and (location == "" or headers["Location"] == location), status, headers, expect)
  end
end

function done(summary, latency, requests)
  local total_ok, total_other, total_completed, total_broken, merged = 0, 0, 0, 0, {}
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_other = total_other + thread:get("other")
    total_completed = total_completed + thread:get("completed")
    total_broken = total_broken + thread:get("broken")
    for key, n in pairs(thread:get("statuses")) do
      merged[key] = (merged[key] or 0) + n
    end
  end
  local parts = {}
  for key, n in pairs(merged) do
    table.insert(parts, key .. ":" .. n)
  end
  local expected = tostring(expect)
  if #steps > 0 then
    local codes = {}
    for _, s in ipairs(steps) do table.insert(codes, tostring(s.expect)) end
    expected = table.concat(codes, ",")
  end
  io.write(string.format("BENCH_STATUS expected=%s ok=%d other=%d statuses=%s\n",
    expected, total_ok, total_other, table.concat(parts, ",")))
  if #steps > 0 then
    io.write(string.format("BENCH_JOURNEYS steps=%d completed=%d broken=%d duration_us=%d\n",
      #steps, total_completed, total_broken, summary.duration))
  end
end
