"""Compare rounds: a summary of each run, the diff of two, the history of many."""
