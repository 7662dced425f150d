"""REST routers, one per resource, under ``/api/v1``."""
