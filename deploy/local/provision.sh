# shellcheck shell=bash
# ./run provision: broker credentials from the edge inventories: a development CA, the broker's certificate, a
# password (or certificate) per gateway, the cloud's and a viewer's, Mosquitto's passwords, ACL and TLS config,
# and an env file per client. Written into .secrets/ (git-ignored) unless --out names another folder.
# The work is IoTPilots.Cloud's 'provision' command (cloud/IoTPilots.Cloud/Provisioning); deploy/README.md walks
# through installing what it writes.
source "$PILOTS_ROOT/deploy/local/build.sh"

provision_main() {
  local args=("$@") has_inventory=0 has_out=0 a
  for a in "$@"; do
    case "$a" in
      --inventory) has_inventory=1 ;;
      --out) has_out=1 ;;
    esac
  done
  # Without --inventory, the last demo's gateways (the simulator writes their inventories there).
  if [ $has_inventory = 0 ]; then
    # Exit 2, as for any other bad input: a usage error, not a failure to retry.
    [ -d "$PILOTS_ROOT/.pilots/demo/inventories" ] \
      || { say "run: provision: --inventory: name the gateways' inventories with --inventory FILE|DIR (or run './run demo' once to provision its gateways)"; exit 2; }
    say "run: provisioning the demo's gateways (.pilots/demo/inventories)"
    args+=(--inventory "$PILOTS_ROOT/.pilots/demo/inventories")
  fi
  [ $has_out = 1 ] || args+=(--out "$PILOTS_ROOT/.secrets")
  need_dotnet
  mkdir -p "$PILOTS_ROOT/.pilots"
  dotnet build "$PILOTS_ROOT/cloud/IoTPilots.Cloud" -c Release -nologo -v quiet -clp:NoSummary >"$PILOTS_ROOT/.pilots/build-provision.log" 2>&1 \
    || { grep -E "error" "$PILOTS_ROOT/.pilots/build-provision.log" | sort -u | head -n 20 >&2; die "build failed (log: .pilots/build-provision.log)"; }
  # Private keys and passwords: nothing here is readable by others, whatever the umask.
  umask 077
  dotnet "$(bin_dll cloud/IoTPilots.Cloud)" provision "${args[@]}"
}
