"""Matching an English question's words against Chinese passages, where BM25 has nothing to
match: pinyin names and verbatim tokens (romanized), dictionary glosses (glosses)."""
