# shellcheck shell=bash
# ./run cluster [--nodes 3|1] [--secure [--inventory FILE|DIR]...]: a NATS JetStream cluster on loopback for a try-out
# of the clustered ingestion mode (docs/scaling.md, "The clustered path"). Each node serves NATS clients, MQTT 3.1.1
# (for the gateways) and JetStream, with its data under .pilots/cluster/nN. Prints the URLs to give the edge and the
# cloud, then waits for Ctrl-C. --secure: what `./run provision --broker nats` writes (TLS on every port, a login and
# permissions per gateway, the cloud's and the viewer's), provisioned for these ports into .pilots/cluster/secrets
# with a CA of its own (deploy/README.md, "The NATS mode"). Sourced by ./run after servers.sh.

# nats_cluster_start DIR NODES [SECRETS] : starts NODES nats-server processes (1 or 3) with JetStream and MQTT, and sets
# NATS_CLIENT_URLS (comma-separated), NATS_MQTT_PORTS (space-separated) and NATS_NODE_PIDS. With SECRETS, first
# provisions the NATS mode into that folder for node 1's ports, and each node includes its nats/ fragments.
nats_cluster_start() {
  local dir=$1 nodes=$2 secrets=${3:-} i routes="" cport mport rel scheme=nats
  local -a client cluster mqtt
  NATS_NODE_PIDS=()
  for ((i = 1; i <= nodes; i++)); do
    client[i]=$(free_port $((4221 + i)))
    cluster[i]=$(free_port $((6221 + i)))
    mqtt[i]=$(free_port $((1882 + i + 10)))
    routes+="${routes:+, }nats-route://127.0.0.1:${cluster[i]}"
  done
  if [ -n "$secrets" ]; then
    cluster_provision "$secrets" "${client[1]}" "${mqtt[1]}"
    scheme=tls
  fi
  for ((i = 1; i <= nodes; i++)); do
    mkdir -p "$dir/n$i" "$dir/logs"
    # nats-server 2.9 reads an include relative to the including file (deploy/nats/nats.conf).
    rel=${secrets:+$(realpath --relative-to="$dir/n$i" "$secrets/nats")}
    {
      # MQTT needs a server name and JetStream (nats-server docs, "MQTT"); its QoS 1 messages live in the stream
      # $MQTT_msgs, replicated as stream_replicas says.
      echo "server_name: n$i"
      echo "listen: 127.0.0.1:${client[i]}"
      [ -z "$secrets" ] || echo "include \"$rel/security.conf\""
      echo "jetstream { store_dir: \"$dir/n$i/js\" }"
      if [ "$nodes" -gt 1 ]; then
        echo "cluster { name: pilots, listen: 127.0.0.1:${cluster[i]}, routes: [ $routes ]${secrets:+, include \"$rel/route-tls.conf\"} }"
        echo "mqtt { listen: 127.0.0.1:${mqtt[i]}, stream_replicas: 3${secrets:+, include \"$rel/mqtt-tls.conf\"} }"
      else
        echo "mqtt { listen: 127.0.0.1:${mqtt[i]}, stream_replicas: 1${secrets:+, include \"$rel/mqtt-tls.conf\"} }"
      fi
    } >"$dir/n$i/nats.conf"
    start_bg "$dir/logs/nats-n$i.log" "$(nats_server_bin)" -c "$dir/n$i/nats.conf"
    NATS_NODE_PIDS+=("${PILOTS_PIDS[-1]}")
  done
  NATS_CLIENT_URLS="" NATS_MQTT_PORTS=""
  for ((i = 1; i <= nodes; i++)); do
    wait_port "${client[i]}" 30 "nats-server n$i" "$dir/logs/nats-n$i.log"
    wait_port "${mqtt[i]}" 30 "nats-server n$i (MQTT)" "$dir/logs/nats-n$i.log"
    NATS_CLIENT_URLS+="${NATS_CLIENT_URLS:+,}$scheme://127.0.0.1:${client[i]}"
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

# cluster_provision SECRETS CLIENT_PORT MQTT_PORT : ./run provision --broker nats into SECRETS for node 1's ports, with the
# env files naming the CA where it is (the gateways of --inventory, or the last demo's).
cluster_provision() {
  local secrets=$1
  # shellcheck source=deploy/local/provision.sh
  source "$PILOTS_ROOT/deploy/local/provision.sh"
  mkdir -p "$secrets"
  provision_main --broker nats --out "$secrets" --nats-dir "$secrets/nats" --client-dir "$secrets/ca" --host localhost \
    --nats-port "$2" --port "$3" "${CLUSTER_INVENTORY_ARGS[@]}" >"$PILOTS_ROOT/.pilots/cluster-provision.log" \
    || { cat "$PILOTS_ROOT/.pilots/cluster-provision.log" >&2; die "cluster: provisioning the NATS mode failed"; }
}

cluster_main() {
  local nodes=3 secure=0
  CLUSTER_INVENTORY_ARGS=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes=${2:-}; shift 2 ;;
      --secure) secure=1; shift ;;
      --inventory) [ -n "${2:-}" ] || die "cluster: --inventory needs a file or folder"; CLUSTER_INVENTORY_ARGS+=(--inventory "$2"); shift 2 ;;
      *) die "cluster: unknown option '$1' (usage: ./run cluster [--nodes 3|1] [--secure [--inventory FILE|DIR]...])" ;;
    esac
  done
  [ "$nodes" = 1 ] || [ "$nodes" = 3 ] || die "cluster: --nodes must be 1 or 3, not '$nodes'"
  [ $secure = 1 ] || [ ${#CLUSTER_INVENTORY_ARGS[@]} = 0 ] || die "cluster: --inventory goes with --secure"
  ensure_nats_server
  local dir="$PILOTS_ROOT/.pilots/cluster"
  rm -rf "$dir"
  mkdir -p "$PILOTS_ROOT/.pilots"
  trap stop_all EXIT
  trap 'exit 130' INT TERM
  nats_cluster_start "$dir" "$nodes" "$([ $secure = 0 ] || echo "$dir/secrets")"
  local first_mqtt=${NATS_MQTT_PORTS%% *} p
  say "run: NATS cluster of $nodes node(s) with JetStream and MQTT 3.1.1 (data and logs in $dir)"
  say ""
  if [ $secure = 1 ]; then
    # The env files hold the passwords: point at them rather than print them.
    say "  secured: TLS on every port, a login per user (CA, users and env files in $dir/secrets; deploy/README.md)"
    say "  NATS clients (the cloud):  PILOTS_NATS_URL=$NATS_CLIENT_URLS with PILOTS_NATS_USER/_PASSWORD/_CA from secrets/cloud/cloud.env"
    for p in $NATS_MQTT_PORTS; do say "  MQTT 3.1.1 over TLS (gateways): mqtts://localhost:$p?protocol=3.1.1"; done
    say ""
    say "  a cloud worker:  (set -a; . $dir/secrets/cloud/cloud.env; set +a; PILOTS_INGEST_WORKER=1 \\"
    say "                    dotnet cloud/IoTPilots.Cloud/bin/Release/net10.0/IoTPilots.Cloud.dll)"
    say "  a gateway:       the variables of $dir/secrets/edge/GATEWAY.env (edge settings as usual)"
  else
    say "  NATS clients (the cloud):  PILOTS_NATS_URL=$NATS_CLIENT_URLS"
    for p in $NATS_MQTT_PORTS; do say "  MQTT 3.1.1 (gateways):     mqtt://127.0.0.1:$p?protocol=3.1.1"; done
    say ""
    say "  a cloud worker:  PILOTS_NATS_URL=$NATS_CLIENT_URLS PILOTS_MQTT_URL='mqtt://127.0.0.1:$first_mqtt?protocol=3.1.1' \\"
    say "                   PILOTS_INGEST_WORKER=1 dotnet cloud/IoTPilots.Cloud/bin/Release/net10.0/IoTPilots.Cloud.dll"
    say "  a gateway:       PILOTS_MQTT_URL='mqtt://127.0.0.1:$first_mqtt?protocol=3.1.1' (edge settings as usual)"
  fi
  say "  kill a node:     kill -9 ${NATS_NODE_PIDS[*]:0:1}   (pids: ${NATS_NODE_PIDS[*]})"
  say ""
  say "Ctrl-C stops the cluster."
  printf '{"nats":"%s","mqtt":"%s","pids":"%s","secure":%s}\n' "$NATS_CLIENT_URLS" "$NATS_MQTT_PORTS" "${NATS_NODE_PIDS[*]}" "$([ $secure = 1 ] && echo true || echo false)"
  wait
}
