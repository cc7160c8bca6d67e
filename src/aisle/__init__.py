"""aisle: multimodal product search engine and shopping assistant."""

__version__ = "0.1.0"
