"""The pure domain: session configuration, lifecycle, time and budget rules, events.

Nothing here does I/O or reads the clock; the service layer passes instants in.
"""
