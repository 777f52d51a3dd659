-- GET the URL given to wrk at a paced rate: each connection waits $BENCH_DELAY_MS between
-- requests. A latency probe that leaves the CPU to the load under test (the login flood);
-- wrk measures latency from send to response, without the delay.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")

local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "10")

function delay()
  return pause
end

function done(summary, latency, requests)
  report.write(summary, latency, nil)
end
