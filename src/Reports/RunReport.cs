using PolyNet.Jobs.Runs;

namespace PolyNet.Reports;

/// <summary>What a report of one run (or offline comparison) shows: the result, what was compared, and the command.</summary>
/// <param name="Source">The model, or the files compared.</param>
/// <param name="Title">The command line, shown as the report's title.</param>
public sealed record RunReport(RunJobResult Result, string Source, string Title);
