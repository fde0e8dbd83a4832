using Microsoft.Data.Sqlite;

namespace IoTPilots.Cloud;

/// <summary>Opening one of the cloud's SQLite files (the alert store, the users file) the same way.</summary>
internal static class SqliteFile
{
    // SQLite result codes (https://www.sqlite.org/rescode.html) for a file that is not a database.
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;

    /// <summary>
    /// Opens (creating it and its folder if missing) the file at <paramref name="path"/> in WAL mode and hands the
    /// connection and the full path to <paramref name="open"/>; the connection is disposed if anything fails.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a SQLite database; the message says it is not <paramref name="what"/>.</exception>
    public static T Open<T>(string path, string what, Func<SqliteConnection, string, T> open)
    {
        path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);

        // No pooling: disposing the store must release the file (reopened by tests, moved by operators).
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        try
        {
            db.Open();
            using (var wal = db.CreateCommand())
            {
                wal.CommandText = "PRAGMA journal_mode = WAL";
                wal.ExecuteNonQuery();
            }

            return open(db, path);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is SqliteNotADatabase or SqliteCorrupt)
        {
            db.Dispose();
            throw new InvalidDataException($"{path} is not {what} (SQLite says: {ex.Message})", ex);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }
}
