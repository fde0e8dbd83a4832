namespace IoTPilots.Cloud;

internal static class HttpBody
{
    /// <returns>The request's body, or null when it is larger than <paramref name="maxBytes"/> (by its header or as read).</returns>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellation)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        using var body = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellation)) > 0)
        {
            body.Write(chunk, 0, read);
            if (body.Length > maxBytes)
            {
                return null;
            }
        }

        return body.ToArray();
    }
}
