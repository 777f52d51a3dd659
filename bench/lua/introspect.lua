-- POST to the introspection endpoint (RFC 7662) with one access token, authenticated with
-- client_secret_basic. Env: BENCH_BASIC, BENCH_TOKEN. Anything but 200 {"active":true} is an
-- error, so a rejected or inactive token cannot pass for a fast one.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")

wrk.method = "POST"
wrk.body = "token=" .. assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN is not set") .. "&token_type_hint=access_token"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. assert(os.getenv("BENCH_BASIC"), "BENCH_BASIC is not set")

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  failed = 0
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"active"%s*:%s*true') then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  report.write(summary, latency, report.sum(threads, "failed"))
end
