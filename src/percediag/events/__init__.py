"""Reading TensorBoard event files and Lightning metrics.csv (the sources layer for scalars)."""
