using System.Diagnostics;
using PolyNet.Onnx;
using PolyNet.Runners.Native;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Runners.Tests.Native;

public class OrtRuntimeTests
{
    [Fact]
    public void Loads_onnx_runtime_1_22_or_newer_from_the_default_location()
    {
        var rt = OrtRuntime.Current;
        Assert.True(File.Exists(rt.LibraryPath));
        var minor = int.Parse(rt.Version.Split('.')[1]);
        Assert.True(minor >= 22, rt.Version);
        Assert.Equal((uint)Math.Min(minor, OrtRuntime.MaximumApiVersion), rt.ApiVersion);
        Assert.Contains("CPUExecutionProvider", rt.AvailableProviders);
    }

    [Fact]
    public void A_missing_or_non_library_path_is_a_named_bad_input_error()
    {
        using var dir = new TempDir();
        var missing = Assert.Throws<InvalidInputException>(() => OrtRuntime.Locate(dir.File("libonnxruntime.so")));
        Assert.Equal(ExitCodes.BadInput, missing.ExitCode);
        Assert.Contains("no such file (from --ort-library)", missing.Message);
        Assert.Contains("is a folder", Assert.Throws<InvalidInputException>(() => OrtRuntime.Locate(dir.Path)).Message);
        Environment.SetEnvironmentVariable(OrtRuntime.LibraryEnvironmentVariable, dir.File("nope.so"));
        try
        {
            Assert.Contains($"from {OrtRuntime.LibraryEnvironmentVariable}", Assert.Throws<InvalidInputException>(() => OrtRuntime.Locate(null)).Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(OrtRuntime.LibraryEnvironmentVariable, null);
        }
    }
}

public class OrtSessionTests
{
    private static OrtSession Session(PolyNet.Onnx.Proto.ModelProto m)
    {
        var api = OrtRuntime.Current.Api;
        using var o = api.CreateSessionOptions();
        return OrtSession.Create(Google.Protobuf.MessageExtensions.ToByteArray(m), o);
    }

    [Fact]
    public void Every_failing_call_becomes_an_OrtException_with_ORTs_code_and_message()
    {
        var api = OrtRuntime.Current.Api;
        using var o = api.CreateSessionOptions();
        var e = Assert.Throws<OrtException>(() => OrtSession.Create("not a model at all"u8.ToArray(), o));
        Assert.Equal("CreateSessionFromArray", e.Function);
        Assert.NotEqual(OrtErrorCode.Ok, e.Code);
        Assert.False(string.IsNullOrWhiteSpace(e.OrtMessage));
        Assert.Equal(ExitCodes.RunnerFailed, e.ExitCode);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Reports_inputs_and_outputs_and_runs_three_element_types()
    {
        using var s = Session(PolyNet.FixtureMaker.Fixtures.MixedTypes());
        Assert.Equal(new[] { "x", "indices", "mask" }, s.Inputs.Select(i => i.Name));
        Assert.Equal(new[] { ElementType.Float, ElementType.Int64, ElementType.Bool }, s.Inputs.Select(i => i.ElementType));
        Assert.Equal("[2, 3]", s.Inputs[0].Shape!.ToString());
        var outs = s.Run(new ValueMap
        {
            { "x", TensorData.Create<float>([2, 3], 1, 2, 3, 4, 5, 6) },
            { "indices", TensorData.Create<long>([2], 1, 0) },
            { "mask", TensorData.Create<bool>([2, 3], true, false, true, false, false, true) },
        });
        Assert.Equal(new[] { 1f, 0, 3, 0, 0, 6 }, outs.Tensor("y").ToArray<float>());
        Assert.Equal(new[] { 4f, 5, 6, 1, 2, 3 }, outs.Tensor("picked").ToArray<float>());
        Assert.Equal(3L, outs.Tensor("count").Span<long>()[0]);
        Assert.Equal(0, outs.Tensor("count").Shape.Rank);
    }

    [Fact]
    public void Inputs_that_are_not_aligned_to_their_element_size_are_fed_correctly()
    {
        // A mapped .npz member (numpy's own archives) can start at any byte: the feed must still read the right values.
        using var s = Session(PolyNet.FixtureMaker.Fixtures.MixedTypes());
        var x = new byte[6 * 4 + 1].AsMemory(1, 6 * 4);
        new float[] { 1, 2, 3, 4, 5, 6 }.AsSpan().CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(x.Span));
        var idx = new byte[2 * 8 + 3].AsMemory(3, 2 * 8);
        new long[] { 1, 0 }.AsSpan().CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(idx.Span));
        var outs = s.Run(new ValueMap
        {
            { "x", new TensorData(ElementType.Float, new TensorShape(2, 3), x) },
            { "indices", new TensorData(ElementType.Int64, new TensorShape(2), idx) },
            { "mask", TensorData.Create<bool>([2, 3], true, false, true, false, false, true) },
        });
        Assert.Equal(new[] { 1f, 0, 3, 0, 0, 6 }, outs.Tensor("y").ToArray<float>());
        Assert.Equal(new[] { 4f, 5, 6, 1, 2, 3 }, outs.Tensor("picked").ToArray<float>());
    }

