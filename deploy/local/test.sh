# shellcheck shell=bash
# ./run test: every test project of the solution. Integration tests start their own Mosquitto and InfluxDB
# on free loopback ports (or use PILOTS_MQTT_URL / PILOTS_INFLUX_URL); this only makes sure they are installed.
test_main() {
  need_dotnet
  ensure_server_packages
  mkdir -p "$PILOTS_ROOT/.pilots"
  local out="$PILOTS_ROOT/.pilots/test-output.log" rc=0
  dotnet test "$PILOTS_ROOT/IoTPilots.sln" -c Release -nologo -warnaserror --filter "Category!=Hardware" "$@" 2>&1 | tee "$out" || rc=$?
  # One closing line in the plain form CI reads: 'N passed, N failed, N skipped'.
  awk '/(Passed|Failed)!/ {
         for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1));
           if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
       END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$out"
  return $rc
}
