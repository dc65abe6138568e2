"""Training of ASEN++ with the paper's two-stage recipe (global branch, then global + local)."""
