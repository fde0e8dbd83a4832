# shellcheck shell=bash
# ./run gateways list | push GATEWAY FILE [--hours N] [--url URL]: a client of a running cloud's gateways API
# (cloud/IoTPilots.Cloud/Commands/GatewaysCommand.cs). The API key comes from PILOTS_API_KEY; the cloud from --url,
# else PILOTS_CLOUD_URL, else http://127.0.0.1:5080 (the demo's). Bad input: exit 2 naming the argument.
source "$PILOTS_ROOT/deploy/local/build.sh"

gateways_main() {
  build_one cloud/IoTPilots.Cloud gateways
  dotnet "$(bin_dll cloud/IoTPilots.Cloud)" gateways "$@"
}
