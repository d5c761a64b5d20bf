-- wrk script shared by every HTTP scenario (run.sh sets the environment).
--
--   BENCH_MODE     get (default) | gzip | post | close | hosts | warm
--   BENCH_CONNECT  address to connect to instead of resolving the URL's host (*.localhost names
--                  do not resolve through /etc/hosts here), so TLS SNI and Host keep the preview
--                  host name while the socket goes to 127.0.0.1
--   BENCH_BODY     bytes of the POST body (post)
--   BENCH_HOSTS    file with one Host header per line (hosts, warm)
--   BENCH_OUT      where done() appends its JSON summary line
local mode = os.getenv("BENCH_MODE") or "get"
local connect = os.getenv("BENCH_CONNECT") or "127.0.0.1"

function wrk.resolve(host, service)
    wrk.addrs = wrk.lookup(connect, service)
end

if mode == "post" then
    wrk.method = "POST"
    wrk.body = string.rep("x", tonumber(os.getenv("BENCH_BODY") or "1048576"))
    wrk.headers["Content-Type"] = "application/octet-stream"
elseif mode == "gzip" then
    wrk.headers["Accept-Encoding"] = "gzip"
elseif mode == "close" then
    wrk.headers["Connection"] = "close"
elseif mode == "hosts" or mode == "warm" then
    -- A global request() makes wrk call Lua for every request, so only these modes define it.
    local prepared = {}
    local next_index = 0

    function init(args)
        for line in io.lines(os.getenv("BENCH_HOSTS")) do
            prepared[#prepared + 1] = wrk.format("GET", "/", { Host = line })
        end
        math.randomseed(os.time())
    end

    if mode == "warm" then
        function request()
            next_index = next_index % #prepared + 1
            return prepared[next_index]
        end
    else
        function request()
            return prepared[math.random(#prepared)]
        end
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    local line = string.format(
        '{"requests":%d,"bytes":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
        '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
        summary.requests, summary.bytes, summary.duration,
        latency:percentile(50), latency:percentile(99),
        e.connect, e.read, e.write, e.status, e.timeout)
    local out = os.getenv("BENCH_OUT")
    if out then
        local f = assert(io.open(out, "a"))
        f:write(line)
        f:close()
    else
        io.write(line)
    end
end
