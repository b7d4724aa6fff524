"""The region's gateway: the shared gateway implementation, configured by länskod."""
