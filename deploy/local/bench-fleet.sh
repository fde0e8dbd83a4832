# shellcheck shell=bash
# ./run bench fleet: a fleet through 3 cloud workers, on Mosquitto and on a 3-node NATS JetStream cluster
# (docs/scaling.md). Issue 16: 10,000 simulated devices at 1 message/s each (20 gateways x 500 devices; each message
# is one device's poll of 3 readings, firmware-sim load), for 2 minutes, several runs per mode. Per run:
# - lost: what the broker acknowledged to the generator (PUBACKs read, not publishes written) minus the points
#   InfluxDB holds for the run's site once that count has reached it or has not grown for PILOTS_BENCH_DRAIN_S;
# - stuck: what arrived only after the count had stood still for 10 s (held in the broker or a worker, then
#   delivered). The bench used to stop there and counted those as lost;
# - unacked: publishes the broker never acknowledged (an edge keeps those and sends them again);
# - storedRate: InfluxDB's count over the time to its last growth; counted/counterRate: the workers' messagesStored
#   counters, which count a redelivered message each time it is stored again (the gap between the two is redelivery);
# - the p99 lag (sampled every 0.5 s from those counters: how long ago the generator had sent what the workers have
#   stored by then), the send rate the brokers let through, and the CPU-seconds of each process over the run (/proc
#   accounting, firmware-sim --cpu-pids); per mode, each process's peak RSS (VmHWM).
# A run with lost or stuck messages keeps its diagnostics in .pilots/bench-fleet-diag/TIME-SITE/ (the bench's own
# temp dir goes at exit): each worker's /api/ingestion/stats, `ss -tnio` on the broker's ports and Mosquitto's $SYS
# counters when the count first stalled and at the end, the broker's and workers' logs, the generator's samples, and
# holes.txt: per gateway, the sequence numbers InfluxDB lacks, split into acknowledged and never acknowledged.
# Median, min and max over the runs; one JSON line at the end, also written to bench/results/fleet.json.
# Tunables: PILOTS_BENCH_RUNS (3), PILOTS_BENCH_SECONDS (120), PILOTS_BENCH_RATE (10000 msg/s),
# PILOTS_BENCH_DEVICES_PER_GATEWAY (500), PILOTS_BENCH_DRAIN_S (120), PILOTS_BENCH_MODES ("mosquitto nats"),
# PILOTS_BENCH_RULES (0: the workers run no rules engine; 1: worker 1 runs it, as shipped).
# Everything runs on this box: brokers, InfluxDB, 3 workers and the generator share its cores.

bench_fleet_main() {
  BENCH_FLEET_DIR="$PILOTS_ROOT/.pilots/bench-fleet-$$"
  local dir=$BENCH_FLEET_DIR mode
  local runs=${PILOTS_BENCH_RUNS:-3} seconds=${PILOTS_BENCH_SECONDS:-120} rate=${PILOTS_BENCH_RATE:-10000}
  local per=${PILOTS_BENCH_DEVICES_PER_GATEWAY:-500} drain=${PILOTS_BENCH_DRAIN_S:-120}
  [ -z "${PILOTS_MQTT_URL:-}${PILOTS_INFLUX_URL:-}${PILOTS_NATS_URL:-}" ] || die "bench fleet starts its own servers: unset PILOTS_MQTT_URL, PILOTS_INFLUX_URL and PILOTS_NATS_URL"
  ensure_server_packages
  ensure_nats_server
  source "$PILOTS_ROOT/deploy/local/cluster.sh"
  trap 'stop_all; rm -rf "$BENCH_FLEET_DIR"' EXIT
  mkdir -p "$dir" "$PILOTS_ROOT/bench/results"
  : >"$dir/results.jsonl"
  for mode in ${PILOTS_BENCH_MODES:-mosquitto nats}; do
    bench_fleet_mode "$mode" "$runs" "$seconds" "$rate" "$per" "$drain"
    stop_all
    unset PILOTS_MQTT_URL PILOTS_INFLUX_URL PILOTS_NATS_URL
  done
  python3 - "$dir/results.jsonl" "$PILOTS_ROOT/bench/results/fleet.json" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" \
    "$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)" "$rate" "$((20 * per))" "$seconds" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out, cores, cpu, mem, rate, devices, seconds = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], float(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8])
