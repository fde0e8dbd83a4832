# shellcheck shell=bash
# Builds the solution once, in Release, and names the entry points.
build_all() {
  say "run: building (dotnet build -c Release)"
  dotnet build "$PILOTS_ROOT/IoTPilots.sln" -c Release -nologo -v quiet -clp:NoSummary -warnaserror >"$PILOTS_ROOT/.pilots/build.log" 2>&1 \
    || { grep -E "error|warning" "$PILOTS_ROOT/.pilots/build.log" | sort -u | head -n 30 >&2; die "build failed (full log: .pilots/build.log)"; }
}
bin_dll() { echo "$PILOTS_ROOT/$1/bin/Release/net10.0/$(basename "$1").dll"; }
