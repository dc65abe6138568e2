"""The soak: the whole served path under a realistic load for a long time, while faults are
injected on a schedule (see docs/scaling.md and loadtests/reports/soak.md)."""
