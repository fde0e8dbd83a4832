# shellcheck shell=bash
# ./run bench uplink: one gateway's uplink through the delaying relay (firmware-sim relay, 100 ms each way, so a
# 200 ms round trip), against a real Mosquitto, with mosquitto_sub on the broker counting what arrives: live at
# 500 msg/s, the largest burst, a 10,000-message backlog under 10 live msg/s, and loopback without the relay.
# Starts a throwaway Mosquitto on a free port unless PILOTS_MQTT_URL names a broker. Sourced by bench.sh.
# shellcheck source=/dev/null
source "$PILOTS_ROOT/deploy/local/build.sh"

bench_uplink_main() {
  local dir="$PILOTS_ROOT/.pilots/bench-uplink" one_way_ms=${PILOTS_BENCH_ONE_WAY_MS:-100} relay_port
  rm -rf "$dir"
  mkdir -p "$dir/logs"
  (
    trap 'stop_all' EXIT
    trap 'exit 130' INT TERM
    start_mosquitto "$dir"
    local upstream=${PILOTS_MQTT_URL#*://}
    upstream=${upstream##*@}
    start_bg "$dir/logs/relay.log" dotnet "$(bin_dll firmware-sim/IoTPilots.FirmwareSim)" relay --upstream "${upstream%%/*}" --delay-ms "$one_way_ms"
    local deadline=$(( SECONDS + 30 ))
    until relay_port=$(grep -m1 -o 'relay-port [0-9]*' "$dir/logs/relay.log" 2>/dev/null | cut -d' ' -f2) && [ -n "$relay_port" ]; do
      [ $SECONDS -lt $deadline ] || { tail -n 20 "$dir/logs/relay.log" >&2; die "the relay did not start"; }
      sleep 0.2
    done
    say "run: relay on 127.0.0.1:$relay_port, ${one_way_ms} ms each way, to $upstream"
    dotnet "$(bin_dll edge/IoTPilots.Edge)" bench uplink --broker "$PILOTS_MQTT_URL" \
      --via "mqtt://127.0.0.1:$relay_port" --rtt-ms $(( 2 * one_way_ms ))
  )
}
