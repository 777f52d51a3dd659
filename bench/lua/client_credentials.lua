-- POST /token grant_type=client_credentials with client_secret_basic.
-- Env: BENCH_BASIC = base64("client_id:client_secret"). Non-2xx/3xx responses count as errors.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")

wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=api%3Aread%20api%3Awrite"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. assert(os.getenv("BENCH_BASIC"), "BENCH_BASIC is not set")

function done(summary, latency, requests)
  report.write(summary, latency, nil)
end
