using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace PerfLab.Lab.Backends.Launchers;

/// <summary>
/// The guest image of the vm backend: an initramfs of Debian's busybox-static, the virtio, virtio-serial and
/// virtio-9p modules of the installed Debian kernel (those not built into it, loaded in dependency order), and an
/// init that mounts the host's root read-only over 9p, finds the virtio-serial port named "perflab" and runs the agent in a chroot of the host with the port
/// as its stdin and stdout. The host's /tmp stays visible (a checkout may live there); the guest's scratch space
/// is a tmpfs on /dev/shm (TMPDIR). Built once and cached by the hash of everything that goes into it.
/// </summary>
public static class VmImage
{
    public static readonly string[] Modules =
        ["virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "virtio_console", "netfs", "fscache", "9pnet", "9pnet_virtio", "9p"];

    private const string Init = """
        #!/bin/busybox sh
        /bin/busybox --install -s /bin
        mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
        for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko; done
        mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 hostroot /host
        mount -t proc proc /host/proc; mount -t devtmpfs dev /host/dev; mount -t sysfs sys /host/sys
        # A Realm's agent asks configfs-tsm for its token; on other guests the folder is simply empty.
        mount -t configfs configfs /host/sys/kernel/config 2>/dev/null
        mount -t tmpfs shm /host/dev/shm
        echo "PERFLAB-GUEST-UP"
        PORT=""
        for p in /sys/class/virtio-ports/*; do [ "$(cat $p/name 2>/dev/null)" = perflab ] && PORT=/dev/$(basename $p); done
        CMD=$(cat /proc/cmdline | sed -n 's/.*perflab_cmd="\([^"]*\)".*/\1/p')
        echo "PERFLAB-AGENT $CMD on $PORT"
        HOME=/root TMPDIR=/dev/shm chroot /host /bin/sh -c "exec $CMD" <> $PORT >&0 2>/dev/console
        echo "PERFLAB-AGENT-EXIT $?"
        poweroff -f

        """;

    /// <summary>The kernel the guest boots: the newest /boot/vmlinuz-* with its modules installed.</summary>
    public static (string Kernel, string ModulesDir)? FindKernel()
    {
        if (!Directory.Exists("/boot")) return null;
        var found = FindBootKernel();
        // PERFLAB_VM_KERNEL replaces the kernel image (its modules stay the installed ones): tests boot a broken one.
        return found is { } f && Environment.GetEnvironmentVariable("PERFLAB_VM_KERNEL") is { Length: > 0 } k ? (k, f.ModulesDir) : found;
    }

    private static (string Kernel, string ModulesDir)? FindBootKernel()
    {
        foreach (var k in Directory.GetFiles("/boot", "vmlinuz-*").OrderDescending(StringComparer.Ordinal))
        {
            var version = Path.GetFileName(k)["vmlinuz-".Length..];
            var mods = Path.Combine("/lib/modules", version);
            if (Directory.Exists(mods) && File.Exists(k)) return (k, mods);
        }
        return null;
    }

    public static string? Problem()
    {
        var arm = QemuLauncher.Arch == System.Runtime.InteropServices.Architecture.Arm64;
        var qemu = QemuCommand.Binary(QemuLauncher.Arch);
        if (!File.Exists("/usr/bin/" + qemu)) return $"{qemu} is not installed (apt-get install {(arm ? "qemu-system-arm" : "qemu-system-x86")})";
        if (!File.Exists("/bin/busybox") && !File.Exists("/usr/bin/busybox")) return "busybox is not installed (apt-get install busybox-static)";
        if (FindKernel() is not { } k)
            return $"no kernel in /boot with its modules (apt-get install linux-image-{(arm ? "arm64" : "amd64")})";
        var builtIn = BuiltIn(k.ModulesDir);
        var missing = Modules.Where(m => !builtIn.Contains(m) && ModulePath(k.ModulesDir, m) is null).ToList();
        return missing.Count > 0 ? $"the kernel {k.Kernel} lacks modules {string.Join(", ", missing)}" : null;
    }

    private static string? ModulePath(string modulesDir, string name) =>
        Directory.EnumerateFiles(modulesDir, name + ".ko", SearchOption.AllDirectories).FirstOrDefault();

    /// <summary>The modules compiled into the kernel (modules.builtin lists them by path): Debian's arm64 kernel has the
    /// virtio transport built in where amd64 has it as modules.</summary>
    public static HashSet<string> BuiltIn(string modulesDir)
    {
        var list = Path.Combine(modulesDir, "modules.builtin");
        return File.Exists(list) ? File.ReadLines(list).Select(l => Path.GetFileName(l.Trim()).Replace(".ko", "")).ToHashSet() : [];
    }

    /// <summary>Builds (or finds in the cache) the initramfs; returns its path and whether it was built now.</summary>
    public static (string Path, bool Built) Ensure()
    {
        var (_, modulesDir) = FindKernel() ?? throw new InvalidOperationException(Problem());
        var busybox = File.Exists("/bin/busybox") ? "/bin/busybox" : "/usr/bin/busybox";
        var files = new List<(string Name, byte[] Data, int Mode)>
        {
            ("bin/busybox", File.ReadAllBytes(busybox), 0x1ED),
            ("init", Encoding.ASCII.GetBytes(Init.Replace("\r", "")), 0x1ED),
        };
        // Modules built into the kernel have no file: the rest are loaded in the list's order.
        var loaded = Modules.Select(m => (Name: m, Path: ModulePath(modulesDir, m))).Where(m => m.Path is not null).ToList();
        foreach (var m in loaded) files.Add(($"lib/modules/{m.Name}.ko", File.ReadAllBytes(m.Path!), 0x1A4));
        files.Add(("lib/modules/order", Encoding.ASCII.GetBytes(string.Join('\n', loaded.Select(m => m.Name)) + "\n"), 0x1A4));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var f in files) { hash.AppendData(Encoding.UTF8.GetBytes(f.Name)); hash.AppendData(f.Data); }
        var key = Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
        var dir = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "perflab", "vm", key);
        var path = Path.Combine(dir, "initrd.gz");
        if (File.Exists(path)) return (path, false);
        Directory.CreateDirectory(dir);
        var tmp = path + $".{Environment.ProcessId}";
        using (var gz = new GZipStream(File.Create(tmp), CompressionLevel.Fastest))
        {
            var ino = 1;
            foreach (var d in new[] { "bin", "dev", "proc", "sys", "host", "tmp", "lib", "lib/modules" }) Entry(gz, d, [], 0x41ED, ino++);
            foreach (var f in files) Entry(gz, f.Name, f.Data, 0x8000 | f.Mode, ino++);
            Entry(gz, "TRAILER!!!", [], 0, 0);
        }
        File.Move(tmp, path, overwrite: true);
        return (path, true);
    }

    /// <summary>One cpio "newc" entry: a 110-byte ASCII header, the name, the data, each padded to 4 bytes.</summary>
    private static void Entry(Stream s, string name, byte[] data, int mode, int ino)
    {
        var nameBytes = Encoding.ASCII.GetBytes(name + "\0");
        var header = $"070701{ino:X8}{mode:X8}{0:X8}{0:X8}{1:X8}{0:X8}{data.Length:X8}{0:X8}{0:X8}{0:X8}{0:X8}{nameBytes.Length:X8}{0:X8}";
        s.Write(Encoding.ASCII.GetBytes(header));
        s.Write(nameBytes);
        Pad(s, 110 + nameBytes.Length);
        s.Write(data);
        Pad(s, data.Length);
    }

    private static void Pad(Stream s, int length)
    {
        var pad = (4 - length % 4) % 4;
        for (var i = 0; i < pad; i++) s.WriteByte(0);
    }
}
