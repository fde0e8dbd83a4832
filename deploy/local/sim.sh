# shellcheck shell=bash
# ./run sim [--scenario NAME[,NAME...]] [--seed N]: the simulators alone; prints every endpoint.
source "$PILOTS_ROOT/deploy/local/build.sh"

sim_main() {
  need_dotnet
  mkdir -p "$PILOTS_ROOT/.pilots/sim"
  build_all
  say "run: simulators starting; inventories for the edge go to .pilots/sim/inventories; Ctrl-C stops"
  exec dotnet "$(bin_dll firmware-sim/IoTPilots.FirmwareSim)" --inventory-dir "$PILOTS_ROOT/.pilots/sim/inventories" "$@"
}
