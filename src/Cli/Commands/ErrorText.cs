namespace PolyNet.Cli.Commands;

/// <summary>How an error message reaches the terminal.</summary>
internal static class ErrorText
{
    /// <summary>
    /// A message as one line: control characters (a newline in a file name or an option's value echoed back) are
    /// escaped as \n, \r, \t or \xNN, so an error is always exactly one line whatever the input held.
    /// </summary>
    public static string OneLine(string message)
    {
        if (!message.Any(char.IsControl)) return message;
        var sb = new System.Text.StringBuilder(message.Length + 8);
        foreach (var c in message)
            sb.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        return sb.ToString();
    }
}
