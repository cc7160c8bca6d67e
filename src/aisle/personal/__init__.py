"""Behaviour: the event store, interaction data, the sequential personal ranker and its baselines, and the
search-time personal step (taste, learnt blend, reasons)."""
