# shellcheck shell=bash
# ./run probe URL --unit N --address A --count C [--table ...]: read registers once, print every decoding.
probe_main() {
  need_dotnet
  mkdir -p "$PILOTS_ROOT/.pilots"
  dotnet build "$PILOTS_ROOT/edge/IoTPilots.Edge" -c Release -nologo -v quiet -clp:NoSummary >"$PILOTS_ROOT/.pilots/build-probe.log" 2>&1 \
    || { grep -E "error" "$PILOTS_ROOT/.pilots/build-probe.log" | sort -u | head -n 20 >&2; die "build failed (log: .pilots/build-probe.log)"; }
  dotnet "$PILOTS_ROOT/edge/IoTPilots.Edge/bin/Release/net10.0/IoTPilots.Edge.dll" probe "$@"
}
