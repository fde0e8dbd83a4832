# shellcheck shell=bash
# ./run test: every test project of the solution. Integration tests start their own Mosquitto and InfluxDB
# on free loopback ports (or use PILOTS_MQTT_URL / PILOTS_INFLUX_URL); this only makes sure they are installed.
test_main() {
  need_dotnet
  ensure_server_packages
  ensure_nats_server
  ensure_interop_tools
  ensure_browser
  mkdir -p "$PILOTS_ROOT/.pilots"
  local out="$PILOTS_ROOT/.pilots/test-output.log" rc=0 filter="Category!=Hardware" publish=1
  # --hardware: only the tests that need sensors wired to this machine (see tests/README.md), no publish.
  if [ "${1:-}" = "--hardware" ]; then filter="Category=Hardware"; publish=0; shift; fi
  [ $publish = 0 ] || publish_native || rc=1
  dotnet test "$PILOTS_ROOT/IoTPilots.sln" -c Release -nologo -warnaserror --filter "$filter" "$@" 2>&1 | tee "$out" || rc=$?
  [ $publish = 0 ] || publish_check || rc=1
  # One closing line in the plain form CI reads: 'N passed, N failed, N skipped'.
  awk '/(Passed|Failed)!/ {
         for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1));
           if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
       END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$out"
  return $rc
}

# Reference Modbus implementations the stack is tested against (tests/IoTPilots.IntegrationTests/Interop):
# pymodbus as a slave, mbpoll as a master. Here they are required: a missing one fails its test, not skips it.
ensure_interop_tools() {
  local missing=()
  /usr/bin/python3 -c "import pymodbus, serial_asyncio" >/dev/null 2>&1 || missing+=(python3-pymodbus python3-serial-asyncio)
  [ -x /usr/bin/mbpoll ] || missing+=(mbpoll)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  export PILOTS_INTEROP_REQUIRED=1
}

# Debian's Chromium for the alert console's browser tests (Playwright drives it; its own browser downloads are
# never used). Here it is required: a missing browser fails those tests instead of skipping them.
ensure_browser() {
  [ -x /usr/bin/chromium ] || apt_install chromium
  export PILOTS_BROWSER_REQUIRED=1
}

# The edge compiled ahead of time to native code for this machine (edge README, "Native build"), before the tests,
# which run it (NativeEdgeTests). Warnings are errors here too, so code the trimmer cannot follow fails the build.
# gcc (or clang) links it; .NET 9 and later fall back to gcc when clang is absent.
publish_native() {
  local rid out="$PILOTS_ROOT/.pilots/native"
  case "$(uname -m)" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) say "run: no native edge build for $(uname -m)"; return 0 ;; esac
  command -v gcc >/dev/null 2>&1 || command -v clang >/dev/null 2>&1 || apt_install gcc libc6-dev
  rm -rf "$out"
  dotnet publish "$PILOTS_ROOT/edge/IoTPilots.Edge" -c Release -r "$rid" -p:PublishAot=true -nologo -v quiet -o "$out/edge-$rid" >"$PILOTS_ROOT/.pilots/publish-native.log" 2>&1 \
    && [ -x "$out/edge-$rid/IoTPilots.Edge" ] \
    || { tail -n 20 "$PILOTS_ROOT/.pilots/publish-native.log" >&2; say "run: the native edge build for $rid failed"; return 1; }
  export PILOTS_EDGE_NATIVE="$out/edge-$rid/IoTPilots.Edge" PILOTS_NATIVE_REQUIRED=1
  say "run: edge compiled to native code for $rid: $PILOTS_EDGE_NATIVE"
}

# The gateway builds: self-contained linux-arm64, and the portable build for 32-bit gateways.
publish_check() {
  local out="$PILOTS_ROOT/.pilots/publish"
  rm -rf "$out"
  dotnet publish "$PILOTS_ROOT/edge/IoTPilots.Edge" -c Release -r linux-arm64 --self-contained -nologo -v quiet -o "$out/edge-linux-arm64" >"$PILOTS_ROOT/.pilots/publish.log" 2>&1 \
    && dotnet publish "$PILOTS_ROOT/edge/IoTPilots.Edge" -c Release -nologo -v quiet -o "$out/edge-portable" >>"$PILOTS_ROOT/.pilots/publish.log" 2>&1 \
    && [ -x "$out/edge-linux-arm64/IoTPilots.Edge" ] && [ -f "$out/edge-linux-arm64/profiles/renke-rs-ldo.yaml" ] \
    || { tail -n 20 "$PILOTS_ROOT/.pilots/publish.log" >&2; say "run: edge publish for linux-arm64 failed"; return 1; }
  say "run: edge published for linux-arm64 (self-contained) and portable: $out"
}
