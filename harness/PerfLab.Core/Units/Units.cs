using System.Diagnostics;
using System.Globalization;

namespace PerfLab.Core.Units;

/// <summary>A duration in nanoseconds. The lab's one time unit: conversion happens at presentation.</summary>
public readonly record struct Nanoseconds(long Value) : IComparable<Nanoseconds>
{
    public static Nanoseconds Zero => new(0);
    public static Nanoseconds FromMicroseconds(double us) => new((long)Math.Round(us * 1_000));
    public static Nanoseconds FromMilliseconds(double ms) => new((long)Math.Round(ms * 1_000_000));
    public static Nanoseconds FromSeconds(double s) => new((long)Math.Round(s * 1_000_000_000));
    public double Microseconds => Value / 1e3;
    public double Milliseconds => Value / 1e6;
    public double Seconds => Value / 1e9;
    public int CompareTo(Nanoseconds other) => Value.CompareTo(other.Value);
    public static Nanoseconds operator +(Nanoseconds a, Nanoseconds b) => new(a.Value + b.Value);
    public static Nanoseconds operator -(Nanoseconds a, Nanoseconds b) => new(a.Value - b.Value);
    public static bool operator <(Nanoseconds a, Nanoseconds b) => a.Value < b.Value;
    public static bool operator >(Nanoseconds a, Nanoseconds b) => a.Value > b.Value;
    public static bool operator <=(Nanoseconds a, Nanoseconds b) => a.Value <= b.Value;
    public static bool operator >=(Nanoseconds a, Nanoseconds b) => a.Value >= b.Value;
    public override string ToString() => Format(Value);

    /// <summary>Human form with a unit picked by magnitude, e.g. "24.5 µs".</summary>
    public static string Format(double ns)
    {
        var a = Math.Abs(ns);
        return a switch
        {
            >= 1e9 => (ns / 1e9).ToString("0.###", CultureInfo.InvariantCulture) + " s",
            >= 1e6 => (ns / 1e6).ToString("0.###", CultureInfo.InvariantCulture) + " ms",
            >= 1e3 => (ns / 1e3).ToString("0.###", CultureInfo.InvariantCulture) + " µs",
            _ => ns.ToString("0.#", CultureInfo.InvariantCulture) + " ns",
        };
    }
}

/// <summary>A byte count. Parses and prints the suffixes the suites use (4k, 64k, 2m, 1g: binary multiples).</summary>
public readonly record struct Bytes(long Value)
{
    public const long KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

    public static bool TryParse(string text, out Bytes bytes)
    {
        bytes = default;
        var t = text.Trim().ToLowerInvariant();
        if (t.EndsWith("ib")) t = t[..^2];
        else if (t.EndsWith('b')) t = t[..^1];
        long mult = 1;
        if (t.Length > 0)
        {
            switch (t[^1])
            {
                case 'k': mult = KiB; t = t[..^1]; break;
                case 'm': mult = MiB; t = t[..^1]; break;
                case 'g': mult = GiB; t = t[..^1]; break;
            }
        }
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0) return false;
        bytes = new Bytes(n * mult);
        return true;
    }

    /// <summary>Short suffix form used in cell ids and suites: 4k, 2m, 1g.</summary>
    public string ToShort() => Value switch
    {
        _ when Value % GiB == 0 => $"{Value / GiB}g",
        _ when Value % MiB == 0 => $"{Value / MiB}m",
        _ when Value % KiB == 0 => $"{Value / KiB}k",
        _ => Value.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Rounded to the largest unit it reaches, for tables: "3.86 GiB", "252.9 MiB", "12 KiB".</summary>
    public string ToRounded() => Value switch
    {
        >= GiB => (Value / (double)GiB).ToString("0.## 'GiB'", CultureInfo.InvariantCulture),
        >= MiB => (Value / (double)MiB).ToString("0.# 'MiB'", CultureInfo.InvariantCulture),
        >= KiB => (Value / (double)KiB).ToString("0.# 'KiB'", CultureInfo.InvariantCulture),
        _ => $"{Value} B",
    };

    public override string ToString() => Value switch
    {
        _ when Value % GiB == 0 => $"{Value / GiB} GiB",
        _ when Value % MiB == 0 => $"{Value / MiB} MiB",
        _ when Value % KiB == 0 => $"{Value / KiB} KiB",
        _ => $"{Value} B",
    };
}

/// <summary>The page sizes a Realm can be asked for. 64 KiB exists only on arm64 kernels built with that granule.</summary>
public enum PageSize { Kib4, Kib64, Mib2, Gib1 }

public static class PageSizes
{
    public static readonly IReadOnlyList<string> ValidNames = ["4k", "64k", "2m", "1g"];

    public static bool TryParse(string text, out PageSize size)
    {
        size = default;
        if (!Bytes.TryParse(text, out var b)) return false;
        switch (b.Value)
        {
            case 4 * Bytes.KiB: size = PageSize.Kib4; return true;
            case 64 * Bytes.KiB: size = PageSize.Kib64; return true;
            case 2 * Bytes.MiB: size = PageSize.Mib2; return true;
            case Bytes.GiB: size = PageSize.Gib1; return true;
            default: return false;
        }
    }

    public static long ByteCount(this PageSize p) => p switch
    {
        PageSize.Kib4 => 4 * Bytes.KiB,
        PageSize.Kib64 => 64 * Bytes.KiB,
        PageSize.Mib2 => 2 * Bytes.MiB,
        _ => Bytes.GiB,
    };

    public static string ToShort(this PageSize p) => new Bytes(p.ByteCount()).ToShort();
}

/// <summary>Signed percentages as reports print them: +4.2%, -0.3%, 0.0%.</summary>
public static class Percent
{
    public static string Signed(double pct) => double.IsNaN(pct) ? "–"
        : Math.Round(pct, 1).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture) + "%";
}