def stat(values):
    values = [v for v in values if v is not None]
    return None if not values else {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}
modes = {}
for mode in dict.fromkeys(r["mode"] for r in rows):
    runs = [r for r in rows if r["mode"] == mode and r["result"] == "run"]
    rss = next((r["peakRssMb"] for r in rows if r["mode"] == mode and r["result"] == "rss"), {})
    names = sorted({n for r in runs for n in (r.get("cpuSeconds") or {})})
    modes[mode] = {
        "runs": len(runs),
        "lost": stat([r["lost"] for r in runs]),
        "stuck": stat([r.get("stuck") for r in runs]),
        "unacked": stat([r.get("unacked") for r in runs]),
        "sendRate": stat([r["sendRate"] for r in runs]),
        "storedRate": stat([r["storedRate"] for r in runs]),
        "p99LagS": stat([r["p99LagS"] for r in runs]),
        "maxLagS": stat([r["maxLagS"] for r in runs]),
        "cpuCoresByProcess": {n: stat([(r["cpuSeconds"] or {}).get(n, 0) / r["seconds"] for r in runs]) for n in names},
        # CPU time per message does not depend on how busy the box was; cores at the offered rate follow from it.
        "cpuMsPer1000Msgs": {n: stat([(r["cpuSeconds"] or {}).get(n, 0) / max(1, r["stored"]) * 1e6 for r in runs]) for n in names},
        "loadAvg": [r["loadAvg"] for r in runs],
        "peakRssMbByProcess": rss,
    }
print(f"bench fleet: {devices:,} devices, {rate:,.0f} msg/s offered for {seconds:.0f} s, 3 workers; {cores} cores ({cpu}), {mem} GiB")
print("median [min-max] per mode; lost: acknowledged by the broker, not in InfluxDB after the drain; stuck: arrived only after 10 s without growth")
def m(s, fmt="{:,.0f}"):
    return "-" if s is None else f"{fmt.format(s['median'])} [{fmt.format(s['min'])}-{fmt.format(s['max'])}]"
for mode, r in modes.items():
    print(f"{mode:<11}{r['runs']:>5}  sent/s {m(r['sendRate'])}  stored/s {m(r['storedRate'])}  lost {m(r['lost'])}  stuck {m(r['stuck'])}  unacked {m(r['unacked'])}  p99 lag {m(r['p99LagS'], '{:.1f}')} s  max lag {m(r['maxLagS'], '{:.1f}')} s")
    for name, s in r["cpuCoresByProcess"].items():
        print(f"    {name:<10} CPU {m(s, '{:.2f}')} cores, {m(r['cpuMsPer1000Msgs'][name], '{:.0f}')} CPU-ms per 1000 messages   peak RSS {r['peakRssMbByProcess'].get(name, '-')} MB")
    print(f"    load average at each run's end: {', '.join(r['loadAvg'])} (on {cores} cores)")
line = {"bench": "fleet", "devices": devices, "offeredMsgPerS": rate, "seconds": seconds, "workers": 3,
        "machine": {"cores": cores, "cpu": cpu, "memGiB": float(mem), "loadAvg": open("/proc/loadavg").read().split()[0]}, "modes": modes}
open(out, "w").write(json.dumps(line) + "\n")
print(json.dumps(line))
PY
}

