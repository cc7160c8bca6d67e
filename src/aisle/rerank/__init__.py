"""Relevance re-ranking: the Ranker Protocol, the cross-encoder, its features and the trained ranker."""
