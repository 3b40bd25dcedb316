namespace PerfLab.Llm.Model;

/// <summary>
/// Deterministic synthetic weights: each row of each tensor has its own SplitMix64 stream, seeded from the
/// model seed, the tensor's name and the row, so rows can be generated in parallel and still be identical run
/// to run. Values are uniform in ±scale: a real model's cost per token without its knowledge.
/// </summary>
public static class Weights
{
    public static ulong RowSeed(ulong seed, string tensor, long row)
    {
        var h = 14695981039346656037UL; // FNV-1a of the name
        foreach (var c in tensor) h = (h ^ c) * 1099511628211UL;
        return Mix(seed ^ Mix(h) ^ Mix((ulong)row + 0x9E3779B97F4A7C15UL));
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Fills one row with uniform values in [-scale, scale).</summary>
    public static void FillRow(Span<float> row, ulong rowSeed, float scale)
    {
        var s = rowSeed;
        for (var i = 0; i < row.Length; i++)
        {
            s += 0x9E3779B97F4A7C15UL;
            var u = (Mix(s) >> 40) * (1.0f / (1 << 24)); // [0, 1)
            row[i] = (u * 2 - 1) * scale;
        }
    }

    /// <summary>
    /// Symmetric 4-bit block quantization of one row (one output column N of MatMulNBits, along K): per block a
    /// scale = absmax / 7 and nibbles q = round(w / scale) + 8 in [1, 15], low nibble first; the default zero point 8.
    /// </summary>
    public static void QuantizeRow(ReadOnlySpan<float> row, int blockSize, Span<byte> nibbles, Span<float> scales)
    {
        var blocks = (row.Length + blockSize - 1) / blockSize;
        nibbles.Clear();
        for (var b = 0; b < blocks; b++)
        {
            var start = b * blockSize;
            var end = Math.Min(row.Length, start + blockSize);
            var absmax = 0f;
            for (var i = start; i < end; i++) absmax = Math.Max(absmax, Math.Abs(row[i]));
            var scale = absmax == 0 ? 1f : absmax / 7f;
            scales[b] = scale;
            for (var i = start; i < start + blockSize; i++)
            {
                var q = i < end ? (int)Math.Clamp(MathF.Round(row[i] / scale) + 8, 0, 15) : 8;
                var at = b * (blockSize / 2) + (i - start) / 2;
                nibbles[at] |= (byte)((i - start) % 2 == 0 ? q : q << 4);
            }
        }
    }
}
