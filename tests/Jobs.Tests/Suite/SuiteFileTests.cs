using PolyNet.Jobs.Suite;
using PolyNet.Onnx;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Jobs.Tests.Suite;

public class SuiteFileTests
{
    private static SuiteFile Load(TempDir dir, string yaml)
    {
        var path = dir.File("s.suite.yaml");
        File.WriteAllText(path, yaml.Replace("MODELS/", TestPaths.Fixtures + "/models/"));
        return SuiteFile.Load(path);
    }

    [Fact]
    public void A_flow_sequence_left_open_is_bad_input_at_its_line_not_the_parsers_state_error()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<InvalidInputException>(() => Load(dir, "name: x\ncases:\n  - name: [a\n    model: foo\n"));
        Assert.EndsWith("s.suite.yaml:3: not valid YAML after line 3, column 11 (an unclosed '[' or '{'?)", e.Message);
    }

    [Fact]
    public void A_case_overrides_the_defaults_key_by_key()
    {
        using var dir = new TempDir();
        var s = Load(dir, """
            defaults:
              runners: [onnxrt, "onnxrt:opt=disable"]
              inputs: { seed: 7, samples: 3 }
              tolerances: { atol: 1e-3, rtol: 1e-2 }
            cases:
              - name: a
                model: MODELS/mlp.onnx
                inputs: { samples: 2 }
                tolerances:
                  atol: { default: 1e-4, probs: 1e-6 }
              - name: b
                model: MODELS/mlp.onnx
                runners: onnxrt
                golden: elsewhere/b-outputs.npz
            """);
        Assert.Equal("s", s.Name);
        var a = s.Cases[0];
        Assert.Equal(7, a.Seed);          // from defaults
        Assert.Equal(2, a.Samples);       // the case's own
        Assert.Equal(["onnxrt", "onnxrt:opt=disable"], a.Runners.Select(r => r.Text));
        Assert.Equal(1e-4, a.Tolerances.For("logits").Atol);
        Assert.Equal(1e-6, a.Tolerances.For("probs").Atol);
        Assert.Equal(1e-2, a.Tolerances.For("probs").Rtol); // rtol still from defaults
        Assert.Equal(dir.File("golden/a.npz"), a.Golden);
        Assert.Equal(6, a.Line);
        var b = s.Cases[1];
        Assert.Equal(["onnxrt"], b.Runners.Select(r => r.Text));
        Assert.Equal(3, b.Samples);
        Assert.Equal(dir.File("elsewhere/b-outputs.npz"), b.Golden);
        Assert.Equal(1e-3, b.Tolerances.For("probs").Atol);
    }

    [Theory]
    [InlineData("inputs: { files: [MODELS/mlp.onnx], samples: 2 }", "inputs.samples applies to generated inputs")]
    [InlineData("golden: g.json", "golden outputs are .npz files")]
    [InlineData("tolerances: { error_quantile: 2 }", "tolerances.error_quantile '2' must be a number in (0, 1]")]
    [InlineData("tolerances: { top_k: 0 }", "tolerances.top_k '0' must be a whole number of at least 1")]
    [InlineData("runners: [[onnxrt]]", "runners: expected a value or a list of values")]
    [InlineData("inputs: { val_range: ['[1,0]'] }", "case 'a':")]
    public void Bad_values_name_the_file_the_case_and_the_key(string line, string message)
    {
        using var dir = new TempDir();
        var e = Assert.Throws<InvalidInputException>(() => Load(dir, $"cases:\n  - name: a\n    model: MODELS/mlp.onnx\n    {line}\n"));
        // The case's line, or the line of the value itself when the YAML's shape is wrong.
        Assert.Matches(@"s\.suite\.yaml:[24]: case 'a': ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Two_cases_cannot_share_a_golden_file_and_names_must_be_file_names()
    {
        using var dir = new TempDir();
        var shared = Assert.Throws<InvalidInputException>(() => Load(dir, "cases:\n  - name: a\n    model: MODELS/mlp.onnx\n    golden: g.npz\n  - name: b\n    model: MODELS/mlp.onnx\n    golden: g.npz\n"));
        Assert.Contains("golden g.npz is case 'a''s golden file too", shared.Message);
        var slash = Assert.Throws<InvalidInputException>(() => Load(dir, "cases:\n  - name: a/b\n    model: MODELS/mlp.onnx\n"));
        Assert.Contains("names may hold letters, digits", slash.Message);
    }

    [Theory]
    [InlineData("atol", "atoll", 1)]
    [InlineData("tolerances", "tolerances", 0)]
    [InlineData("max_mismatch_percent", "max_mismatch_pct", 4)]
    public void Edit_distance_counts_single_character_edits(string a, string b, int d) => Assert.Equal(d, PolyNet.Onnx.Names.EditDistance(a, b));
}
