namespace PerfLab.Llm.Onnx;

/// <summary>ONNX TensorProto element types used here.</summary>
public enum ElementType { Float = 1, UInt8 = 2, Int32 = 6, Int64 = 7 }

/// <summary>A node attribute: one of the kinds ONNX allows, as much as the builder needs.</summary>
public abstract record Attr(string Name)
{
    public sealed record I(string N, long Value) : Attr(N);
    public sealed record F(string N, float Value) : Attr(N);
    public sealed record S(string N, string Value) : Attr(N);
    public sealed record Ints(string N, long[] Values) : Attr(N);
}

/// <summary>A tensor's data held in the external weights file: where it is and how long.</summary>
public sealed record ExternalTensor(string Name, ElementType Type, long[] Dims, long Offset, long Length);

/// <summary>
/// An ONNX graph under construction: nodes, graph inputs and outputs with symbolic dimensions, small constant
/// initializers stored inline, large ones in an external file. Serialises to a ModelProto (field numbers from
/// onnx.proto3).
/// </summary>
public sealed class OnnxGraph(string name)
{
    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<ProtoWriter> _initializers = [];
    private readonly List<ProtoWriter> _inputs = [];
    private readonly List<ProtoWriter> _outputs = [];
    private int _nodeCount;

    public const int IrVersion = 8, OnnxOpset = 21, MsOpset = 1;

    public void Input(string n, ElementType t, params object[] dims) => _inputs.Add(ValueInfo(n, t, dims));
    public void Output(string n, ElementType t, params object[] dims) => _outputs.Add(ValueInfo(n, t, dims));

    private static ProtoWriter ValueInfo(string n, ElementType t, object[] dims)
    {
        var shape = new ProtoWriter();
        foreach (var d in dims)
        {
            var dim = new ProtoWriter();
            if (d is string p) dim.String(2, p); else dim.Int(1, Convert.ToInt64(d));
            shape.Message(1, dim);
        }
        var tensorType = new ProtoWriter().Int(1, (int)t).Message(2, shape);
        return new ProtoWriter().String(1, n).Message(2, new ProtoWriter().Message(1, tensorType));
    }

    /// <summary>Adds a node; returns its first output's name for chaining.</summary>
    public string Node(string op, string[] inputs, string[] outputs, string domain = "", params Attr[] attrs)
    {
        var node = new ProtoWriter();
        foreach (var i in inputs) node.String(1, i);
        foreach (var o in outputs) node.String(2, o);
        node.String(3, $"{op}_{_nodeCount++}").String(4, op);
        foreach (var a in attrs)
        {
            var w = new ProtoWriter().String(1, a.Name);
            switch (a)
            {
                case Attr.I i: w.Int(3, i.Value).Int(20, 2); break;
                case Attr.F f: w.Float(2, f.Value).Int(20, 1); break;
                case Attr.S s: w.String(4, s.Value).Int(20, 3); break;
                case Attr.Ints ints: w.PackedInts(8, ints.Values).Int(20, 7); break;
            }
            node.Message(5, w);
        }
        if (domain.Length > 0) node.String(7, domain);
        _nodes.Add(node);
        return outputs[0];
    }

    public void ConstantInt64(string n, long[] dims, long[] values) =>
        _initializers.Add(new ProtoWriter().PackedInts(1, dims).Int(2, (int)ElementType.Int64).String(8, n).PackedInts(7, values));

    public void ConstantFloat(string n, long[] dims, float[] values) =>
        _initializers.Add(new ProtoWriter().PackedInts(1, dims).Int(2, (int)ElementType.Float).String(8, n).PackedFloats(4, values));

    /// <summary>An initializer whose bytes live in the external weights file (data_location = EXTERNAL).</summary>
    public void External(ExternalTensor t, string location)
    {
        var w = new ProtoWriter().PackedInts(1, t.Dims).Int(2, (int)t.Type).String(8, t.Name);
        w.Message(13, new ProtoWriter().String(1, "location").String(2, location));
        w.Message(13, new ProtoWriter().String(1, "offset").String(2, t.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        w.Message(13, new ProtoWriter().String(1, "length").String(2, t.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        w.Int(14, 1);
        _initializers.Add(w);
    }

    public byte[] ToModel(string producer)
    {
        var graph = new ProtoWriter();
        foreach (var n in _nodes) graph.Message(1, n);
        graph.String(2, name);
        foreach (var i in _initializers) graph.Message(5, i);
        foreach (var i in _inputs) graph.Message(11, i);
        foreach (var o in _outputs) graph.Message(12, o);
        return new ProtoWriter()
            .Int(1, IrVersion)
            .String(2, producer)
            .Message(7, graph)
            .Message(8, new ProtoWriter().String(1, "").Int(2, OnnxOpset))
            .Message(8, new ProtoWriter().String(1, "com.microsoft").Int(2, MsOpset))
            .ToArray();
    }
}
