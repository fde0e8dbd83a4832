using System.Runtime.InteropServices;
using IoTPilots.Edge.Serial;
using Microsoft.Win32.SafeHandles;

namespace IoTPilots.FirmwareSim.Serial;

/// <summary>
/// A Linux pseudo-terminal pair standing in for a serial cable. <see cref="SlavePath"/> (e.g. <c>/dev/pts/7</c>)
/// plays the real serial port and is opened by <see cref="SerialPortLine"/> as any UART would be; <see cref="Master"/>
/// is the far end of the cable, where a simulator or a test plays the device. Linux only.
/// </summary>
/// <remarks>
/// Opened with posix_openpt/grantpt/unlockpt/ptsname_r (POSIX.1-2008) and put in raw mode with cfmakeraw, so
/// no byte is translated (no CR to NL, no echo, no XON/XOFF, no signals). A baud rate on a pty is only a
/// number: bytes move as fast as the reader takes them.
/// </remarks>
public sealed partial class PseudoTerminal : IAsyncDisposable, IDisposable
{
    private const int ORdWr = 0x2;
    private const int ONoCtty = 0x100;
    private const int ONonBlock = 0x800;
    private const int FGetFl = 3;
    private const int FSetFl = 4;
    private const int FSetFd = 2;
    private const int FdCloExec = 1;
    private const int TcsaNow = 0;
    private const int EIntr = 4;
    private const int EIo = 5;
    private const int EAgain = 11;

    // glibc's struct termios is 60 bytes on x86-64 and arm64; the buffer is opaque to us and only has to be
    // large enough for any libc's layout.
    private const int TermiosBufferSize = 256;

    private readonly SafeFileHandle _master;
    private readonly SafeFileHandle _slaveKeepAlive;
    private int _disposed;

    private PseudoTerminal(SafeFileHandle master, SafeFileHandle slaveKeepAlive, string slavePath, int baudRate, int bitsPerCharacter)
    {
        _master = master;
        _slaveKeepAlive = slaveKeepAlive;
        SlavePath = slavePath;
        Master = new MasterLine(this, baudRate, bitsPerCharacter);
    }

    /// <summary>The slave device path, e.g. <c>/dev/pts/7</c>: open it as the "real" serial port.</summary>
    public string SlavePath { get; }

    /// <summary>The device's end of the cable. Disposing it closes the pair, as unplugging the device would.</summary>
    public ISerialLine Master { get; }

