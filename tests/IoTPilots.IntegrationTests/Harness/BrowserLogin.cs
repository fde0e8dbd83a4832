using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>Logging in to the cloud's pages in a browser, as a person does: the login form, then where it sends you.</summary>
public static class BrowserLogin
{
    /// <summary>
    /// Opens <c>/login</c> (with <paramref name="returnUrl"/>), logs in as <paramref name="name"/>, and waits until the
    /// browser has left the login page. The page's context must have the host as its BaseURL.
    /// </summary>
    public static async Task LogInAsync(IPage page, string name, string password, string returnUrl = "/")
    {
        await page.GotoAsync($"/login?ReturnUrl={Uri.EscapeDataString(returnUrl)}");
        await page.GetByTestId("login-user").FillAsync(name);
        await page.GetByTestId("login-password").FillAsync(password);
        await page.GetByTestId("login-submit").ClickAsync();
        await Expect(page.GetByTestId("login-form")).ToHaveCountAsync(0);
    }

    /// <summary>A new browser context on <paramref name="host"/>, logged in as a new user of <paramref name="role"/> and <paramref name="sites"/>, on <paramref name="path"/>.</summary>
    public static async Task<(IBrowserContext Context, IPage Page)> NewLoggedInPageAsync(
        IBrowser browser, AlertHost host, IoTPilots.Cloud.Access.Role role, string sites = "*", string path = "/", BrowserNewContextOptions? options = null)
    {
        options ??= new BrowserNewContextOptions();
        options.BaseURL = host.Address.ToString();
        var context = await browser.NewContextAsync(options);
        var page = await context.NewPageAsync();
        var (name, password) = host.CreateUser(role, sites);
        await LogInAsync(page, name, password, path);
        return (context, page);
    }
}
