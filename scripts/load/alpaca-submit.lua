-- wrk script: Alpaca market-order submissions alternating buy and sell, so
-- that buying power never runs out; no client_order_id, so the broker
-- generates one and no submission is a duplicate.
local bodies = {
  '{"symbol":"AAPL","qty":"1","side":"buy","type":"market","time_in_force":"day"}',
  '{"symbol":"AAPL","qty":"1","side":"sell","type":"market","time_in_force":"day"}',
}
-- Headers given with -H (the API keys) live in wrk.headers; passing nil keeps them.
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", nil, nil, bodies[(n % 2) + 1])
end
