using PolyNet.Tests;
using Xunit;

namespace PolyNet.Onnx.Tests;

public class ContainedPathsTests
{
    [Fact]
    public void A_link_on_the_way_out_of_the_folder_is_refused_and_a_link_that_stays_inside_is_not()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("root/inner"));
        Directory.CreateDirectory(dir.File("outside"));
        File.WriteAllText(dir.File("outside/f"), "x");
        File.WriteAllText(dir.File("root/inner/g"), "y");
        Directory.CreateSymbolicLink(dir.File("root/out"), dir.File("outside"));
        Directory.CreateSymbolicLink(dir.File("root/in"), "inner");
        Directory.CreateSymbolicLink(dir.File("root/inner/up"), "../../outside");
        var root = dir.File("root");
        var e = Assert.Throws<InvalidInputException>(() => ContainedPaths.CheckLinksStayInside(root, "out/f", "s.yaml", "model"));
        Assert.Contains("model out/f resolves to", e.Message);
        Assert.Throws<InvalidInputException>(() => ContainedPaths.CheckLinksStayInside(root, "inner/up/f", "s.yaml", "model"));
        ContainedPaths.CheckLinksStayInside(root, "in/g", "s.yaml", "model");
        ContainedPaths.CheckLinksStayInside(root, "../outside/f", "s.yaml", "model");  // written out of the folder: as written
        Assert.Contains("NUL", Assert.Throws<InvalidInputException>(() => ContainedPaths.CheckLinksStayInside(root, "a\0b", "s.yaml", "model")).Message);
        Assert.Equal(dir.File("outside/f"), ContainedPaths.RealPath(dir.File("root/inner/up/f"), "s.yaml"));
        Assert.Equal(dir.File("root/not/there"), ContainedPaths.RealPath(dir.File("root/not/there"), "s.yaml"));
    }

    [Fact]
    public void A_loop_of_links_is_bad_input_not_a_hang()
    {
        using var dir = new TempDir();
        File.CreateSymbolicLink(dir.File("a"), dir.File("b"));
        File.CreateSymbolicLink(dir.File("b"), dir.File("a"));
        Assert.Contains("too many symbolic links", Assert.Throws<InvalidInputException>(() => ContainedPaths.RealPath(dir.File("a"), "s.yaml")).Message);
    }
}
