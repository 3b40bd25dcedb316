using PerfLab.Core.Channel;

namespace PerfLab.Core.Tests.Channel;

public class ChannelProtocolTests
{
    [Fact]
    public void Hot_messages_round_trip()
    {
        Assert.True(ChannelProtocol.TryParse(ChannelProtocol.Query(123456789012, 77), out var q, out _));
        Assert.Equal((MessageKind.Query, 123456789012L, 77L), (q.Kind, q.Id, (long)q.SampleIndex));
        Assert.True(ChannelProtocol.TryParse(ChannelProtocol.Complete(5, 16, 3_500_000), out var c, out _));
        Assert.Equal((MessageKind.Complete, 5L, 16L, 3_500_000L), (c.Kind, c.Id, (long)c.Tokens, c.InsideNs));
        Assert.True(ChannelProtocol.TryParse(ChannelProtocol.FirstToken(9), out var f, out _));
        Assert.Equal((MessageKind.FirstToken, 9L), (f.Kind, f.Id));
    }

    [Fact]
    public void Rare_messages_carry_their_text()
    {
        Assert.True(ChannelProtocol.TryParse(ChannelProtocol.Hello(4242), out var h, out _));
        Assert.Equal(ChannelProtocol.Version, h.Text);
        Assert.Equal(4242, h.Id);
        Assert.True(ChannelProtocol.TryParse(ChannelProtocol.Ready(1500, "{\"a\":1}"), out var r, out _));
        Assert.Equal((1500L, "{\"a\":1}"), (r.LoadNs, r.Text));
        Assert.True(ChannelProtocol.TryParse(ChannelProtocol.Error("line one\nline two"), out var e, out _));
        Assert.Equal("line one line two", e.Text);
        Assert.True(ChannelProtocol.TryParse(ChannelProtocol.Bye(), out var b, out _));
        Assert.Equal(MessageKind.Bye, b.Kind);
        // A Realm's call and the host's reply keep their id and their JSON, spaces and all.
        Assert.True(ChannelProtocol.TryParse(ChannelProtocol.Call(7, "{\"call\": \"broker\"}"), out var call, out _));
        Assert.Equal((MessageKind.Call, 7L, "{\"call\": \"broker\"}"), (call.Kind, call.Id, call.Text));
        Assert.True(ChannelProtocol.TryParse(ChannelProtocol.Reply(7, "{\"status\": 200}"), out var reply, out _));
        Assert.Equal((MessageKind.Reply, 7L, "{\"status\": 200}"), (reply.Kind, reply.Id, reply.Text));
    }

    [Theory]
    [InlineData("query 1", "malformed 'query'")]
    [InlineData("complete x 1 2", "malformed 'complete'")]
    [InlineData("hello perflab-channel/2", "malformed 'hello'")]
    [InlineData("call x {}", "malformed 'call'")]
    [InlineData("reply 3", "malformed 'reply'")]
    [InlineData("launch now", "unknown message")]
    [InlineData("", "unknown message")]
    public void Anything_else_is_refused_with_a_reason(string line, string reason)
    {
        Assert.False(ChannelProtocol.TryParse(line, out _, out var problem));
        Assert.Contains(reason, problem);
    }
}
