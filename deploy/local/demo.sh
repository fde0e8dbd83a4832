# shellcheck shell=bash
# ./run demo: everything from nothing, then a live one-line-per-interval summary.
source "$PILOTS_ROOT/deploy/local/build.sh"

GATEWAYS=(gw-aqua-01 gw-factory-01 gw-port-01)

demo_main() {
  local minutes="" scenario="baseline" sim_args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --minutes) [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--minutes needs a number"; minutes=$2; shift 2 ;;
      --scenario) [ $# -ge 2 ] || die "--scenario needs a name"; scenario=$2; shift 2 ;;
      # Checked by the simulator itself (a whole number of ms, and only with slow-link), which exits 2 naming it.
      --rtt-ms) [ $# -ge 2 ] || die "--rtt-ms needs a number of milliseconds"; sim_args+=(--rtt-ms "$2"); shift 2 ;;
      *) die "demo: unknown argument '$1' (expected --minutes N, --scenario NAME[,NAME...], --rtt-ms N)" ;;
    esac
  done

  need_dotnet
  ensure_server_packages
  local state="$PILOTS_ROOT/.pilots/demo"
  # Every demo starts from nothing: fresh broker, database, edge queues, logs and inventories, so the
  # delivery summary speaks of this run alone (a queue wiped between runs would restart its numbering).
  rm -rf "$state/logs" "$state/inventories" "$state/queues" "$state/mosquitto" "$state/influxdb" "$state/alerts.db"* "$state/users.db"* "$state/commands.db"* "$state/rules"
  mkdir -p "$state/logs" "$state/rules"
  # The shipped rules, plus demo-speed ones for the simulators' compressed time (deploy/local/demo-rules.yaml).
  cp "$PILOTS_ROOT/cloud/IoTPilots.Rules/rules/default.yaml" "$state/rules/10-default.yaml"
  cp "$PILOTS_ROOT/deploy/local/demo-rules.yaml" "$state/rules/20-demo.yaml"
  trap 'say "run: stopping"; stop_all' EXIT
  trap 'exit 130' INT TERM
  build_all
  DEMO_SINCE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  start_servers "$state"
  local servers=${#PILOTS_PIDS[@]}

  # The simulator serves all three pilots and writes each gateway's inventory; each gateway's uplink runs
  # through the simulator, so the link-outage scenario can cut it.
  start_bg "$state/logs/firmware-sim.log" dotnet "$(bin_dll firmware-sim/IoTPilots.FirmwareSim)" \
    --scenario "$scenario" "${sim_args[@]}" --seed 1 --inventory-dir "$state/inventories" --mqtt-url "$PILOTS_MQTT_URL"
  local deadline=$(( SECONDS + 60 ))
  until grep -q '^sim: ready' "$state/logs/firmware-sim.log" 2>/dev/null && [ -f "$state/inventories/gw-port-01.yaml" ]; do
    if ! kill -0 "${PILOTS_PIDS[-1]}" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      cat "$state/logs/firmware-sim.log" >&2
      die "firmware-sim did not start (log: .pilots/demo/logs/firmware-sim.log)"
    fi
    sleep 0.2
  done
  grep '^sim: ' "$state/logs/firmware-sim.log" | grep -v '^sim: inventory\|^sim: ready' >&2

  # Notifications (issue 10): unless PILOTS_WEBHOOK_URL names a receiver, a local one prints each alert event
  # as the farmer reads it (cloud/IoTPilots.Cloud/Notifications/DemoReceiver.cs).
  if [ -z "${PILOTS_WEBHOOK_URL:-}" ]; then
    local hook_port
    hook_port=$(free_port 5090)
    dotnet "$(bin_dll cloud/IoTPilots.Cloud)" receive --port "$hook_port" &
    PILOTS_PIDS+=($!)
    export PILOTS_WEBHOOK_URL="http://127.0.0.1:$hook_port/hook"
  fi

  local api_port admin_password
  api_port=$(free_port 5080)
  # Zero configuration behind a login (issue 11): an admin with a fresh random password, in the users file the cloud
  # finds beside its alert store. './run users' manages more while the demo runs.
  admin_password=$(dotnet "$(bin_dll cloud/IoTPilots.Cloud)" users --db "$state/users.db" add admin --role admin --sites '*' 2>/dev/null) \
    || die "could not create the demo's admin in .pilots/demo/users.db"
  # The cloud's summary lines, alerts, rules' automatic actions and the gateways' answers to them go to this terminal
  # as well as its log (issue 15: the aerator-failure scenario shows the backup aerator starting by itself).
  # Command keys (issue 15): one per gateway, so the aerator-failure rule can start a tank's backup aerator itself.
  local gw
  : >"$state/command-keys"
  for gw in "${GATEWAYS[@]}"; do
    printf '%s %s\n' "$gw" "$(head -c 32 /dev/urandom | base64 -w0)" >>"$state/command-keys"
  done
  chmod 600 "$state/command-keys"
  PILOTS_COMMAND_KEYS="$state/command-keys" PILOTS_ALERT_DB="$state/alerts.db" PILOTS_RULES="$state/rules" dotnet "$(bin_dll cloud/IoTPilots.Cloud)" --summary 5 --urls "http://127.0.0.1:$api_port" --registry "$state/inventories" \
    > >(tee -a "$state/logs/cloud.log" | grep --line-buffered -E '^ingest:|^ +Alert [0-9]+ (Raised|Resolved)|^ +Alert [0-9]+: rule|^ +Command c-[0-9a-f]+ at' \
      | sed -u -e 's/^ *//' -e 's/^Alert \([0-9]*\): rule \(.*\)$/automatic action for alert \1: rule \2/' -e 's/^Command \(c-[0-9a-f]*\) at \([^:]*\): /gateway \2 answered command \1: /') 2>>"$state/logs/cloud.log" &
  PILOTS_PIDS+=($!)
  # Edges start once the cloud is ready: /healthz answers 200 when its ingestion subscription exists (the very
  # first messages need a subscription to be kept for), 503 before.
  local cloud_pid=$! deadline2=$(( SECONDS + 60 ))
  until http_ok "$api_port" /healthz; do
    if ! kill -0 "$cloud_pid" 2>/dev/null || [ $SECONDS -ge $deadline2 ]; then
      tail -n 20 "$state/logs/cloud.log" >&2 || true
      die "the cloud did not become ready on http://127.0.0.1:$api_port/healthz (log: .pilots/demo/logs/cloud.log)"
    fi
    sleep 0.2
  done
  say "run: cloud ingestion on http://127.0.0.1:$api_port (ready: /healthz, stats: /api/ingestion/stats, alerts: /api/alerts)"
  say "run: alert console http://127.0.0.1:$api_port/ · live plant view http://127.0.0.1:$api_port/live"
  say "run: log in as: admin  password: $admin_password"
  for gw in "${GATEWAYS[@]}"; do
    ( [ -f "$state/inventories/$gw.env" ] && set -a && source "$state/inventories/$gw.env" && set +a
      PILOTS_COMMAND_KEY=$(awk -v gw="$gw" '$1 == gw {print $2}' "$state/command-keys") PILOTS_EDGE_STATE_DIR="$state/queues" exec dotnet "$(bin_dll edge/IoTPilots.Edge)" --inventory "$state/inventories/$gw.yaml" ) >>"$state/logs/edge-$gw.log" 2>&1 &
    PILOTS_PIDS+=($!)
  done
  say "run: edge agents ${GATEWAYS[*]} started (logs: .pilots/demo/logs/edge-*.log)"

  say "run: InfluxDB database '$PILOTS_INFLUX_DB' at $PILOTS_INFLUX_URL, measurement 'telemetry'"
  if [ -n "$minutes" ]; then
    say "run: scenario $scenario, running for $minutes minute(s); Ctrl-C stops earlier"
    sleep "$(awk "BEGIN { print $minutes * 60 }")"
  else
    say "run: scenario $scenario, running until Ctrl-C"
    while true; do sleep 3600; done
  fi

  # Stop the pipeline first, then show what InfluxDB holds while it still runs.
  local servers_pids=("${PILOTS_PIDS[@]:0:$servers}")
  PILOTS_PIDS=("${PILOTS_PIDS[@]:$servers}")
  stop_all
  PILOTS_PIDS=("${servers_pids[@]}")
  demo_report
}

