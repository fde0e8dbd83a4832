# shellcheck shell=bash
# ./run bench fleet: a fleet through 3 cloud workers, on Mosquitto and on a 3-node NATS JetStream cluster
# (docs/scaling.md). Issue 16: 10,000 simulated devices at 1 message/s each (20 gateways x 500 devices; each message
# is one device's poll of 3 readings, firmware-sim load), for 2 minutes, several runs per mode. Per run: messages
# lost (acknowledged by the broker minus the points InfluxDB holds for the run's site), the p99 lag (the lag sampled every 0.5 s: how long
# ago the generator had sent what the workers have stored by then, summed over the 3 workers), the send rate the
# brokers let through, and the CPU-seconds of each process over the run (/proc accounting, firmware-sim --cpu-pids);
# per mode, each process's peak RSS (VmHWM). Median, min and max over the runs; one JSON line at the end, also
# written to bench/results/fleet.json.
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
print(f"{'mode':<11}{'runs':>5}{'sent/s':>10}{'stored/s':>10}{'lost':>8}{'p99 lag s':>11}{'max lag s':>11}   (median [min-max])")
def m(s, fmt="{:,.0f}"):
    return "-" if s is None else f"{fmt.format(s['median'])} [{fmt.format(s['min'])}-{fmt.format(s['max'])}]"
for mode, r in modes.items():
    print(f"{mode:<11}{r['runs']:>5}  sent/s {m(r['sendRate'])}  stored/s {m(r['storedRate'])}  lost {m(r['lost'])}  p99 lag {m(r['p99LagS'], '{:.1f}')} s  max lag {m(r['maxLagS'], '{:.1f}')} s")
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
  local mode=$1 runs=$2 seconds=$3 rate=$4 per=$5 drain=$6 w run pids="" gen_url mqtt_ports
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
    gen_url="mqtt://127.0.0.1:${mqtt_ports[0]}?protocol=3.1.1"
  else
    start_mosquitto "$mdir"
    pids+=",mosquitto=${PILOTS_PIDS[-1]}"
    gen_url=$PILOTS_MQTT_URL
  fi
  local -a ports=()
  for ((w = 1; w <= 3; w++)); do
    ports[w]=$(free_port $((5990 + w)))
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
    dotnet "$sim" load --mqtt-url "$gen_url" --rate "$rate" --seconds "$seconds" --gateways 20 --devices-per-gateway "$per" --site "$site" \
      --stats-url "http://127.0.0.1:$sum_port/" --drain "$drain" --cpu-pids "$pids" >"$mdir/$site.jsonl"
    # Lost = what the broker acknowledged minus what InfluxDB holds once the count stops growing (a backlog still
    # draining is not a loss). A publish the broker never acknowledged is not the platform's: an edge keeps it queued
    # and sends it again; the generator reports those as unacked.
    local stored=-1 before=-2 sent
    sent=$(python3 -c "import json,sys; print(next(json.loads(l)['acked'] for l in open(sys.argv[1]) if '\"result\": \"load\"' in l or '\"result\":\"load\"' in l))" "$mdir/$site.jsonl")
    while [ "$stored" != "$before" ] && [ "$stored" != "$sent" ]; do
      before=$stored
      sleep 10
      stored=$(curl -fsG "$PILOTS_INFLUX_URL/query" --data-urlencode "db=$PILOTS_INFLUX_DB" \
        --data-urlencode "q=SELECT count(do_mg_l) FROM telemetry WHERE site = '$site'" |
        python3 -c "import json,sys; d=json.load(sys.stdin); s=d['results'][0].get('series'); print(s[0]['values'][0][1] if s else 0)")
    done
    python3 - "$mdir/$site.jsonl" "$mode" "$stored" >>"$BENCH_FLEET_DIR/results.jsonl" <<'PY'
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
    "unacked": report["sent"] - report["acked"], "stored": int(sys.argv[3]), "lost": report["acked"] - int(sys.argv[3]), "sendRate": report["sendRate"], "storedRate": report["loadedStoredRate"],
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