# bench_fleet_mode MODE RUNS SECONDS RATE DEVICES_PER_GATEWAY DRAIN : servers, 3 workers, RUNS load runs; appends JSON lines.
bench_fleet_mode() {
  local mode=$1 runs=$2 seconds=$3 rate=$4 per=$5 drain=$6 w run pids="" gen_url mqtt_ports client_ports=""
  local sim="$PILOTS_ROOT/firmware-sim/IoTPilots.FirmwareSim/bin/Release/net10.0/IoTPilots.FirmwareSim.dll"
  local cloud_dll="$PILOTS_ROOT/cloud/IoTPilots.Cloud/bin/Release/net10.0/IoTPilots.Cloud.dll"
  local mdir="$BENCH_FLEET_DIR/$mode"
  mkdir -p "$mdir/logs"
  start_influxdb "$mdir"
  pids="influxd=${PILOTS_PIDS[-1]}"
  local -a worker_env=()
  if [ "$mode" = nats ]; then
    nats_cluster_start "$mdir/nats" 3
    for ((w = 1; w <= 3; w++)); do pids+=",nats$w=${NATS_NODE_PIDS[w-1]}"; done
    read -r -a mqtt_ports <<<"$NATS_MQTT_PORTS"
    client_ports=$(tr ',' '\n' <<<"$NATS_CLIENT_URLS" | sed 's/.*://' | xargs)
    gen_url="mqtt://127.0.0.1:${mqtt_ports[0]}?protocol=3.1.1"
  else
    start_mosquitto "$mdir"
    pids+=",mosquitto=${PILOTS_PIDS[-1]}"
    gen_url=$PILOTS_MQTT_URL
    mqtt_ports=("${PILOTS_MQTT_URL##*:}")
  fi
  BENCH_FLEET_MODE=$mode BENCH_FLEET_BROKER_PORTS="${mqtt_ports[*]}${client_ports:+ $client_ports}" BENCH_FLEET_WORKER_PORTS=""
  local -a ports=()
  for ((w = 1; w <= 3; w++)); do
    ports[w]=$(free_port $((5990 + w)))
    BENCH_FLEET_WORKER_PORTS+="${BENCH_FLEET_WORKER_PORTS:+ }${ports[w]}"
    if [ "$mode" = nats ]; then
      worker_env=(PILOTS_NATS_URL="$NATS_CLIENT_URLS" PILOTS_MQTT_URL="mqtt://127.0.0.1:${mqtt_ports[w-1]}?protocol=3.1.1")
    else
      worker_env=(PILOTS_MQTT_URL="$PILOTS_MQTT_URL")
    fi
    # Rules off: between runs the 10,000 simulated tanks fall silent, and the shipped do-missing rule then raised
    # 10,000 critical alerts at once (and wrote them to InfluxDB, which timed out) in the middle of the next run.
    start_bg "$mdir/logs/cloud$w.log" env "${worker_env[@]}" PILOTS_INGEST_GROUP=fleet PILOTS_INGEST_WORKER="$w" \
      PILOTS_RULES_ENABLED="${PILOTS_BENCH_RULES:-0}" PILOTS_ALERT_DB="$mdir/alerts.db" dotnet "$cloud_dll" --urls "http://127.0.0.1:${ports[w]}"
    pids+=",cloud$w=${PILOTS_PIDS[-1]}"
    # One at a time: workers sharing an alert store, started at once, raced to create its tables (a session 6 finding).
    local deadline=$((SECONDS + 90))
    until grep -q "Subscribed to" "$mdir/logs/cloud$w.log"; do
      [ $SECONDS -lt $deadline ] || { tail -n 20 "$mdir/logs/cloud$w.log" >&2; die "bench fleet: worker $w ($mode) did not subscribe within 90 s"; }
      sleep 0.3
    done
  done
  export PILOTS_API_KEY
  PILOTS_API_KEY=$(dotnet "$cloud_dll" users --db "$mdir/users.db" key-add bench --role viewer --sites '*' 2>/dev/null) || die "could not make the stats key"
  # The generator samples one stats URL: this one sums the three workers' messagesStored.
  local sum_port; sum_port=$(free_port 5995)
  cat >"$mdir/stats-sum.py" <<'PY'
import http.server, json, os, sys, urllib.request
port, workers = int(sys.argv[1]), sys.argv[2:]
key = os.environ["PILOTS_API_KEY"]
class Sum(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        total = 0
        for p in workers:
            req = urllib.request.Request(f"http://127.0.0.1:{p}/api/ingestion/stats", headers={"Authorization": f"Bearer {key}"})
            total += json.load(urllib.request.urlopen(req, timeout=4))["messagesStored"]
        body = json.dumps({"messagesStored": total}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Sum).serve_forever()
PY
  start_bg "$mdir/logs/stats-sum.log" python3 "$mdir/stats-sum.py" "$sum_port" "${ports[1]}" "${ports[2]}" "${ports[3]}"
  wait_port "$sum_port" 10 stats-sum "$mdir/logs/stats-sum.log"
  say "bench fleet ($mode): warm-up, 2000 msg/s for 10 s (not reported)"
  dotnet "$sim" load --mqtt-url "$gen_url" --rate 2000 --seconds 10 --gateways 20 --devices-per-gateway "$per" --site "warm-$mode" \
    --stats-url "http://127.0.0.1:$sum_port/" --drain "$drain" >/dev/null
  for ((run = 1; run <= runs; run++)); do
    local site="fleet-$mode-$run"
    say "bench fleet ($mode): run $run of $runs, $rate msg/s, $((20 * per)) devices, $seconds s"
    local t0=$SECONDS counted_before counted_after
    counted_before=$(bench_fleet_counted)
    dotnet "$sim" load --mqtt-url "$gen_url" --rate "$rate" --seconds "$seconds" --gateways 20 --devices-per-gateway "$per" --site "$site" \
      --stats-url "http://127.0.0.1:$sum_port/" --drain "$drain" --cpu-pids "$pids" >"$mdir/$site.jsonl"
    # Lost = what the broker acknowledged minus what InfluxDB holds once the count has stopped growing for the drain
    # time (PILOTS_BENCH_DRAIN_S). A publish the broker never acknowledged is not the platform's: an edge keeps it
    # queued and sends it again; the generator reports those as unacked. Stuck = what arrived only after the count
    # had already stood still for 10 s (the bench's old settle rule, which reported those as lost): held by the
    # broker or a worker, then delivered.
    local stored=0 last=-1 grew_at=$SECONDS stall="" acked count
    acked=$(python3 -c "import json,sys; print(next(json.loads(l)['acked'] for l in open(sys.argv[1]) if '\"result\": \"load\"' in l or '\"result\":\"load\"' in l))" "$mdir/$site.jsonl")
    local ended=$((SECONDS - t0)) diag="$mdir/diag-$site"
    while :; do
      count=$(bench_fleet_count "$site")
      # A query that failed (InfluxDB busy) reads 0: keep the last good count.
      [ "$count" -lt "$stored" ] || stored=$count
      [ "$stored" = "$last" ] || { last=$stored; grew_at=$SECONDS; }
      [ "$stored" -lt "$acked" ] || break
      if [ -z "$stall" ] && [ $((SECONDS - grew_at)) -ge 10 ]; then
        stall=$stored
        say "  $site: InfluxDB holds $stored of $acked acknowledged and stopped growing; waiting up to ${drain} s for the rest"
        bench_fleet_snapshot "$diag/at-stall"
      fi
      [ $((SECONDS - grew_at)) -lt "$drain" ] && [ $((SECONDS - t0)) -lt $((ended + 5 * drain)) ] || break
      sleep 5
    done
    [ -n "$stall" ] || stall=$stored
    counted_after=$(bench_fleet_counted)
    if [ "$stored" != "$acked" ] || [ "$stall" != "$stored" ]; then
      bench_fleet_snapshot "$diag/at-end"
      bench_fleet_keep_diag "$mode" "$site" "$diag" "$mdir"
    fi
    python3 - "$mdir/$site.jsonl" "$mode" "$stored" "$stall" "$counted_before" "$counted_after" "$((grew_at - t0))" >>"$BENCH_FLEET_DIR/results.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
samples = [l for l in lines if "t" in l and l.get("stored") is not None]
report = next(l for l in lines if l.get("result") == "load")
# Lag at each sample: how long ago the generator had sent what the workers have stored by now (0 when caught up).
lags = []
for s in samples:
    if s["stored"] >= s["sent"]:
        lags.append(0.0); continue
    caught = [p for p in samples if p["t"] <= s["t"] and p["sent"] <= s["stored"]]
    lags.append(s["t"] - (caught[-1]["t"] if caught else 0.0))
lags.sort()
p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))] if lags else None
duration = samples[-1]["t"] if samples else report["seconds"]
print(json.dumps({"result": "run", "mode": sys.argv[2], "site": report["site"], "sent": report["sent"], "acked": report["acked"],
    "unacked": report["sent"] - report["acked"], "stored": int(sys.argv[3]), "lost": report["acked"] - int(sys.argv[3]),
    "stuck": int(sys.argv[3]) - int(sys.argv[4]), "sendRate": report["sendRate"],
    # Stored rate = points InfluxDB holds for the run over the time from the start to its count's last growth
    # (sampled every 5 s). The workers' counters (counterRate, while loaded; counted: their whole growth over the
    # run) also count every redelivered message again and every message of another site, so they are no rate.
    "storedRate": int(sys.argv[3]) / max(1, float(sys.argv[7])), "counterRate": report["loadedStoredRate"],
    "counted": int(sys.argv[6]) - int(sys.argv[5]) if int(sys.argv[5]) >= 0 and int(sys.argv[6]) >= 0 else None,
    "p99LagS": p99, "maxLagS": report["maxLagS"], "seconds": duration, "cpuSeconds": report.get("cpuSeconds"),
    "loadAvg": open("/proc/loadavg").read().split()[0]}))
