// These tests run real agents and compare their timings: run them one at a time so one test's agents do
// not steal the CPUs another test is measuring on (this machine has two).
[assembly: CollectionBehavior(DisableTestParallelization = true)]
