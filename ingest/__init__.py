"""Build the knowledge base: load, clean, split, embed and store documents.

This package never imports ``app``: the service depends on ingest, not the reverse.
"""
