using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Onnx.Tests.Data;

public class PolygraphyJsonTests
{
    [Fact]
    public void Run_results_and_input_lists_round_trip()
    {
        using var dir = new TempDir();
        var it0 = new ValueMap { { "logits", TensorData.Create<float>([1, 3], 1, 2, 3) }, { "ids", TensorData.Create<long>([2], 7, -8) } };
        var it1 = new ValueMap { { "logits", TensorData.Create<float>([1, 3], 4, 5, 6) }, { "ids", TensorData.Create<long>([2], 9, 10) } };
        PolygraphyJson.WriteRunResults(dir.File("r.json"), [new RunnerResults("onnxrt-runner-N0-11/21/26", [it0, it1], [0.5, null]), new RunnerResults("trt", [it1, it0], [null, null])]);
        var back = PolygraphyJson.Read(dir.File("r.json"));
        Assert.Equal(new[] { "onnxrt-runner-N0-11/21/26", "trt" }, back.Select(r => r.Runner));
        Assert.True(back[0].Iterations[1].Tensor("logits").ContentEquals(it1.Tensor("logits")));
        Assert.True(back[1].Iterations[1].Tensor("ids").ContentEquals(it0.Tensor("ids")));
        Assert.Equal(0.5, back[0].Runtimes[0]);

        PolygraphyJson.WriteInputList(dir.File("in.json"), [it0]);
        var inputs = PolygraphyJson.Read(dir.File("in.json"));
        Assert.True(Assert.Single(Assert.Single(inputs).Iterations).Tensor("ids").ContentEquals(it0.Tensor("ids")));
    }

    [Fact]
    public void Interoperates_with_polygraphys_encoding_as_written_and_read_by_numpy()
    {
        if (Python.WhyUnavailable is { } why) Assert.Skip(why);
        using var dir = new TempDir();
        // Written the way Polygraphy's JSON encoder writes: np.save into memory, base64, {"array": ..., "polygraphy_class": "ndarray"},
        // wrapped in LazyArray and IterationResult/RunResults objects.
        Python.Check($$"""
            import base64, io, json
            import numpy as np
            def enc(a):
                b = io.BytesIO(); np.save(b, a, allow_pickle=False)
                return {"array": base64.b64encode(b.getvalue()).decode(), "polygraphy_class": "ndarray"}
            def lazy(a): return {"values": enc(a), "polygraphy_class": "LazyArray"}
            it = {"outputs": {"y": lazy(np.arange(6, dtype=np.float16).reshape(2, 3)), "m": lazy(np.array([True, False]))},
                  "runtime": 0.25, "runner_name": "trt-runner", "polygraphy_class": "IterationResult"}
            json.dump({"lst": [["trt-runner", [it]]], "polygraphy_class": "RunResults"}, open('{{dir.File("poly.json")}}', 'w'), indent=4)
            json.dump([{"x": enc(np.ones((1, 4), dtype='>f8'))}], open('{{dir.File("inputs.json")}}', 'w'))
            """);
        var run = Assert.Single(PolygraphyJson.Read(dir.File("poly.json")));
        Assert.Equal("trt-runner", run.Runner);
        Assert.Equal(new Half[] { (Half)0, (Half)1, (Half)2, (Half)3, (Half)4, (Half)5 }, run.Iterations[0].Tensor("y").ToArray<Half>());
        Assert.Equal(new[] { true, false }, run.Iterations[0].Tensor("m").ToArray<bool>());
        Assert.Equal(new double[] { 1, 1, 1, 1 }, PolygraphyJson.Read(dir.File("inputs.json"))[0].Iterations[0].Tensor("x").ToArray<double>());

        // And the other way: what PolyNet writes, decoded the way Polygraphy's decoder does.
        PolygraphyJson.WriteRunResults(dir.File("ours.json"), [new RunnerResults("polynet", [new ValueMap { { "z", TensorData.Create<int>([3], 1, 2, 3) } }], [1.5])]);
        var check = Python.Check($$"""
            import base64, io, json
            import numpy as np
            def dec(d):
                if d.get("polygraphy_class") == "ndarray":
                    return np.load(io.BytesIO(base64.b64decode(d["array"].encode(), validate=True)), allow_pickle=False)
                return d
            r = json.load(open('{{dir.File("ours.json")}}'), object_hook=dec)
            assert r["polygraphy_class"] == "RunResults"
            name, its = r["lst"][0]
            it = its[0]
            assert it["polygraphy_class"] == "IterationResult" and it["runner_name"] == name == "polynet" and it["runtime"] == 1.5
            print(it["outputs"]["z"].dtype, it["outputs"]["z"].tolist())
            """);
        Assert.Equal("int32 [1, 2, 3]", check.Trim());
    }

    [Fact]
    public void A_large_array_is_decoded_straight_into_its_tensor()
    {
        using var dir = new TempDir();
        const int n = 8 << 20; // 32 MiB of float32, 43 MiB of base64
        var big = TensorData.Allocate(ElementType.Float, new TensorShape(n));
        big.Span<float>().Fill(0.5f);
        PolygraphyJson.WriteRunResults(dir.File("big.json"), [new RunnerResults("r", [new ValueMap { { "y", big } }], [null])]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var back = PolygraphyJson.Read(dir.File("big.json"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(back[0].Iterations[0].Tensor("y").ContentEquals(big));
        // The tensor itself (32 MiB) plus small buffers; holding the base64 text or a second copy would be 75+ MiB.
        Assert.True(allocated < (long)(n * 4 * 1.2), $"allocated {allocated >> 20} MiB to read a {n * 4 >> 20} MiB array");
    }

    [Theory]
    [InlineData("{\"lst\": [[\"r\", [{\"outputs\": {\"y\": {\"array\": \"k05VTVBZ", "not valid JSON")]
    [InlineData("{\"lst\": [[\"r\", [{\"outputs\": {\"y\": {\"array\": \"@@@@notbase64@@@@\", \"polygraphy_class\": \"ndarray\"}}}]]]}", "base64")]
    [InlineData("{\"something\": 1}", "neither Polygraphy RunResults")]
    [InlineData("[1, 2", "not valid JSON")]
    [InlineData("", "not valid JSON")]
    public void Corrupt_files_are_one_line_errors_naming_the_file(string content, string problem)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.json"), content);
        var e = Assert.ThrowsAny<InvalidInputException>(() => PolygraphyJson.Read(dir.File("bad.json")));
        Assert.Contains(problem, e.Message);
        Assert.StartsWith(dir.File("bad.json"), e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }
}
