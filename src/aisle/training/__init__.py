"""The trainers that learn from search data: the relevance ranker and the personal ranker."""
