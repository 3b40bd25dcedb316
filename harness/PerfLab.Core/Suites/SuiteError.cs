namespace PerfLab.Core.Suites;

/// <summary>One mistake in a suite: where it is, which key, the bad value, and what would be valid.</summary>
public sealed record SuiteError(string File, int Line, int Column, string Key, string? Value, string Message)
{
    public override string ToString() =>
        $"{File}:{Line}:{Column}: {Key}{(Value is null ? "" : $" = '{Value}'")}: {Message}";
}

/// <summary>Thrown when a suite does not validate; carries every error found, not just the first.</summary>
public sealed class SuiteValidationException(IReadOnlyList<SuiteError> errors)
    : Exception($"suite is not valid ({errors.Count} error{(errors.Count == 1 ? "" : "s")}):\n" + string.Join("\n", errors))
{
    public IReadOnlyList<SuiteError> Errors { get; } = errors;
}