    /// <summary>
    /// Opens a pair in raw mode. <paramref name="baudRate"/> and <paramref name="bitsPerCharacter"/> are what the
    /// master line reports (the pty itself ignores them), so protocol timing code sees the line it would on site.
    /// </summary>
    public static PseudoTerminal Open(int baudRate = 9600, int bitsPerCharacter = 10)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException(
                $"PseudoTerminal needs Linux pseudo-terminals (/dev/ptmx); this is {RuntimeInformation.OSDescription}. Use a real serial port or run the serial tests on Linux.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(baudRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bitsPerCharacter);

        var masterFd = PosixOpenPt(ORdWr | ONoCtty);
        if (masterFd < 0)
        {
            throw Error("posix_openpt");
        }

        var master = new SafeFileHandle(masterFd, ownsHandle: true);
        SafeFileHandle? slave = null;
        try
        {
            Check(Fcntl(master, FSetFd, FdCloExec), "fcntl(F_SETFD)");
            var flags = Fcntl(master, FGetFl, 0);
            Check(flags, "fcntl(F_GETFL)");
            // Non-blocking, so a read with a timeout never parks a thread in the kernel.
            Check(Fcntl(master, FSetFl, flags | ONonBlock), "fcntl(F_SETFL)");
            Check(GrantPt(master), "grantpt");
            Check(UnlockPt(master), "unlockpt");
            var slavePath = SlaveName(master);

            var slaveFd = OpenFile(slavePath, ORdWr | ONoCtty);
            if (slaveFd < 0)
            {
                throw Error($"open({slavePath})");
            }

            // Held open for the pair's lifetime: when the last slave descriptor closes, Linux hangs up the master
            // (reads fail with EIO) until the slave is opened again. With this one kept, the serial side can
            // close and reopen the port, as a driver reconnecting would, without the device side noticing.
            slave = new SafeFileHandle(slaveFd, ownsHandle: true);
            MakeRaw(slave, slavePath);
            return new PseudoTerminal(master, slave, slavePath, baudRate, bitsPerCharacter);
        }
        catch
        {
            slave?.Dispose();
            master.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // SafeHandle reference counting defers the close until a read or write in progress returns, so a
            // descriptor number is never closed under a syscall that might then touch a reused one.
            _master.Dispose();
            _slaveKeepAlive.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static unsafe string SlaveName(SafeFileHandle master)
    {
        const int size = 128;
        var buffer = stackalloc byte[size];
        var rc = PtsNameR(master, buffer, size);
        if (rc != 0)
        {
            // ptsname_r returns the error number instead of setting errno.
            throw new IOException($"ptsname_r failed: {Marshal.GetPInvokeErrorMessage(rc)} (errno {rc})");
        }

        return Marshal.PtrToStringUTF8((nint)buffer) ?? throw new IOException("ptsname_r returned no name");
    }

    private static unsafe void MakeRaw(SafeFileHandle slave, string slavePath)
    {
        var termios = stackalloc byte[TermiosBufferSize];
        new Span<byte>(termios, TermiosBufferSize).Clear();
        Check(TcGetAttr(slave, termios), $"tcgetattr({slavePath})");
        CfMakeRaw(termios);
        Check(TcSetAttr(slave, TcsaNow, termios), $"tcsetattr({slavePath})");
    }

    private static void Check(int rc, string call)
    {
        if (rc < 0)
        {
            throw Error(call);
        }
    }

    private static IOException Error(string call)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    private unsafe int ReadMaster(Span<byte> buffer, out int errno)
    {
        fixed (byte* p = buffer)
        {
            var n = ReadFd(_master, p, buffer.Length);
            errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
            return (int)n;
        }
    }

    private unsafe int WriteMaster(ReadOnlySpan<byte> data, out int errno)
    {
        fixed (byte* p = data)
        {
            var n = WriteFd(_master, p, data.Length);
            errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
            return (int)n;
        }
    }

    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    private static partial int PosixOpenPt(int flags);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    private static partial int GrantPt(SafeFileHandle fd);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    private static partial int UnlockPt(SafeFileHandle fd);

    [LibraryImport("libc", EntryPoint = "ptsname_r")]
    private static unsafe partial int PtsNameR(SafeFileHandle fd, byte* buffer, nuint length);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenFile(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(SafeFileHandle fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    private static unsafe partial int TcGetAttr(SafeFileHandle fd, byte* termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    private static unsafe partial int TcSetAttr(SafeFileHandle fd, int optionalActions, byte* termios);

    [LibraryImport("libc", EntryPoint = "cfmakeraw")]
    private static unsafe partial void CfMakeRaw(byte* termios);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadFd(SafeFileHandle fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint WriteFd(SafeFileHandle fd, byte* buffer, nint count);

    /// <summary>The master side as an <see cref="ISerialLine"/>, for the code that plays the device.</summary>
    private sealed class MasterLine(PseudoTerminal pty, int baudRate, int bitsPerCharacter) : ISerialLine
    {
        // The master descriptor is non-blocking; waiting for data is a short timer loop rather than a thread
        // parked in poll(2). 2 ms is a couple of characters at 9600 baud.
        private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(2);

        public string Name { get; } = $"pty-master:{pty.SlavePath}";

        public int BaudRate { get; } = baudRate;

        public int BitsPerCharacter { get; } = bitsPerCharacter;

        public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            while (!data.IsEmpty)
            {
                ObjectDisposedException.ThrowIf(pty._disposed != 0, this);
                var n = pty.WriteMaster(data.Span, out var errno);
                if (n > 0)
                {
                    data = data[n..];
                    continue;
                }

                if (n < 0 && errno is not (EAgain or EIntr))
                {
                    throw new IOException($"{Name}: write failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
                }

                // The pty buffer (a few KiB) is full because nobody reads the slave; wait for room.
                await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
            }
        }

        public async Task<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
        {
            if (buffer.IsEmpty)
            {
                return 0;
            }

            var started = Environment.TickCount64;
            while (true)
            {
                ObjectDisposedException.ThrowIf(pty._disposed != 0, this);
                var n = pty.ReadMaster(buffer.Span, out var errno);
                if (n > 0)
                {
                    return n;
                }

                // EAGAIN: nothing yet. EIO: no slave open (cannot happen while the keep-alive descriptor is held,
                // but a hung-up line is silence, not a crash).
                if (n < 0 && errno is not (EAgain or EIntr or EIo))
                {
                    throw new IOException($"{Name}: read failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
                }

                var remaining = timeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - started);
                if (remaining <= TimeSpan.Zero)
                {
                    return 0;
                }

                await Task.Delay(remaining < PollInterval ? remaining : PollInterval, cancellationToken).ConfigureAwait(false);
            }
        }

        public void DiscardInput()
        {
            Span<byte> sink = stackalloc byte[256];
            while (pty._disposed == 0 && pty.ReadMaster(sink, out _) > 0)
            {
            }
        }

        public ValueTask DisposeAsync() => pty.DisposeAsync();

        public override string ToString() => Name;
    }
}
