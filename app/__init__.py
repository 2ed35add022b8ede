"""Serve the knowledge base: retrieval, answering, the HTTP API, the web page and the CLI."""
