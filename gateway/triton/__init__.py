"""Triton endpoints: the client-side pool that runs the ensemble (readiness, balancing)."""
