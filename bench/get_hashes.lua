-- GET /tx/{hash} for hashes drawn at random from the file named by HASHES (one per line), so
-- reads spread over many distinct records instead of one hot row.
local hashes = {}
for line in io.lines(os.getenv("HASHES")) do hashes[#hashes + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/tx/" .. hashes[math.random(#hashes)])
end
