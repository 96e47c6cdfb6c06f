"""Rules: one module per rule (yamllint style).

Each module has a docstring (the user documentation: what it checks, why,
its thresholds, an example from a log), `ID`, `CATEGORY`, `ORDER` (position
in the report), `Options` (the pydantic model of its settings: the schema
lives in code, the values in the profile YAML) and
`check(run, options, settings) -> list[Finding]`. A module that reports
under several ids (one per milestone, one per baseline) also defines
`ids(settings)`.
"""
