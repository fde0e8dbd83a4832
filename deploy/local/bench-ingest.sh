# shellcheck shell=bash
# ./run bench ingest: MQTT -> cloud -> InfluxDB on this box, broker, database, cloud and load generator co-located.
#   1. the ceiling of direct line-protocol writes to the same InfluxDB (firmware-sim load-influx)
#   2. a ramp of 10 s steps (contract messages of 3 readings, QoS 1, 20 gateways, per-gateway sequence numbers):
#      the highest rate stored losslessly and in real time (lag <= 2 s)
#   3. overload: twice the highest stored rate for 20 s; stored rate while loaded against the peak, the drain rate
#      once the load stops, and losses. Hard bounds: sending stops 2 s after its 20 s whatever is left unsent, and
#      the drain is given at most PILOTS_BENCH_DRAIN_S (120) s.
#   4. the cost table: CPU-seconds per 1000 messages of each process (mosquitto, influxd, cloud, load generator),
#      from the kernel's per-process accounting over each run (first publish to all stored). Unlike the rates it
#      does not depend on what else the box runs, and its sum says what the box can carry at best:
#      cores / (CPU-seconds per message).
# PASS/FAIL against issue 9's figures: >= 40k msg/s lossless in real time; overload within 80 % of the peak; the
# backlog drained at >= 80 % of the peak; nothing lost. The load average is printed next to each run (a shared box).
# Mosquitto gets the shipped delivery settings (deploy/mosquitto: max_inflight_messages 1000, max_queued_messages 0),
# the cloud runs as shipped (ingestion and the rules engine). PILOTS_MQTT_URL / PILOTS_INFLUX_URL use existing servers
# (then only the cloud and the load generator are in the cost table).
# Tunables: PILOTS_BENCH_RATES (ramp, msg/s), PILOTS_BENCH_GATEWAYS, PILOTS_BENCH_DRAIN_S.

