"""Catalogue search: attribute-specific retrieval over an indexed catalogue (Milvus engine).

Layers: `items` (plain types), `identifiers` + `metadata` (validation of what callers send),
`filters` (the structured filter and its small text form, rendered to engine syntax here only),
`naming` + `schema` + `index_spec` (how a model version's collection looks), `store` (the engine,
through pymilvus: Milvus Lite file or a Milvus server), `registry` (build state per model version).
"""
