using System.Text;
using PerfLab.Core.Measurement;
using PerfLab.Tests.Shared;
using Xunit;

namespace PerfLab.Core.Tests.Measurement;

public class KvmtoolLayoutTests
{
    private const ulong Mib = 1024 * 1024;

    [Theory]
    [InlineData(512UL, 33)]   // top of RAM 0x9fffffff: bit 31, and never below bit 32, plus one
    [InlineData(4096UL, 33)]  // 0x17fffffff
    [InlineData(8192UL, 34)]  // 0x27fffffff
    public void The_ipa_width_is_the_smallest_that_holds_the_top_of_ram(ulong mib, int bits) =>
        Assert.Equal(bits, KvmtoolRealmLayout.IpaBits(mib * Mib));

    [Theory]
    [InlineData(512UL, 0x8fe00000UL)]  // 256 MiB cap, less 2 MiB + 64 KiB, 2 MiB-aligned up
    [InlineData(64UL, 0x83e00000UL)]
    public void The_device_tree_sits_below_the_top_of_ram_or_its_256_mib_cap(ulong mib, ulong dtbBase) =>
        Assert.Equal(dtbBase, KvmtoolRealmLayout.DtbBase(mib * Mib));

    [Fact]
    public void Images_are_placed_as_kvmtool_places_them_and_each_granule_is_counted()
    {
        var r = Measure(TestImages.Image(5000), Encoding.ASCII.GetBytes("INITRD CONTENT"), TestImages.Dtb(1, "console=hvc0 root=/dev/vda rw  console=hvc0 quiet", 512 * Mib));
        Assert.Equal(["kernel", "initrd", "dtb"], r.Blobs.Select(b => b.Blob.Name));
        Assert.Equal(0x80000000UL, r.Blobs[0].Blob.Ipa);
        Assert.Equal(2, r.Blobs[0].Granules);
        Assert.Equal(0x8fe00000UL - 14 - 4 + 2, r.Blobs[1].Blob.Ipa); // right below the tree, 4-byte aligned up
        Assert.Equal(16, r.Blobs[2].Granules); // the 64 KiB slot
        Assert.Equal(0x8fe00000UL, r.RecX0);
        Assert.Equal(256, r.RipasEntries); // 512 MiB in 2 MiB blocks (a 33-bit IPA has no 1 GiB level), not 131,072 granules
        Assert.Equal(64, r.Rim.Length); // SHA-256 hex
    }

    [Fact]
    public void Every_input_changes_the_reference_rim()
    {
        var dtb = TestImages.Dtb(1, "x console=hvc0 quiet", 512 * Mib);
        var baseline = Measure(TestImages.Image(5000), [1, 2, 3], dtb).Rim;
        Assert.NotEqual(baseline, Measure(TestImages.Image(5000, fill: 7), [1, 2, 3], dtb).Rim);
        Assert.NotEqual(baseline, Measure(TestImages.Image(5000), [1, 2, 4], dtb).Rim);
        Assert.NotEqual(baseline, Measure(TestImages.Image(5000), [1, 2, 3], TestImages.Dtb(1, "y console=hvc0 quiet", 512 * Mib)).Rim);
        Assert.NotEqual(baseline, KvmtoolRealmLayout.Measure(RealmHashAlgorithm.Sha256, 6, 2, 512 * Mib, 1, TestImages.Image(5000), [1, 2, 3], dtb, null).Rim);
        Assert.Equal(baseline, Measure(TestImages.Image(5000), [1, 2, 3], dtb).Rim); // and nothing else does
    }

    [Fact]
    public void A_device_tree_that_disagrees_with_the_command_is_refused_by_name()
    {
        var image = TestImages.Image(100);
        Assert.Contains("2 CPUs", Assert.Throws<ArgumentException>(() => Measure(image, null, TestImages.Dtb(2, "console=hvc0 quiet", 512 * Mib))).Message);
        Assert.Contains("bootargs", Assert.Throws<ArgumentException>(() => Measure(image, null, TestImages.Dtb(1, "console=ttyS0", 512 * Mib))).Message);
        Assert.Contains("1024 MiB", Assert.Throws<ArgumentException>(() => Measure(image, null, TestImages.Dtb(1, "console=hvc0 quiet", 1024 * Mib))).Message);
        Assert.Contains("arm64 Linux Image", Assert.Throws<ArgumentException>(() => Measure(new byte[4096], null, TestImages.Dtb(1, "console=hvc0 quiet", 512 * Mib))).Message);
        Assert.Contains("flattened device tree", Assert.Throws<ArgumentException>(() => Measure(image, null, new byte[64])).Message);
    }

    private static RimReport Measure(byte[] kernel, byte[]? initrd, byte[] dtb) =>
        KvmtoolRealmLayout.Measure(RealmHashAlgorithm.Sha256, 6, 4, 512 * Mib, 1, kernel, initrd, dtb, "console=hvc0 quiet");
}