bench_ingest_main() {
  local sim cloud_dll port rates gateways drain pids
  # Global, not local: the EXIT trap runs after this function has returned.
  BENCH_INGEST_DIR="$PILOTS_ROOT/.pilots/bench-ingest-$$"
  local dir=$BENCH_INGEST_DIR
  sim="$PILOTS_ROOT/firmware-sim/IoTPilots.FirmwareSim/bin/Release/net10.0/IoTPilots.FirmwareSim.dll"
  cloud_dll="$PILOTS_ROOT/cloud/IoTPilots.Cloud/bin/Release/net10.0/IoTPilots.Cloud.dll"
  rates=${PILOTS_BENCH_RATES:-"10000 20000 30000 40000 50000 60000"}
  gateways=${PILOTS_BENCH_GATEWAYS:-20}
  drain=${PILOTS_BENCH_DRAIN_S:-120}
  ensure_server_packages
  trap 'stop_all; rm -rf "$BENCH_INGEST_DIR"' EXIT
  local external_mqtt=${PILOTS_MQTT_URL:-} external_influx=${PILOTS_INFLUX_URL:-}
  start_servers "$dir"
  # The servers started here are the first entries of PILOTS_PIDS (start_servers: mosquitto, then influxd).
  pids=""
  local next=0
  if [ -z "$external_mqtt" ]; then pids="mosquitto=${PILOTS_PIDS[$next]}"; next=$((next + 1)); fi
  if [ -z "$external_influx" ]; then pids="${pids:+$pids,}influxd=${PILOTS_PIDS[$next]}"; fi
  port=$(free_port 5980)
  PILOTS_INGEST_GROUP=bench PILOTS_ALERT_DB="$dir/alerts.db" PILOTS_DELIVERY_INTERVAL_S=10 \
    start_bg "$dir/logs/cloud.log" dotnet "$cloud_dll" --urls "http://127.0.0.1:$port"
  pids="${pids:+$pids,}cloud=${PILOTS_PIDS[${#PILOTS_PIDS[@]}-1]}"
  local deadline=$((SECONDS + 60))
  until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { tail -n 20 "$dir/logs/cloud.log" >&2; die "the cloud did not answer /healthz within 60 s"; }
    sleep 0.3
  done
  until grep -q "Subscribed to" "$dir/logs/cloud.log"; do sleep 0.2; done
  local stats="http://127.0.0.1:$port/api/ingestion/stats" results="$dir/results.jsonl"
  export PILOTS_API_KEY; PILOTS_API_KEY=$(dotnet "$cloud_dll" users --db "$dir/users.db" key-add bench --role viewer --sites '*' 2>/dev/null) || die "could not make the stats key"
  : >"$results"

  say "bench ingest: direct line-protocol writes to InfluxDB (10 s)"
  dotnet "$sim" load-influx --influx-url "$PILOTS_INFLUX_URL" --db "$PILOTS_INFLUX_DB" --seconds 10 | tee -a "$results" >&2

  # Warm-up, not reported: the cloud's first seconds of load are spent compiling its hot path (tiered JIT), which
  # would be charged to the first ramp step's messages in the cost table.
  say "bench ingest: warm-up, 5000 msg/s for 10 s (not reported)"
  dotnet "$sim" load --mqtt-url "$PILOTS_MQTT_URL" --rate 5000 --seconds 10 --gateways "$gateways" --site warmup \
    --stats-url "$stats" --drain "$drain" >/dev/null

  local rate site best=0
  for rate in $rates; do
    site="ramp-$rate"
    say "bench ingest: $rate msg/s for 10 s"
    dotnet "$sim" load --mqtt-url "$PILOTS_MQTT_URL" --rate "$rate" --seconds 10 --gateways "$gateways" --site "$site" \
      --stats-url "$stats" --drain "$drain" --cpu-pids "$pids" | tail -n 1 | bench_ingest_loadavg >>"$results"
    bench_ingest_count "$site" >>"$results"
    tail -n 2 "$results" | sed 's/^/  /' >&2
    if python3 - "$results" "$site" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
load = [r for r in rows if r.get("result") == "load" and r["site"] == sys.argv[2]][-1]
count = [r for r in rows if r.get("result") == "count" and r["site"] == sys.argv[2]][-1]
ok = count["stored"] == load["sent"] and load["maxLagS"] is not None and load["maxLagS"] <= 2 and load["sendRate"] >= 0.95 * load["offered"]
sys.exit(0 if ok else 1)
PY
    then best=$rate; else break; fi
  done
  [ "$best" -gt 0 ] || say "bench ingest: not even the first ramp step was stored in real time and losslessly"

  local peak over
  peak=$(python3 -c "import json,sys; print(int(max([r.get('peakStoredRate') or 0 for r in map(json.loads, open(sys.argv[1])) if r.get('result')=='load'])))" "$results")
  over=$((peak * 2))
  say "bench ingest: overload, $over msg/s (twice the peak stored rate $peak) for 20 s (sending bounded at 22 s, drain at $drain s)"
  dotnet "$sim" load --mqtt-url "$PILOTS_MQTT_URL" --rate "$over" --seconds 20 --gateways "$gateways" --site overload \
    --stats-url "$stats" --drain "$drain" --cpu-pids "$pids" >"$dir/overload.jsonl"
  tail -n 1 "$dir/overload.jsonl" | bench_ingest_loadavg >>"$results"
  bench_ingest_count overload >>"$results"
  python3 - "$results" "$dir/overload.jsonl" "$best" "$(nproc)" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
best, cores = int(sys.argv[3]), int(sys.argv[4])
target = 40_000  # issue 9: lossless and real time at >= 40k msg/s
direct = next(r for r in rows if r.get("result") == "direct")
loads = [r for r in rows if r.get("result") == "load"]
counts = {r["site"]: r["stored"] for r in rows if r.get("result") == "count"}
def f(v, fmt="{:,.0f}"):
    return "-" if v is None else fmt.format(v)
print(f"{'run':<14}{'offered/s':>11}{'sent/s':>10}{'unsent':>9}{'stored/s':>10}{'peak/s':>10}{'min/s':>10}{'max lag s':>10}{'drain/s':>10}{'lost':>8}{'load avg':>10}")
for r in loads:
    lost = r["sent"] - counts.get(r["site"], 0)
    print(f"{r['site']:<14}{f(r['offered']):>11}{f(r['sendRate']):>10}{f(r.get('unsent')):>9}{f(r['loadedStoredRate']):>10}{f(r['peakStoredRate']):>10}{f(r['minStoredRate']):>10}"
          f"{f(r['maxLagS'], '{:.1f}'):>10}{f(r['drainRate']):>10}{lost:>8}{r.get('loadAvg', '-'):>10}")
ov = loads[-1]
peak = max(r["peakStoredRate"] or 0 for r in loads)
ratio = (ov["minStoredRate"] or 0) / peak if peak else None
drain_ratio = (ov["drainRate"] or 0) / peak if peak else None
lost = sum(r["sent"] - counts.get(r["site"], 0) for r in loads)
print(f"direct line-protocol writes: {direct['pointsPerSecond']:,.0f} points/s (one point per message)")
print(f"real time and lossless up to {best:,} msg/s; that is {best / direct['pointsPerSecond']:.0%} of the direct-write ceiling")
print(f"overload: lowest stored rate while loaded {f(ov['minStoredRate'])}/s = {f(ratio, '{:.0%}')} of the peak {peak:,.0f}/s; drain {f(ov['drainRate'])}/s = {f(drain_ratio, '{:.0%}')} of the peak; "
      f"lost {ov['sent'] - counts.get('overload', 0)}; unsent (generator held back past the bound) {f(ov.get('unsent'))}")
print("stored rate during the overload run (msg/s, 2 s windows):")
samples = [json.loads(l) for l in open(sys.argv[2]) if l.startswith('{"t"')]
line = []
for i, s in enumerate(samples):
    prev = next((p for p in reversed(samples[:i]) if p["t"] <= s["t"] - 2), None)
    if prev and s["stored"] is not None and prev["stored"] is not None and int(s["t"]) % 4 == 0:
        line.append(f"t={s['t']:.0f}s {(s['stored'] - prev['stored']) / (s['t'] - prev['t']):,.0f}")
print("  " + "; ".join(dict.fromkeys(line)))

# Cost per message, from CPU time: the runs' totals, so short runs weigh less. The ramp's runs give the steady
# state; the overload run is shown apart, since a backlog costs more per message (the broker queues and persists
# it, the cloud's window refreshes redeliver some).
def costs(runs):
    cpu, msgs = {}, 0
    for r in runs:
        if r.get("cpuSeconds") and r.get("cpuMessages"):
            msgs += r["cpuMessages"]
            for name, secs in r["cpuSeconds"].items():
                cpu[name] = cpu.get(name, 0) + secs
    return ({name: secs / msgs * 1000 for name, secs in cpu.items()} if msgs else {}), msgs
cost, msgs = costs(loads[:-1])
over_cost, over_msgs = costs(loads[-1:])
total = sum(cost.values())
over_total = sum(over_cost.values())
capacity = cores * 1000 / total if total else None
print(f"CPU cost per 1000 messages (ramp runs, {msgs:,} messages; overload run apart, {over_msgs:,}): CPU time, not wall time")
for name, ms in sorted(cost.items(), key=lambda kv: -kv[1]):
    print(f"  {name:<10}{ms * 1000:>8.1f} ms   {ms * target / 1000:>5.2f} cores at {target:,} msg/s   overload {over_cost.get(name, 0) * 1000:>6.1f} ms")
if total:
    print(f"  {'sum':<10}{total * 1000:>8.1f} ms   {total * target / 1000:>5.2f} cores at {target:,} msg/s   overload {over_total * 1000:>6.1f} ms; "
          f"this box has {cores}: at best {capacity:,.0f} msg/s")
checks = {
    f"lossless and real time at >= {target:,} msg/s": best >= target,
    "overload: lowest stored rate >= 80 % of the peak": ratio is not None and ratio >= 0.8,
    # No backlog left when sending stopped (all stored by then) leaves nothing to drain: not a failure.
    "backlog drains at >= 80 % of the peak": (drain_ratio is not None and drain_ratio >= 0.8) or (ov["drainRate"] is None and (ov.get("stored") or 0) >= ov["sent"] and ov.get("drainS") is None and (ov["maxLagS"] or 0) <= 2),
    "nothing lost": lost == 0,
}
for what, ok in checks.items():
    print(f"{'PASS' if ok else 'FAIL'}  {what}")
print(json.dumps({"bench": "ingest", "realtimeLosslessMsgPerS": best, "directWritePointsPerS": direct["pointsPerSecond"],
    "realtimeToDirectRatio": round(best / direct["pointsPerSecond"], 3), "peakStoredMsgPerS": round(peak),
    "overloadOfferedMsgPerS": ov["offered"], "overloadSentMsgPerS": round(ov["sendRate"]), "overloadUnsent": ov.get("unsent"),
    "overloadMinStoredMsgPerS": None if ov["minStoredRate"] is None else round(ov["minStoredRate"]),
    "overloadMeanStoredMsgPerS": None if ov["loadedStoredRate"] is None else round(ov["loadedStoredRate"]),
    "overloadMinToPeak": None if ratio is None else round(ratio, 3),
    "drainMsgPerS": None if ov["drainRate"] is None else round(ov["drainRate"]),
    "drainToPeak": None if drain_ratio is None else round(drain_ratio, 3),
    "lost": lost,
    "cpuMsPer1000Msgs": {k: round(v * 1000, 1) for k, v in cost.items()},
    "overloadCpuMsPer1000Msgs": {k: round(v * 1000, 1) for k, v in over_cost.items()},
    "capacityMsgPerS": None if capacity is None else round(capacity), "cores": cores,
    "loadAvg": [r.get("loadAvg") for r in loads],
    "pass": all(checks.values()), "checks": {k: v for k, v in checks.items()}}))
PY
}

# bench_ingest_loadavg : adds the 1-minute load average to the JSON line on stdin (the box is shared; say how busy).
bench_ingest_loadavg() {
  python3 -c "import json,sys; r=json.loads(sys.stdin.read()); r['loadAvg']=open('/proc/loadavg').read().split()[0]; print(json.dumps(r))"
}

# bench_ingest_count SITE : one JSON line with the telemetry points InfluxDB holds for a load run's site.
bench_ingest_count() {
  curl -fsG "$PILOTS_INFLUX_URL/query" --data-urlencode "db=$PILOTS_INFLUX_DB" \
    --data-urlencode "q=SELECT count(do_mg_l) FROM telemetry WHERE site = '$1'" |
    python3 -c "import json,sys; d=json.load(sys.stdin); s=d['results'][0].get('series'); print(json.dumps({'result':'count','site':sys.argv[1],'stored': s[0]['values'][0][1] if s else 0}))" "$1"
}
