"""Embedding cache: key/value codec, the in-process LRU and Redis back-ends, single-flight."""
