"""Live: judge a run while it trains (`percediag watch`).

lines (bytes -> normalised lines, incrementally) -> parsers.Parser (fed as
lines arrive) -> watcher (re-judges when a record was added, emits events)
-> sinks (plain lines, JSON lines, a rich live view). Input comes from a
follower (a growing file) or a command runner (a training command's output).
"""