    [Fact]
    public void String_tensors_and_sequences_cross_the_boundary()
    {
        var b = new ModelBuilder("s", opset: 17);
        var x = b.Input("words", ElementType.String, 2);
        b.Node("Identity", [x], output: "same");
        b.Output("same", ElementType.String, 2);
        using (var s = Session(b.Build()))
            Assert.Equal(new[] { "héllo", "" }, s.Run(new ValueMap { { "words", new TensorData(new TensorShape(2), ["héllo", ""]) } }).Tensor("same").Strings);

        var dir = Path.Combine(TestPaths.BackendData, "node", "test_sequence_insert_at_back");
        if (!Directory.Exists(dir)) Assert.Skip("Debian's libonnx-testdata is not installed (./setup.sh --test installs it)");
        var api = OrtRuntime.Current.Api;
        using var o = api.CreateSessionOptions();
        using var seqSession = OrtSession.Create(Path.Combine(dir, "model.onnx"), o);
        Assert.Equal(ValueKind.Sequence, seqSession.Inputs[0].Kind);
        var feed = PolyNet.Onnx.Data.BackendTestData.LoadSet(Path.Combine(dir, "test_data_set_0"), PolyNet.Onnx.Data.DataRole.Inputs, seqSession.Inputs);
        var result = Assert.IsType<SequenceData>(seqSession.Run(feed)[0].Value);
        Assert.Equal(4, result.Items.Count);
    }

    [Fact]
    public void Feeding_an_unknown_input_name_is_a_bad_input_error()
    {
        using var s = Session(PolyNet.FixtureMaker.Fixtures.Mlp());
        var e = Assert.Throws<InvalidInputException>(() => s.Run(new ValueMap { { "y", TensorData.Create<float>([1, 16], new float[16]) } }));
        Assert.Contains("no input named 'y'", e.Message);
    }

    [Fact]
    public void Disposing_a_session_closes_its_handle_and_later_use_is_refused()
    {
        var s = Session(PolyNet.FixtureMaker.Fixtures.Mlp());
        var handle = s.Handle;
        s.Dispose();
        Assert.True(handle.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => s.Run(new ValueMap()));
    }
}

/// <summary>Counts every live native object, so it must not run beside tests that create some.</summary>
[CollectionDefinition("native object count", DisableParallelization = true)]
public sealed class NativeCountCollection;

[Collection("native object count")]
public class OrtLeakTests
{
    [Fact]
    public void Every_native_object_is_released_after_sessions_runs_and_failures()
    {
        var model = Google.Protobuf.MessageExtensions.ToByteArray(PolyNet.FixtureMaker.Fixtures.MixedTypes());
        var api = OrtRuntime.Current.Api;
        var feed = new ValueMap
        {
            { "x", TensorData.Create<float>([2, 3], new float[6]) },
            { "indices", TensorData.Create<long>([2], 0, 1) },
            { "mask", TensorData.Create<bool>([2, 3], new bool[6]) },
        };
        var bad = new ValueMap(feed) ;
        bad.Set("indices", TensorData.Create<long>([2], 0, 99)); // out of range: Run fails inside ORT
        long before = OrtHandle.LiveCount;
        for (int i = 0; i < 20; i++)
        {
            using var o = api.CreateSessionOptions();
            using var s = OrtSession.Create(model, o);
            for (int r = 0; r < 5; r++) s.Run(feed);
            Assert.Throws<OrtException>(() => s.Run(bad));
            Assert.True(OrtHandle.LiveCount > before);
        }
        Assert.Throws<OrtException>(() => { using var o = api.CreateSessionOptions(); OrtSession.Create("junk"u8.ToArray(), o); });
        Assert.Equal(before, OrtHandle.LiveCount);
    }

}
