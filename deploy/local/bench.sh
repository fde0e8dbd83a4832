# shellcheck shell=bash
# ./run bench: performance figures (never asserted in tests), printed one per line.
bench_main() {
  need_dotnet
  mkdir -p "$PILOTS_ROOT/.pilots"
  { dotnet build "$PILOTS_ROOT/edge/IoTPilots.Edge" -c Release -nologo -v quiet -clp:NoSummary \
      && dotnet build "$PILOTS_ROOT/cloud/IoTPilots.Cloud" -c Release -nologo -v quiet -clp:NoSummary; } >"$PILOTS_ROOT/.pilots/build-bench.log" 2>&1 \
    || { grep -E "error" "$PILOTS_ROOT/.pilots/build-bench.log" | sort -u | head -n 20 >&2; die "build failed (log: .pilots/build-bench.log)"; }
  say "run: bench on $(nproc) cores, queue in ${TMPDIR:-/tmp}"
  dotnet "$PILOTS_ROOT/edge/IoTPilots.Edge/bin/Release/net10.0/IoTPilots.Edge.dll" bench
  dotnet "$PILOTS_ROOT/cloud/IoTPilots.Cloud/bin/Release/net10.0/IoTPilots.Cloud.dll" bench
}
