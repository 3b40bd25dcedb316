using System.Runtime.InteropServices;

namespace PerfLab.Lab.Os;

/// <summary>The few libc calls the lab needs: page policy, affinity, precise sleeps. Linux only.</summary>
internal static partial class Libc
{
    public const int PR_SET_THP_DISABLE = 41, PR_SET_TIMERSLACK = 29;
    public const int PROT_READ = 1, PROT_WRITE = 2;
    public const int MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_HUGETLB = 0x40000;
    public const int MAP_HUGE_SHIFT = 26;
    public const int MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT, MAP_HUGE_1GB = 30 << MAP_HUGE_SHIFT;
    public const int MADV_HUGEPAGE = 14, MADV_NOHUGEPAGE = 15;
    public const int CLOCK_MONOTONIC = 1, TIMER_ABSTIME = 1;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int munmap(nint addr, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int madvise(nint addr, nuint length, int advice);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int sched_setaffinity(int pid, nuint cpusetsize, ulong* mask);

    [LibraryImport("libc")]
    public static partial int clock_nanosleep(int clockid, int flags, in Timespec request, nint remain);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint write(int fd, byte* buf, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    public static string LastError() => Marshal.GetLastPInvokeErrorMessage();
}