PY
    tail -n 1 "$BENCH_FLEET_DIR/results.jsonl" | sed 's/^/  /' >&2
  done
  python3 - "$mode" "$pids" >>"$BENCH_FLEET_DIR/results.jsonl" <<'PY'
import json, sys
rss = {}
for item in sys.argv[2].split(","):
    name, pid = item.split("=")
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                rss[name] = round(int(line.split()[1]) / 1024)
    except OSError:
        rss[name] = None
print(json.dumps({"result": "rss", "mode": sys.argv[1], "peakRssMb": rss}))
PY
}

# bench_fleet_count SITE : the points of field do_mg_l InfluxDB holds for SITE (one per message).
bench_fleet_count() {
  curl -fsG -m 60 "$PILOTS_INFLUX_URL/query" --data-urlencode "db=$PILOTS_INFLUX_DB" \
    --data-urlencode "q=SELECT count(do_mg_l) FROM telemetry WHERE site = '$1'" |
    python3 -c "import json,sys; d=json.load(sys.stdin); s=d['results'][0].get('series'); print(s[0]['values'][0][1] if s else 0)" 2>/dev/null || echo 0
}

# bench_fleet_counted : the sum of the workers' messagesStored counters (-1 if one does not answer).
bench_fleet_counted() {
  python3 - $BENCH_FLEET_WORKER_PORTS <<'PY'
import json, os, sys, urllib.request
total = 0
try:
    for p in sys.argv[1:]:
        req = urllib.request.Request(f"http://127.0.0.1:{p}/api/ingestion/stats", headers={"Authorization": f"Bearer {os.environ['PILOTS_API_KEY']}"})
        total += json.load(urllib.request.urlopen(req, timeout=10))["messagesStored"]
except Exception:
    total = -1
print(total)
PY
}

