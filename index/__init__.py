"""Documents, sentences and passages, embeddings, and the FAISS passage index.

Nothing here imports `qa` or `tui`: the dependency arrow points `tui -> qa -> index`.
"""
