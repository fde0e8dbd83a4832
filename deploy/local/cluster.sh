# shellcheck shell=bash
# ./run cluster [--nodes 3|1]: a NATS JetStream cluster on loopback for a try-out of the clustered ingestion mode
# (docs/scaling.md, "The clustered path"). Each node serves NATS clients, MQTT 3.1.1 (for the gateways) and JetStream,
# with its data under .pilots/cluster/nN. Prints the URLs to give the edge and the cloud, then waits for Ctrl-C.
# Sourced by ./run after servers.sh.

# nats_cluster_start DIR NODES : starts NODES nats-server processes (1 or 3) with JetStream and MQTT, and sets
# NATS_CLIENT_URLS (comma-separated), NATS_MQTT_PORTS (space-separated) and NATS_NODE_PIDS.
nats_cluster_start() {
  local dir=$1 nodes=$2 i routes="" cport mport
  local -a client cluster mqtt
  NATS_NODE_PIDS=()
  for ((i = 1; i <= nodes; i++)); do
    client[i]=$(free_port $((4221 + i)))
    cluster[i]=$(free_port $((6221 + i)))
    mqtt[i]=$(free_port $((1882 + i + 10)))
    routes+="${routes:+, }nats-route://127.0.0.1:${cluster[i]}"
  done
  for ((i = 1; i <= nodes; i++)); do
    mkdir -p "$dir/n$i" "$dir/logs"
    {
      # MQTT needs a server name and JetStream (nats-server docs, "MQTT"); its QoS 1 messages live in the stream
      # $MQTT_msgs, replicated as stream_replicas says.
      echo "server_name: n$i"
      echo "listen: 127.0.0.1:${client[i]}"
      echo "jetstream { store_dir: \"$dir/n$i/js\" }"
      if [ "$nodes" -gt 1 ]; then
        echo "cluster { name: pilots, listen: 127.0.0.1:${cluster[i]}, routes: [ $routes ] }"
        echo "mqtt { listen: 127.0.0.1:${mqtt[i]}, stream_replicas: 3 }"
      else
        echo "mqtt { listen: 127.0.0.1:${mqtt[i]}, stream_replicas: 1 }"
      fi
    } >"$dir/n$i/nats.conf"
    start_bg "$dir/logs/nats-n$i.log" "$(nats_server_bin)" -c "$dir/n$i/nats.conf"
    NATS_NODE_PIDS+=("${PILOTS_PIDS[-1]}")
  done
  NATS_CLIENT_URLS="" NATS_MQTT_PORTS=""
  for ((i = 1; i <= nodes; i++)); do
    wait_port "${client[i]}" 30 "nats-server n$i" "$dir/logs/nats-n$i.log"
    wait_port "${mqtt[i]}" 30 "nats-server n$i (MQTT)" "$dir/logs/nats-n$i.log"
    NATS_CLIENT_URLS+="${NATS_CLIENT_URLS:+,}nats://127.0.0.1:${client[i]}"
    NATS_MQTT_PORTS+="${NATS_MQTT_PORTS:+ }${mqtt[i]}"
  done
  # JetStream answers once the meta group has a leader; MQTT clients are refused until then.
  local deadline=$((SECONDS + 60))
  until grep -qE "JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader|Server is ready" "$dir/logs/nats-n1.log" \
        && { [ "$nodes" = 1 ] || grep -qhE "new metadata leader|metadata leader" "$dir"/logs/nats-n*.log; }; do
    [ $SECONDS -lt $deadline ] || die "the NATS cluster elected no JetStream leader within 60 s (logs: $dir/logs)"
    sleep 0.5
  done
}

cluster_main() {
  local nodes=3
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes=${2:-}; shift 2 ;;
      *) die "cluster: unknown option '$1' (usage: ./run cluster [--nodes 3|1])" ;;
    esac
  done
  [ "$nodes" = 1 ] || [ "$nodes" = 3 ] || die "cluster: --nodes must be 1 or 3, not '$nodes'"
  ensure_nats_server
  local dir="$PILOTS_ROOT/.pilots/cluster"
  rm -rf "$dir"
  trap stop_all EXIT
  trap 'exit 130' INT TERM
  nats_cluster_start "$dir" "$nodes"
  local first_mqtt=${NATS_MQTT_PORTS%% *} p
  say "run: NATS cluster of $nodes node(s) with JetStream and MQTT 3.1.1 (data and logs in $dir)"
  say ""
  say "  NATS clients (the cloud):  PILOTS_NATS_URL=$NATS_CLIENT_URLS"
  for p in $NATS_MQTT_PORTS; do say "  MQTT 3.1.1 (gateways):     mqtt://127.0.0.1:$p?protocol=3.1.1"; done
  say ""
  say "  a cloud worker:  PILOTS_NATS_URL=$NATS_CLIENT_URLS PILOTS_MQTT_URL='mqtt://127.0.0.1:$first_mqtt?protocol=3.1.1' \\"
  say "                   PILOTS_INGEST_WORKER=1 dotnet cloud/IoTPilots.Cloud/bin/Release/net10.0/IoTPilots.Cloud.dll"
  say "  a gateway:       PILOTS_MQTT_URL='mqtt://127.0.0.1:$first_mqtt?protocol=3.1.1' (edge settings as usual)"
  say "  kill a node:     kill -9 ${NATS_NODE_PIDS[*]:0:1}   (pids: ${NATS_NODE_PIDS[*]})"
  say ""
  say "Ctrl-C stops the cluster."
  printf '{"nats":"%s","mqtt":"%s","pids":"%s"}\n' "$NATS_CLIENT_URLS" "$NATS_MQTT_PORTS" "${NATS_NODE_PIDS[*]}"
  wait
}
