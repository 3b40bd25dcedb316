using PerfLab.Core.Attestation;
using PerfLab.Lab.Backends.Mechanics;

namespace PerfLab.Lab.Broker;

/// <summary>
/// The lab's own key broker: one per perflab process, started on first use on a loopback port, trusting the emulated
/// platform's test key. It holds the keys of the models this process encrypted, and the reference RIMs of the launches
/// it measured; both live only in memory.
/// </summary>
public static class LabBroker
{
    private static readonly Lazy<KeyBrokerService> Service = new(() =>
        KeyBrokerService.Start(EmulatedAttestationMechanic.PlatformTestKey, BrokerPolicy.Default), LazyThreadSafetyMode.ExecutionAndPublication);

    public static KeyBrokerService Shared => Service.Value;
}
