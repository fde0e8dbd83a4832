# shellcheck shell=bash
# ./run users add|list|disable|enable|reset|key-add|key-list|key-revoke ...: the console's users and the API's keys
# (cloud/IoTPilots.Cloud/Access/UsersCommand.cs). The users file is --db FILE, else PILOTS_USERS_DB, else users.db
# beside PILOTS_ALERT_DB, else the last demo's (.pilots/demo/users.db). Bad input: exit 2 naming the argument.
source "$PILOTS_ROOT/deploy/local/build.sh"

users_main() {
  need_dotnet
  mkdir -p "$PILOTS_ROOT/.pilots"
  dotnet build "$PILOTS_ROOT/cloud/IoTPilots.Cloud" -c Release -nologo -v quiet -clp:NoSummary >"$PILOTS_ROOT/.pilots/build-users.log" 2>&1 \
    || { grep -E "error" "$PILOTS_ROOT/.pilots/build-users.log" | sort -u | head -n 20 >&2; die "build failed (log: .pilots/build-users.log)"; }
  if [ -z "${PILOTS_USERS_DB:-}" ] && [ -z "${PILOTS_ALERT_DB:-}" ]; then
    export PILOTS_USERS_DB="$PILOTS_ROOT/.pilots/demo/users.db"
  fi
  dotnet "$(bin_dll cloud/IoTPilots.Cloud)" users "$@"
}
