"""A municipality's gateway: the shared gateway implementation, configured by kommunkod.

Run one process per municipality, each with its own SAMORDNA_KOMMUNKOD and port.
"""
