-- Posts the JSON bodies of the file named by BODIES, one per line, each once, in order.
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
local i = 0
request = function()
  i = i + 1
  if i > #bodies then i = 1 end
  return wrk.format("POST", "/tx", {["Content-Type"] = "application/json"}, bodies[i])
end
