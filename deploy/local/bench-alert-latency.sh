# shellcheck shell=bash
# ./run bench alert-latency: from a reading's publish to the webhook's receipt (issue 10, Bench), for a threshold rule
# with no hold time, under a background load of 10k readings/s (firmware-sim load: 3,334 msg/s of 3 readings).
# Mosquitto, InfluxDB and the cloud (ingestion, rules engine, notifications with PILOTS_WEBHOOK_URL) run co-located
# on this box; firmware-sim alert-latency is both the publisher of the probe readings and the webhook receiver, so
# both ends are read from one clock. Target: p99 <= 250 ms. PILOTS_MQTT_URL / PILOTS_INFLUX_URL use existing servers.
# Tunables: PILOTS_BENCH_PROBES (measured probes, default 200), PILOTS_BENCH_LOAD_MSG_S (default 3334).

bench_alert_latency_main() {
  local sim cloud_dll port hook probes rate load_pid status
  # Global, not local: the EXIT trap runs after this function has returned.
  BENCH_ALERT_DIR="$PILOTS_ROOT/.pilots/bench-alert-latency-$$"
  local dir=$BENCH_ALERT_DIR
  sim="$PILOTS_ROOT/firmware-sim/IoTPilots.FirmwareSim/bin/Release/net10.0/IoTPilots.FirmwareSim.dll"
  cloud_dll="$PILOTS_ROOT/cloud/IoTPilots.Cloud/bin/Release/net10.0/IoTPilots.Cloud.dll"
  probes=${PILOTS_BENCH_PROBES:-200}
  rate=${PILOTS_BENCH_LOAD_MSG_S:-3334}
  ensure_server_packages
  trap 'stop_all; rm -rf "$BENCH_ALERT_DIR"' EXIT
  start_mosquitto "$dir"
  start_influxdb "$dir"
  # The probe rule: the load's devices (dev-NN, DO about 5 mg/L) never match it; the probe's lat-NNNN devices
  # alternate 2.0 (raised) and 4.0 (resolved). No hold: the first reading below 3.0 decides.
  cat >"$dir/rules.yaml" <<'RULES'
rules:
  - { id: do-latency, kind: threshold, pilot: aquaculture, device: "lat-*", field: do_mg_l, below: 3.0, clear: 3.5, severity: critical, source: BENCH }
RULES
  port=$(free_port 5990)
  hook=$(free_port 5991)
  [ "$hook" != "$port" ] || hook=$(free_port $((port + 2)))
  PILOTS_INGEST_GROUP=bench PILOTS_ALERT_DB="$dir/alerts.db" PILOTS_RULES="$dir/rules.yaml" \
    PILOTS_WEBHOOK_URL="http://127.0.0.1:$hook/hook" \
    start_bg "$dir/logs/cloud.log" dotnet "$cloud_dll" --urls "http://127.0.0.1:$port"
  local deadline=$((SECONDS + 60))
  until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && grep -q "Rules engine subscribed" "$dir/logs/cloud.log"; do
    [ $SECONDS -lt $deadline ] || { tail -n 20 "$dir/logs/cloud.log" >&2; die "the cloud did not answer /healthz and subscribe within 60 s"; }
    sleep 0.3
  done

  say "bench alert-latency: background load $rate msg/s x 3 readings; $probes probes (10 warm-up probes not counted)"
  dotnet "$sim" load --mqtt-url "$PILOTS_MQTT_URL" --rate "$rate" --seconds 100 --gateways 20 --site load >"$dir/logs/load.log" 2>&1 &
  load_pid=$!
  PILOTS_PIDS+=("$load_pid")
  # Let the load reach its rate before measuring.
  sleep 3
  status=0
  export PILOTS_API_KEY; PILOTS_API_KEY=$(dotnet "$cloud_dll" users --db "$dir/users.db" key-add bench --role viewer --sites '*' 2>/dev/null) || die "could not make the stats key"
  dotnet "$sim" alert-latency --mqtt-url "$PILOTS_MQTT_URL" --webhook-port "$hook" --probes "$probes" --site latency \
    --stats-url "http://127.0.0.1:$port/api/ingestion/stats" >"$dir/result.txt" || status=$?
  kill -0 "$load_pid" 2>/dev/null || { tail -n 5 "$dir/logs/load.log" >&2; say "bench alert-latency: the background load ended early"; }
  grep -E "Notification .* failed|Unhandled" "$dir/logs/cloud.log" | head -n 5 >&2 || true
  [ "$status" -eq 0 ] || say "bench alert-latency: some probes got no webhook within 5 s (see missed)"
  # Where the time goes, from the alert store: the reading's sampling time (taken just before its publish) to the
  # outbox row's creation (MQTT, decoding, the rules engine, the SQLite transaction), and from there to the
  # webhook's answer (the dispatcher's wake-up, the HTTP POST and its reply).
  python3 - "$dir/alerts.db" <<'PY' >&2 || true
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    "SELECT created_at_ms - at_ms, sent_at_ms - created_at_ms FROM outbox WHERE channel = 'webhook' AND sent_at_ms IS NOT NULL").fetchall()
def p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(-(-len(values) * q // 1)) - 1))] if values else None
for name, i in (("published -> outbox row (ms)", 0), ("outbox row -> webhook answered (ms)", 1)):
    v = [r[i] for r in rows]
    print(f"  {name:<38} p50 {p(v, .5)}  p95 {p(v, .95)}  p99 {p(v, .99)}  max {p(v, 1)}  ({len(v)} rows)")
PY
  cat "$dir/result.txt"
}
