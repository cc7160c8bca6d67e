"""Ranking: the Ranker seam that re-orders fused candidates (relevance and personal rankers plug in here)."""
