using Google.Protobuf;
using PolyNet.Onnx.Data;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Onnx.Tests.Data;

public class BackendTestDataTests
{
    private static byte[] Pb(string name) => TensorProtos.FromTensorData(name, TensorData.Create<float>([2], 1, 2)).ToByteArray();

    [Fact]
    public void Two_files_that_name_the_same_value_are_bad_input_not_a_dictionary_error()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("t/test_data_set_0"));
        File.WriteAllBytes(dir.File("t/test_data_set_0/input_0.pb"), Pb("x"));
        File.WriteAllBytes(dir.File("t/test_data_set_0/input_1.pb"), Pb("x"));
        var e = Assert.Throws<InvalidInputException>(() => BackendTestData.Load(dir.File("t"), DataRole.Inputs, null));
        Assert.Contains("input_1.pb: names its value 'x', as an earlier input file of test_data_set_0 does", e.Message);
    }

    [Fact]
    public void A_position_or_a_data_set_number_beyond_any_count_is_bad_input_not_an_overflow()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("t/test_data_set_0"));
        Directory.CreateDirectory(dir.File("t/test_data_set_99999999999"));
        File.WriteAllBytes(dir.File("t/test_data_set_0/input_0.pb"), Pb("x"));
        File.WriteAllBytes(dir.File("t/test_data_set_99999999999/input_0.pb"), Pb("x"));
        Assert.Equal(2, BackendTestData.Load(dir.File("t"), DataRole.Inputs, null).Count);  // ordered by number, no overflow
        File.WriteAllBytes(dir.File("t/test_data_set_0/input_92233720368547758070.pb"), Pb("y"));
        Assert.Contains("the position 92233720368547758070 in the file name is beyond any model's inputs",
            Assert.Throws<InvalidInputException>(() => BackendTestData.Load(dir.File("t"), DataRole.Inputs, null)).Message);
    }
}
