"""ASEN++ attribute-specific fashion similarity: model library, export and serving tools."""

__version__ = "0.1.0"
