-- Shared by every scenario script: writes wrk's figures as one JSON object to $BENCH_OUT
-- (stdout if unset), in the shape bench/flowbench's report reads.
local M = {}

-- `failed` replaces wrk's own status-error count when a script judges responses itself.
function M.write(summary, latency, failed)
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local bad = failed or e.status
  local secs = summary.duration / 1e6
  local out = string.format(
    '{"requests": %d, "duration_s": %.3f, "requests_per_s": %.1f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
    '"max_ms": %.3f, "errors": %d, "failed_responses": %d, "socket_errors": %d, "connections": %s}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    socket + bad, bad, socket, os.getenv("BENCH_CONNECTIONS") or "null")
  local path = os.getenv("BENCH_OUT")
  if path then
    local f = assert(io.open(path, "w"))
    f:write(out)
    f:close()
  else
    io.write(out)
  end
end

-- Sums a per-thread counter in done(): each wrk thread has its own Lua state.
function M.sum(threads, name)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + (t:get(name) or 0)
  end
  return total
end

return M
