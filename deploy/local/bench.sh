# shellcheck shell=bash
# ./run bench [NAME...]: performance figures (never asserted in tests). Each bench prints a table and ends with
# one JSON line. Without a name, every bench runs. Benches that need servers start their own (or use
# PILOTS_MQTT_URL / PILOTS_INFLUX_URL), like the tests.
#   edge     one edge agent polling 50 simulated Modbus TCP devices x 20 registers at 1 Hz: its RSS and CPU,
#            and Modbus transactions/s against one device (deploy/local/bench-edge.sh)
#   edge-codec  encode/decode, queue append with fsync (in-process)
#   rules    rules engine and alert store rates (in-process)
#   uplink   one gateway through a delaying relay: live rate, backlog drain, lag  (deploy/local/bench-uplink.sh)
#   ingest   MQTT -> cloud -> InfluxDB: real-time ceiling, overload, direct-write ceiling (deploy/local/bench-ingest.sh)
#   fleet    10,000 devices at 1 msg/s through 3 workers, Mosquitto and a 3-node NATS cluster (deploy/local/bench-fleet.sh)
#   alert-latency  reading published -> webhook received, under 10k readings/s (deploy/local/bench-alert-latency.sh)
bench_main() {
  need_dotnet
  mkdir -p "$PILOTS_ROOT/.pilots"
  { dotnet build "$PILOTS_ROOT/edge/IoTPilots.Edge" -c Release -nologo -v quiet -clp:NoSummary \
      && dotnet build "$PILOTS_ROOT/cloud/IoTPilots.Cloud" -c Release -nologo -v quiet -clp:NoSummary \
      && dotnet build "$PILOTS_ROOT/firmware-sim/IoTPilots.FirmwareSim" -c Release -nologo -v quiet -clp:NoSummary; } >"$PILOTS_ROOT/.pilots/build-bench.log" 2>&1 \
    || { grep -E "error" "$PILOTS_ROOT/.pilots/build-bench.log" | sort -u | head -n 20 >&2; die "build failed (log: .pilots/build-bench.log)"; }
  say "run: bench on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), queue in ${TMPDIR:-/tmp}"
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || names=(edge-codec edge rules uplink ingest alert-latency fleet)
  local name
  for name in "${names[@]}"; do
    case "$name" in
      edge-codec) dotnet "$PILOTS_ROOT/edge/IoTPilots.Edge/bin/Release/net10.0/IoTPilots.Edge.dll" bench ;;
      rules) dotnet "$PILOTS_ROOT/cloud/IoTPilots.Cloud/bin/Release/net10.0/IoTPilots.Cloud.dll" bench ;;
      edge | uplink | ingest | fleet)
        [ -f "$PILOTS_ROOT/deploy/local/bench-$name.sh" ] || die "bench $name is not built yet"
        # shellcheck source=/dev/null
        source "$PILOTS_ROOT/deploy/local/bench-$name.sh"
        "bench_${name}_main" ;;
      alert-latency)
        # shellcheck source=/dev/null
        source "$PILOTS_ROOT/deploy/local/bench-alert-latency.sh"
        bench_alert_latency_main ;;
      *) die "unknown bench '$name' (edge, edge-codec, rules, uplink, ingest, alert-latency, fleet)" ;;
    esac
  done
}
