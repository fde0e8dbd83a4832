using System.Text.Json;
using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

/// <summary>Every dashboard panel's InfluxQL runs against a real InfluxDB holding every measurement the platform writes.</summary>
[Collection(ServersCollection.Name)]
public sealed class DashboardTests(Servers servers)
{
    private static string Repo()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "IoTPilots.sln")))
        {
            dir = dir.Parent;
        }

        return dir.FullName;
    }

    public static IEnumerable<object[]> Panels()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(Repo(), "dashboards", "json"), "*.json").Order())
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var panel in doc.RootElement.GetProperty("panels").EnumerateArray())
            {
                var query = panel.GetProperty("targets")[0].GetProperty("query").GetString()!;
                yield return [Path.GetFileName(file), panel.GetProperty("title").GetString()!, query];
            }
        }
    }

    [Fact]
    public void Dashboards_use_the_provisioned_datasource_and_have_unique_ids()
    {
        var provisioning = File.ReadAllText(Path.Combine(Repo(), "dashboards", "provisioning", "datasources", "influxdb.yaml"));
        Assert.Contains("uid: pilots-influx", provisioning, StringComparison.Ordinal);
        var uids = new HashSet<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(Repo(), "dashboards", "json"), "*.json"))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            Assert.True(uids.Add(doc.RootElement.GetProperty("uid").GetString()!), $"{file}: duplicate dashboard uid");
            foreach (var panel in doc.RootElement.GetProperty("panels").EnumerateArray())
            {
                Assert.Equal("pilots-influx", panel.GetProperty("datasource").GetProperty("uid").GetString());
            }
        }

        Assert.Equal(4, uids.Count);
    }

    [Theory]
    [MemberData(nameof(Panels))]
    public async Task Panel_query_runs_and_returns_data(string dashboard, string title, string query)
    {
        var influx = await servers.NewDatabaseAsync("dash");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var tags = "device=dev-1,gateway=gw-1,site=s";
        await influx.WriteAsync(
        [
            $"telemetry,{tags},pilot=aquaculture do_mg_l=6.5,temp_c=28.4,ph=8.0,tan_mg_l=0.4,salinity_ppt=20,aerator_current_a=4.6 {now - 60_000}",
            $"telemetry,{tags},pilot=aquaculture do_mg_l=6.4,temp_c=28.5,ph=8.1,tan_mg_l=0.5,salinity_ppt=20,aerator_current_a=4.6 {now - 30_000}",
            $"telemetry,{tags},pilot=factory zone_temp_c=1150,cooling_in_temp_c=30,cooling_out_temp_c=50,cooling_flow_in_m3_h=33.5,cooling_flow_out_m3_h=33.4,power_kw=1800,shell_temp_4_c=200 {now - 60_000}",
            $"telemetry,device=mill-1,gateway=gw-2,site=s,pilot=factory motor_current_a=900,vib_mm_s=1.9 {now - 60_000}",
            $"telemetry,{tags},pilot=port wind_m_s=12,vib_mm_s=1.7,hoist_load_t=25,hoist_motor_temp_c=55,lift_count=60000 {now - 60_000}",
            $"telemetry,{tags},pilot=port wind_m_s=13,vib_mm_s=1.8,hoist_load_t=0,hoist_motor_temp_c=56,lift_count=60003 {now - 30_000}",
            $"telemetry_quality,{tags},pilot=factory,field=zone_temp_c quality=\"bad\" {now - 30_000}",
            $"delivery,gateway=gw-1 received=100i,missing=0i,dropped=0i {now - 30_000}",
            $"alerts,device=dev-1,event=raised,field=do_mg_l,gateway=gw-1,pilot=aquaculture,rule=do-critical,severity=critical,site=s alert_id=1i,value=2.7,message=\"DO low\" {now - 30_000}",
            $"alerts,device=dev-1,event=raised,field=zone_temp_c,gateway=gw-1,pilot=factory,rule=furnace-zone-missing,severity=critical,site=s alert_id=2i,message=\"no data\" {now - 30_000}",
            $"alerts,device=dev-1,event=raised,field=wind_m_s,gateway=gw-1,pilot=port,rule=wind-stop,severity=critical,site=s alert_id=3i,value=21.5,message=\"wind\" {now - 30_000}",
            $"quarantine,reason=MalformedJson topic=\"t\",error=\"e\",bytes=3i {now - 30_000}",
            "delivery_gap,gateway=gw-1,site=s first_seq=5i,last_seq=9i,messages=5i,unnumbered=0i,readings=15i,from=0i,to=0i,reason=\"byte budget full (drop-oldest)\" 10",
        ], CancellationToken.None);
        var influxQl = query.Replace("$timeFilter", "time > now() - 1h", StringComparison.Ordinal).Replace("$__interval", "10s", StringComparison.Ordinal);

        var rows = await influx.RowsAsync(influxQl);

        Assert.True(rows.Count > 0, $"{dashboard} / {title}: no data from {influxQl}");
    }
}
