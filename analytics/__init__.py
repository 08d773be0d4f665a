"""The caseload dashboard's core: storage, instruments, practice records, import, clinical
numbers, charts, page views, demo and command line, in layers (see pyproject.toml)."""
