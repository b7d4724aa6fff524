"""The region's gateway, as a process: `python -m services.region`.

A region runs the same gateway as every municipality — the implementation is
`services/gateway/` — for the principal `region-<länskod>` (SAMORDNA_LANSKOD, default 14).
This package holds only what differs: its settings (settings.py) and its entry point
(__main__.py).
"""
