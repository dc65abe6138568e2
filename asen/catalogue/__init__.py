"""Client-side catalogue jobs behind `asen catalogue`: image sources and ids, metadata CSV,
resumable indexing and reindexing through a gateway, contact sheets of search results."""
