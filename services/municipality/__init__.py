"""A municipality's gateway, as a process: `python -m services.municipality`.

Every municipality runs the same gateway as the region — the implementation is
`services/gateway/` — for the principal `kommun-<kommunkod>` (SAMORDNA_KOMMUNKOD, required).
Run one process per municipality, each with its own kommunkod and port. This package holds
only what differs: its settings (settings.py) and its entry point (__main__.py).
"""