# bench_fleet_snapshot DIR : what a worker, the broker and their sockets hold now: each worker's /api/ingestion/stats,
# `ss -tnio` on the broker's ports (unsent bytes, zero-window probing: cloud README "Overload"), Mosquitto's $SYS
# counters (messages stored, dropped, clients; refreshed every 10 s).
bench_fleet_snapshot() {
  local out=$1 p w=0 filter=""
  mkdir -p "$out"
  date -u +%FT%TZ >"$out/time.txt"
  for p in $BENCH_FLEET_WORKER_PORTS; do
    w=$((w + 1))
    curl -fsS -m 10 -H "Authorization: Bearer $PILOTS_API_KEY" "http://127.0.0.1:$p/api/ingestion/stats" >"$out/stats-cloud$w.json" 2>&1 || true
  done
  for p in $BENCH_FLEET_BROKER_PORTS; do filter+="${filter:+ or }sport = :$p or dport = :$p"; done
  ss -tnio "( $filter )" >"$out/ss.txt" 2>&1 || true
  if [ "$BENCH_FLEET_MODE" = mosquitto ]; then
    timeout 10 mosquitto_sub -h 127.0.0.1 -p "${BENCH_FLEET_BROKER_PORTS%% *}" -v -t '$SYS/broker/#' -W 3 >"$out/sys.txt" 2>&1 || true
  fi
}

