"""`make demo`: the whole product on one machine, from synthetic data to served similarity calls."""
