-- GET the URL given to wrk (discovery, JWKS). Non-2xx/3xx responses count as errors.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")

function done(summary, latency, requests)
  report.write(summary, latency, nil)
end
