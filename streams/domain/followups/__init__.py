"""Follow-ups after resolution (surveys, callbacks, bad-rating recovery) and customer care.

Pure: policy files, contact budget, scheduling, fire-time checks and CloudEvent builders;
the worker stage keeps the state in tables and produces what these functions return
(docs/followups.md).
"""
