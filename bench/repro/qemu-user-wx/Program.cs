// Minimal reproduction (PerfLab issue 15): under qemu-user (aarch64 guest code on an x86-64 host) with .NET's default
// W^X double mapping, code the runtime writes through its writable alias of memory it already ran is not seen by the
// emulator, which keeps running its stale translation. Dynamic methods are collected and their memory reused, so a new
// one can run an old one's code.
using System.Linq.Expressions;
var wrong = 0;
for (var i = 0; i < 3000; i++)
{
    var f = Expression.Lambda<Func<int>>(Expression.Constant(i)).Compile();
    int got;
    try { got = f(); } catch (Exception) { got = -1; }
    if (got != i) { wrong++; if (wrong <= 3) Console.WriteLine($"lambda {i} returned {got}"); }
    if (i % 100 == 0) GC.Collect();
}
Console.WriteLine($"{wrong} of 3000 compiled lambdas returned another's value or failed");
return wrong == 0 ? 0 : 1;
