"""Default operator files shipped with the package (policies, routing, classification rules)."""