# bench_fleet_keep_diag MODE SITE DIAG MDIR : keeps a run's diagnostics (which the bench's temp dir would take away)
# under .pilots/bench-fleet-diag/, with holes.txt: per gateway, what the generator sent and had acknowledged and which
# of its sequence numbers InfluxDB lacks (message seq of a gateway is device seq % devices at the run's start plus
# seq / devices ms, firmware-sim LoadPayloads, so a count per gateway and millisecond finds every hole).
bench_fleet_keep_diag() {
  local mode=$1 site=$2 diag=$3 mdir=$4 keep
  keep="$PILOTS_ROOT/.pilots/bench-fleet-diag/$(date -u +%Y%m%dT%H%M%S)-$site"
  mkdir -p "$keep"
  cp -r "$diag"/. "$keep"/ 2>/dev/null || true
  cp "$mdir/$site.jsonl" "$keep/" 2>/dev/null || true
  mkdir -p "$keep/logs"
  cp "$mdir"/logs/*.log "$keep/logs/" 2>/dev/null || true
  [ ! -d "$mdir/nats/logs" ] || cp "$mdir"/nats/logs/*.log "$keep/logs/" 2>/dev/null || true
  python3 - "$PILOTS_INFLUX_URL" "$PILOTS_INFLUX_DB" "$site" "$mdir/$site.jsonl" "${PILOTS_BENCH_DEVICES_PER_GATEWAY:-500}" >"$keep/holes.txt" 2>&1 <<'PY' || true
import json, sys, urllib.parse, urllib.request
url, db, site, jsonl, per = sys.argv[1:5] + [int(sys.argv[5])]
def query(q):
    with urllib.request.urlopen(f"{url}/query?" + urllib.parse.urlencode({"db": db, "epoch": "ms", "q": q}), timeout=120) as r:
        return json.load(r)["results"][0].get("series") or []
report = next(json.loads(l) for l in open(jsonl) if '"result":"load"' in l.replace(" ", ""))
sent, acked = report.get("gatewaySent") or [], report.get("gatewayAcked") or []
start = query(f"SELECT first(do_mg_l) FROM telemetry WHERE site = '{site}'")
if not start:
    print(f"{site}: InfluxDB holds nothing"); sys.exit()
t0 = start[0]["values"][0][0]
rows = query(f"SELECT count(do_mg_l) FROM telemetry WHERE site = '{site}' AND time >= {t0}ms AND time < {t0 + 60000}ms GROUP BY gateway, time(1ms)")
print(f"{site}: per gateway, seq 1..sent; message seq is at +seq/{per} ms (first point at {t0} ms). PUBACKs come in"
      " publish order, so seq 1..acked were acknowledged: a hole there is a loss, one above it was never acknowledged")
for s in rows:
    g = int(s["tags"]["gateway"].split("-")[1])
    counts = {int(t - t0): c for t, c in s["values"] if c}
    n_sent = sent[g - 1] if g <= len(sent) else None
    n_acked = acked[g - 1] if g <= len(acked) else None
    stored = sum(counts.values())
    holes = []
    last_ms = (n_sent // per) if n_sent else max(counts)
    for ms in range(0, last_ms + 1):
        lo, hi = max(1, ms * per), min((ms + 1) * per - 1, n_sent or (ms + 1) * per - 1)
        miss = (hi - lo + 1) - counts.get(ms, 0)
        if miss > 0:
            holes.append((lo, hi, miss))
    merged = []
    for lo, hi, miss in holes:
        if merged and merged[-1][1] + 1 == lo:
            merged[-1] = (merged[-1][0], hi, merged[-1][2] + miss)
        else:
            merged.append((lo, hi, miss))
    lost = sum(m for lo, hi, m in holes if hi <= n_acked) if n_acked is not None else None
    print(f"gw-{g:03d} sent {n_sent} acked {n_acked} stored {stored} missing {sum(m for *_, m in holes)} (in seq 1..acked: {lost}): "
          + ", ".join(f"{m} in seq {lo}-{hi}" for lo, hi, m in merged[:12]) + (" ..." if len(merged) > 12 else ""))
PY
  say "  $site: diagnostics kept in ${keep#"$PILOTS_ROOT"/}"
}
