-- POST /token grant_type=refresh_token with rotation: every response carries the next
-- refresh token of the chain, and the chain continues with it. Run with as many threads as
-- connections (wrk -tN -cN): each thread has one connection and its own Lua state, so each
-- connection keeps its own chain, seeded from line i of $BENCH_TOKENS. Anything but a 200
-- with a new refresh token is an error (and ends that chain's progress).
-- Env: BENCH_BASIC = base64("client_id:client_secret"), BENCH_TOKENS = file of tokens.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")

local tokens_file = os.getenv("BENCH_TOKENS")
assert(tokens_file, "BENCH_TOKENS is not set")
local tokens = {}
for line in io.lines(tokens_file) do
  if #line > 0 then tokens[#tokens + 1] = line end
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  assert(tokens[#threads], "fewer seeded refresh tokens than wrk threads")
  thread:set("token", tokens[#threads])
end

function init(args)
  failed = 0
  req_headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC"),
  }
end

function request()
  return wrk.format("POST", nil, req_headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local next_token = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if next_token then
    token = next_token
  else
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  report.write(summary, latency, report.sum(threads, "failed"))
end