# http_ok PORT PATH : true when GET http://127.0.0.1:PORT/PATH answers 2xx. Bash's /dev/tcp, as port_busy: ./run
# needs nothing beyond the .NET SDK (no curl on a minimal Debian).
http_ok() {
  local status
  status=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$1" >&3 && head -n 1 <&3' "$1" "$2" 2>/dev/null) || return 1
  [[ "$status" =~ ^HTTP/[0-9.]+\ 2[0-9][0-9] ]]
}

influx_query() { dotnet "$(bin_dll cloud/IoTPilots.Cloud)" query "$1"; }

demo_report() {
  local since="time >= '$DEMO_SINCE'"
  say "run: what InfluxDB holds now:"
  influx_query "SELECT count(do_mg_l) AS points, min(do_mg_l) AS min_do_mg_l, last(do_mg_l) AS last_do_mg_l FROM telemetry WHERE pilot = 'aquaculture' AND $since GROUP BY pilot, device" || true
  influx_query "SELECT count(zone_temp_c) AS points, last(zone_temp_c) AS last_zone_temp_c FROM telemetry WHERE pilot = 'factory' AND $since GROUP BY pilot, device" || true
  influx_query "SELECT max(cooling_out_temp_c) - min(cooling_in_temp_c) AS max_cooling_dt_c, min(cooling_flow_in_m3_h) AS min_flow_m3_h FROM telemetry WHERE pilot = 'factory' AND $since GROUP BY device" || true
  influx_query "SELECT count(vib_mm_s) AS points, max(vib_mm_s) AS max_vib_mm_s, max(wind_m_s) AS max_wind_m_s FROM telemetry WHERE pilot = 'port' AND $since GROUP BY pilot, device" || true
  influx_query "SELECT count(quality) AS not_good FROM telemetry_quality WHERE $since GROUP BY device, \"field\"" || true
  influx_query "SELECT last(received) AS received, last(missing) AS missing, last(dropped) AS dropped FROM delivery GROUP BY gateway" || true
  influx_query "SELECT \"rule\", severity, device, \"field\", value, message FROM alerts WHERE event = 'raised' AND $since" || true
  local pilots
  pilots=$(influx_query "SHOW TAG VALUES FROM telemetry WITH KEY = \"pilot\"" 2>/dev/null || true)
  local p missing=""
  for p in aquaculture factory port; do
    grep -qw "$p" <<<"$pilots" || missing="$missing $p"
  done
  [ -z "$missing" ] || die "InfluxDB holds no readings for:$missing (logs: .pilots/demo/logs/)"
  say "run: readings from all three pilots are in InfluxDB"
  mkdir -p "$state/reports"
  # No --from: the report starts at the pilot's first reading, which is this run's (the demo starts from nothing).
  for p in aquaculture factory port; do
    PILOTS_ALERT_DB="$state/alerts.db" PILOTS_RULES="$state/rules" dotnet "$(bin_dll cloud/IoTPilots.Cloud)" report \
      --pilot "$p" --format md --out "$state/reports/$p.md" >/dev/null || die "the $p evaluation report failed"
    # The program manager's report: self-contained HTML in Vietnamese, with a CSV and a JSON of its figures beside it.
    PILOTS_ALERT_DB="$state/alerts.db" PILOTS_RULES="$state/rules" dotnet "$(bin_dll cloud/IoTPilots.Cloud)" report \
      --pilot "$p" --lang vi --format html --out "$state/reports/$p.html" >/dev/null || die "the $p evaluation report (HTML) failed"
    say "run: $p evaluation (full report: .pilots/demo/reports/$p.md; for the program manager: .pilots/demo/reports/$p.html):"
    sed -n '/^## Summary/,/^## Data availability/p' "$state/reports/$p.md" | grep '^- ' >&2
  done
}
