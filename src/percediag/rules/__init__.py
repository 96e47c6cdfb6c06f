"""Rules: one module per rule (yamllint style).

Each module is its docstring (the user documentation: what it checks, why,
its thresholds, an example from a log), its `check(run, options, settings)`
returning Verdicts, and one declaration, `SPEC = RuleSpec(...)` (spec.py):
its id, category, order (position in the report), options model (the
schema lives in code, the values in the profile YAML), and what it needs
(a baseline run, the end of the run in `watch`, the log's round). A rule
that reports under several ids (one per milestone, one per baseline)
declares their prefix and `ids`. The registry checks every declaration when
it loads the rules, validates the options against the settings, and runs
the checks, filling in each finding's id, category and severity.
"""
