"""`ticketflow report`: the period's review (KPIs against targets, Pareto, trends, breached and
reopened tickets, change against the previous period) from the topics on the broker.

reader (broker → records) → facts (records → compact per-ticket facts) → kpis / review (pure)
→ html / markdown (with charts from matplotlib as inline SVG).
"""
