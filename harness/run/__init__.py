"""Layer 4: running scenarios with the adapters, and handing their artifacts to the
analysis (the runner, the scenario catalogue, offline diagnosis, benchmarks)."""
