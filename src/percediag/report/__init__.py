"""Report: the pydantic Report and one renderer per output format."""
