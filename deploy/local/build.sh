# shellcheck shell=bash
# Builds the solution once, in Release, and names the entry points.
build_all() {
  say "run: building (dotnet build -c Release)"
  dotnet build "$PILOTS_ROOT/IoTPilots.sln" -c Release -nologo -v quiet -clp:NoSummary -warnaserror >"$PILOTS_ROOT/.pilots/build.log" 2>&1 \
    || { grep -E "error|warning" "$PILOTS_ROOT/.pilots/build.log" | sort -u | head -n 30 >&2; die "build failed (full log: .pilots/build.log)"; }
}
bin_dll() { echo "$PILOTS_ROOT/$1/bin/Release/net10.0/$(basename "$1").dll"; }
# Builds one project (for a one-off command: ./run gateways), its errors to stderr, the log in .pilots/build-NAME.log.
build_one() {
  need_dotnet
  mkdir -p "$PILOTS_ROOT/.pilots"
  dotnet build "$PILOTS_ROOT/$1" -c Release -nologo -v quiet -clp:NoSummary >"$PILOTS_ROOT/.pilots/build-$2.log" 2>&1 \
    || { grep -E "error" "$PILOTS_ROOT/.pilots/build-$2.log" | sort -u | head -n 20 >&2; die "build failed (log: .pilots/build-$2.log)"; }
}
