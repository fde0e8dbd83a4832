# shellcheck shell=bash
# ./run report --pilot P [--from ISO] [--to ISO] [--baseline-from ISO --baseline-to ISO] [--lang vi|en] [--format html|md|pdf]
# [--out FILE]: the pilot evaluation report (HTML in Vietnamese by default, with FILE.csv and FILE.json of its figures).
# Reads the last demo's data (.pilots/demo: InfluxDB data, alert store, rules) unless PILOTS_INFLUX_URL,
# PILOTS_ALERT_DB and PILOTS_RULES name others.
source "$PILOTS_ROOT/deploy/local/build.sh"

report_main() {
  need_dotnet
  local state="$PILOTS_ROOT/.pilots/demo"
  mkdir -p "$PILOTS_ROOT/.pilots"
  dotnet build "$PILOTS_ROOT/cloud/IoTPilots.Cloud" -c Release -nologo -v quiet -clp:NoSummary >"$PILOTS_ROOT/.pilots/build-report.log" 2>&1 \
    || { grep -E "error" "$PILOTS_ROOT/.pilots/build-report.log" | sort -u | head -n 20 >&2; die "build failed (log: .pilots/build-report.log)"; }
  if [ -z "${PILOTS_INFLUX_URL:-}" ]; then
    [ -d "$state/influxdb" ] || die "no demo data in .pilots/demo: run './run demo --minutes N' first, or set PILOTS_INFLUX_URL"
    ensure_server_packages
    trap 'stop_all' EXIT
    # Only InfluxDB is needed; a dummy broker URL keeps start_servers from starting Mosquitto.
    PILOTS_MQTT_URL=mqtt://127.0.0.1:9 start_servers "$state" >/dev/null
  fi
  export PILOTS_ALERT_DB="${PILOTS_ALERT_DB:-$state/alerts.db}"
  [ -n "${PILOTS_RULES:-}" ] || { [ -d "$state/rules" ] && export PILOTS_RULES="$state/rules"; }
  dotnet "$(bin_dll cloud/IoTPilots.Cloud)" report "$@"
}
