# shellcheck shell=bash
# ./run bench edge: what one gateway costs a Pi. The real edge agent polls a farm of simulated Modbus TCP devices
# (firmware-sim modbus-farm; by default 50 devices of 20 registers at 1 Hz, so 1,000 readings/s) and publishes to a
# Mosquitto on loopback. Per run: the agent's resident memory (VmRSS, its peak over the window) and CPU as a share
# of one core (utime+stime from /proc over the window), and the polls the farm answered. Then the Modbus
# transactions/s of the edge's master against one device. Each run measures two builds of the agent: on the .NET
# runtime, and compiled to native code (PublishAot). Runs PILOTS_BENCH_RUNS times (default 3) and prints the
# median with min and max per build; ends with one JSON line, also written to bench/results/edge.json. Sourced by bench.sh.
# shellcheck source=/dev/null
source "$PILOTS_ROOT/deploy/local/build.sh"

bench_edge_main() {
  local devices=${PILOTS_BENCH_DEVICES:-50} registers=${PILOTS_BENCH_REGISTERS:-20} runs=${PILOTS_BENCH_RUNS:-3}
  local warm=${PILOTS_BENCH_WARMUP_S:-20} window=${PILOTS_BENCH_WINDOW_S:-30}
  local dir="$PILOTS_ROOT/.pilots/bench-edge"
  rm -rf "$dir"
  mkdir -p "$dir/logs" "$PILOTS_ROOT/bench/results"
  (
    trap 'stop_all' EXIT
    trap 'exit 130' INT TERM
    start_mosquitto "$dir"
    start_bg "$dir/logs/farm.log" dotnet "$(bin_dll firmware-sim/IoTPilots.FirmwareSim)" modbus-farm \
      --devices "$devices" --registers "$registers" --inventory "$dir/edge.yaml" --queue-dir "$dir/queue"
    local deadline=$(( SECONDS + 60 )) first_port
    until first_port=$(grep -m1 -o 'first-port [0-9]*' "$dir/logs/farm.log" 2>/dev/null | cut -d' ' -f2) && [ -n "$first_port" ]; do
      [ $SECONDS -lt $deadline ] || { tail -n 20 "$dir/logs/farm.log" >&2; die "the Modbus farm did not start"; }
      sleep 0.2
    done
    # Someone must take the telemetry: with no subscriber the edge holds its queue (as it does while the cloud is down).
    local hostport=${PILOTS_MQTT_URL#*://}
    hostport=${hostport##*@}
    hostport=${hostport%%/*}
    command -v mosquitto_sub >/dev/null 2>&1 || apt_install mosquitto-clients
    start_bg "$dir/logs/sub.log" mosquitto_sub -h "${hostport%%:*}" -p "${hostport##*:}" -q 1 -t 'pilots/v1/+/+/+/telemetry' -F '%t'
    say "run: $devices Modbus TCP devices x $registers registers at 1 Hz, edge publishing to $PILOTS_MQTT_URL; ${warm} s warm-up, ${window} s window, $runs runs"
    # Two builds of the same agent: on the .NET runtime (the portable and self-contained publishes) and compiled
    # ahead of time to native code (PublishAot; edge README, "Native build"), which maps no JIT or framework files.
    local native="" rid
    case "$(uname -m)" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) rid="" ;; esac
    if [ -n "$rid" ]; then
      command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || apt_install clang
      say "run: publishing the agent as native code for $rid (dotnet publish -p:PublishAot=true)"
      if dotnet publish "$PILOTS_ROOT/edge/IoTPilots.Edge" -c Release -r "$rid" -p:PublishAot=true -nologo -v quiet -o "$dir/native" >"$dir/logs/publish-native.log" 2>&1; then
        native="$dir/native/IoTPilots.Edge"
      else
        tail -n 5 "$dir/logs/publish-native.log" >&2; say "run: the native build failed; measuring the runtime build only"
      fi
    fi
    local tck run build
    tck=$(getconf CLK_TCK)
    : >"$dir/runs.jsonl"
    for run in $(seq 1 "$runs"); do
      for build in runtime ${native:+native}; do
        rm -rf "$dir/queue"
        if [ "$build" = native ]; then
          PILOTS_MQTT_URL="$PILOTS_MQTT_URL" "$native" --inventory "$dir/edge.yaml" >"$dir/logs/edge-$run-$build.log" 2>&1 &
        else
          PILOTS_MQTT_URL="$PILOTS_MQTT_URL" dotnet "$(bin_dll edge/IoTPilots.Edge)" --inventory "$dir/edge.yaml" >"$dir/logs/edge-$run-$build.log" 2>&1 &
        fi
        local edge=$!
        sleep "$warm"
        kill -0 "$edge" 2>/dev/null || { tail -n 20 "$dir/logs/edge-$run-$build.log" >&2; die "the edge agent exited (log: $dir/logs/edge-$run-$build.log)"; }
        local t0 s0 t1 s1 rss=0 r anon file
        local w0=$EPOCHREALTIME
        t0=$(bench_edge_ticks "$edge"); s0=$(bench_edge_served "$dir")
        for _ in $(seq 1 "$window"); do
          sleep 1
          read -r r anon file < <(awk '/^VmRSS:/ {r=$2} /^RssAnon:/ {a=$2} /^RssFile:/ {f=$2} END {print r, a, f}' "/proc/$edge/status")
          [ "$r" -le "$rss" ] || rss=$r
        done
        t1=$(bench_edge_ticks "$edge"); s1=$(bench_edge_served "$dir")
        local elapsed
        elapsed=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$w0" "$EPOCHREALTIME")
        kill -TERM "$edge"; wait "$edge" 2>/dev/null || true
        # RSS splits into the agent's own memory (anonymous: heap, stacks, JIT code) and pages of the runtime's and
        # framework's files it maps, which the kernel shares and can evict; both are printed.
        python3 -c 'import json,sys; t,w,rss,s,tck,a,f=map(float,sys.argv[1:8]); print(json.dumps({"build": sys.argv[8], "cpuPctOfOneCore": round(100*t/tck/w,1), "rssMb": round(rss/1024,1), "rssAnonMb": round(a/1024,1), "rssFileMb": round(f/1024,1), "pollsPerS": round(s/w,1)}))' \
          "$(( t1 - t0 ))" "$elapsed" "$rss" "$(( s1 - s0 ))" "$tck" "$anon" "$file" "$build" | tee -a "$dir/runs.jsonl" | sed "s/^/  run $run: /" >&2
      done
      dotnet "$(bin_dll edge/IoTPilots.Edge)" bench modbus --address "127.0.0.1:$first_port" --registers "$registers" --seconds 5 \
        | awk '/^modbus-tps/ {print "{\"modbusTps\": " $2 "}"}' | tee -a "$dir/runs.jsonl" | sed "s/^/  run $run: /" >&2
    done
    python3 - "$dir/runs.jsonl" "$devices" "$registers" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$PILOTS_ROOT/bench/results/edge.json" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def stat(key, build=None):
    v = [r[key] for r in rows if key in r and r.get("build") == build]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": len(v)}
devices, registers = int(sys.argv[2]), int(sys.argv[3])
agent = ["cpuPctOfOneCore", "rssMb", "rssAnonMb", "rssFileMb", "pollsPerS"]
builds = [b for b in ("runtime", "native") if any(r.get("build") == b for r in rows)]
out = {"bench": "edge", "machine": f"{sys.argv[4]} cores, {sys.argv[5]}", "devices": devices, "registers": registers,
       "readingsPerS": devices * registers, "builds": {b: {k: stat(k, b) for k in agent} for b in builds},
       "modbusTps": stat("modbusTps"), "target": {"rssMb": 60, "cpuPctOfOneCore": 10}}
for b, figures in out["builds"].items():
    figures["pass"] = figures["rssMb"]["median"] <= 60 and figures["cpuPctOfOneCore"]["median"] <= 10
out["pass"] = any(f["pass"] for f in out["builds"].values())
print(f"{'figure':<34}{'median':>10}{'min':>10}{'max':>10}", file=sys.stderr)
labels = [("cpuPctOfOneCore", "agent CPU, % of one core"), ("rssMb", "agent RSS, MB (peak)"), ("rssAnonMb", "  of which anonymous, MB"), ("rssFileMb", "  of which mapped files, MB"), ("pollsPerS", "device polls answered per s")]
for b, figures in out["builds"].items():
    print(f"{b} build:", file=sys.stderr)
    for key, label in labels:
        s = figures[key]
        print(f"  {label:<32}{s['median']:>10}{s['min']:>10}{s['max']:>10}", file=sys.stderr)
    print(f"  target: RSS <= 60 MB and CPU <= 10 % of one core: {'PASS' if figures['pass'] else 'FAIL'}", file=sys.stderr)
s = out["modbusTps"]
print(f"{'Modbus transactions/s, one device':<34}{s['median']:>10}{s['min']:>10}{s['max']:>10}", file=sys.stderr)
line = json.dumps(out)
open(sys.argv[6], "w").write(line + "\n")
print(line)
PY
  )
}

bench_edge_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
bench_edge_served() { grep -o 'served [0-9]*' "$1/logs/farm.log" | tail -n 1 | cut -d' ' -f2; }
