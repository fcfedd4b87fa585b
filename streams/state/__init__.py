"""State: the tickets store interface, the deadline index and open-ticket counts.

Nothing here imports faust; the faust-backed store lives in streams/tables.py.
"""
