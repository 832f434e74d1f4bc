from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import FakeEncoder
from index.ann import exact_cosines
from index.documents import Document, load_documents
from index.errors import IndexStoreError
from index.build import build_index
from index.store import load_index, save_index

TEXTS = {
    "a.txt": "北京工厂当前月产能2.5万辆。第二工厂四月投产。订单已达12万辆。",
    "b.txt": "The factory makes 25,000 cars a month. A second plant opens in April.",
}


@pytest.fixture
def documents(tmp_path: Path) -> list[Document]:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in TEXTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return load_documents([folder])


def test_a_snapshot_with_float32_sentence_vectors_still_loads(tmp_path: Path, documents):
    """Snapshots saved before sentence vectors were float16 hold them as float32."""
    built = build_index(documents, FakeEncoder())
    save_index(built, tmp_path / "index")
    snapshot = next((tmp_path / "index").glob("snapshot-*"))
    np.save(snapshot / "sentence_vectors.npy", built.sentence_vectors.astype(np.float32))
    loaded = load_index(tmp_path / "index")
    assert loaded.sentence_vectors.dtype == np.float32
    query = built.sentence_vectors[3].astype(np.float32)
    assert np.allclose(exact_cosines(loaded.sentence_vectors, [3, 4], query), exact_cosines(built.sentence_vectors, [3, 4], query))


def test_round_trip_keeps_passages_offsets_and_search(tmp_path: Path, documents):
    encoder = FakeEncoder()
    built = build_index(documents, encoder)
    save_index(built, tmp_path / "index")
    loaded = load_index(tmp_path / "index")
    assert loaded.manifest == built.manifest
    assert loaded.passages == built.passages and loaded.sentences == built.sentences
    # Sentence vectors are float16, rounded at build time and memory-mapped once saved, so a
    # fresh index answers exactly as the saved one.
    assert np.array_equal(loaded.sentence_vectors, built.sentence_vectors)
    assert loaded.sentence_vectors.dtype == np.float16 and isinstance(loaded.sentence_vectors, np.memmap)
    for passage in loaded.passages:
        assert loaded.documents[passage.doc_id].text[passage.start : passage.end] == passage.text
    query = encoder.encode_queries(["second plant opens"])[0]
    assert loaded.search(query, 3) == built.search(query, 3)
    assert loaded.lexical.search("second plant", 3) == built.lexical.search("second plant", 3)
    best_id, best_score = loaded.search(query, 1)[0]
    assert loaded.passages[best_id].doc_id.endswith("b.txt") and 0 < best_score <= 1.0001
    manifest = loaded.manifest
    assert (manifest.model_id, manifest.dimension, manifest.engine) == ("fake/hashed-bigrams", 64, "fake")
    assert {d.id.split("/")[-1]: d.size for d in manifest.documents} == {k: len(v) for k, v in TEXTS.items()}


def _live_snapshot(index_dir: Path) -> Path:
    return index_dir / json.loads((index_dir / "CURRENT").read_text())["snapshot"]


def test_unknown_format_version_is_a_one_line_error_saying_how_to_rebuild(tmp_path: Path, documents):
    save_index(build_index(documents, FakeEncoder()), tmp_path / "index")
    manifest_path = _live_snapshot(tmp_path / "index") / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 99
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexStoreError, match=r"format 99 .*qa index") as error:
        load_index(tmp_path / "index")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("damage", ["truncate_faiss", "edit_document", "drop_passage", "bad_pointer", "drop_bm25"])
def test_damaged_index_is_refused(tmp_path: Path, documents, damage: str):
    index_dir = tmp_path / "index"
    save_index(build_index(documents, FakeEncoder()), index_dir)
    snapshot = _live_snapshot(index_dir)
    if damage == "truncate_faiss":
        path = snapshot / "passages.faiss"
        path.write_bytes(path.read_bytes()[:40])
    elif damage == "edit_document":
        path = snapshot / "documents.jsonl"
        path.write_text(path.read_text(encoding="utf-8").replace("北京", "上海"), encoding="utf-8")
    elif damage == "drop_passage":
        path = snapshot / "passages.jsonl"
        path.write_text("".join(path.read_text().splitlines(keepends=True)[1:]))
    elif damage == "drop_bm25":
        (snapshot / "bm25" / "vocab.index.json").unlink()
    else:
        (index_dir / "CURRENT").write_text('{"snapshot": "../elsewhere"}')
    with pytest.raises(IndexStoreError, match="qa index"):
        load_index(index_dir)


def test_failed_build_leaves_previous_index_loadable(tmp_path: Path, documents, monkeypatch):
    index_dir = tmp_path / "index"
    save_index(build_index(documents, FakeEncoder()), index_dir)
    before = load_index(index_dir)

    import faiss

    def crash(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(faiss, "write_index", crash)
    with pytest.raises(RuntimeError):
        save_index(build_index(documents[:1], FakeEncoder()), index_dir)
    after = load_index(index_dir)
    assert after.manifest == before.manifest and after.passages == before.passages
    leftovers = [p.name for p in index_dir.iterdir() if p.name.endswith(".partial")]
    assert leftovers == []


def test_missing_index_error(tmp_path: Path):
    with pytest.raises(IndexStoreError, match="no index"):
        load_index(tmp_path / "nothing")


def test_incremental_build_embeds_only_new_and_changed_documents(tmp_path: Path):
    from index.build import build_index_incrementally

    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.txt").write_text(f"文件{name}的第一句。文件{name}的第二句。", encoding="utf-8")
    encoder = FakeEncoder()
    first, changes = build_index_incrementally(load_documents([folder]), encoder)
    assert (changes.added, changes.unchanged, changes.embedded_texts) == (3, 0, sum(encoder.calls))
    # nothing changed: nothing embedded, same vectors
    encoder.calls.clear()
    again, changes = build_index_incrementally(load_documents([folder]), encoder, previous=first)
    assert (changes.added, changes.changed, changes.removed, changes.unchanged) == (0, 0, 0, 3)
    assert changes.embedded_texts == 0 and sum(encoder.calls) == 0
    assert np.allclose(again.sentence_vectors, first.sentence_vectors)
    # one added, one changed, one removed: only the new and changed texts are embedded
    (folder / "d.txt").write_text("新文件的句子。", encoding="utf-8")
    (folder / "b.txt").write_text("文件b被改写了。还有一句新的。再来一句。", encoding="utf-8")
    (folder / "c.txt").unlink()
    encoder.calls.clear()
    updated, changes = build_index_incrementally(load_documents([folder]), encoder, previous=again)
    assert (changes.added, changes.changed, changes.removed, changes.unchanged) == (1, 1, 1, 1)
    new_texts = [p for p in updated.passages if p.doc_id.endswith(("b.txt", "d.txt"))] + [
        s for s in updated.sentences if s.doc_id.endswith(("b.txt", "d.txt"))]
    assert sum(encoder.calls) == changes.embedded_texts == len(new_texts)
    # the result equals a full build
    full = build_index(load_documents([folder]), FakeEncoder())
    assert updated.passages == full.passages and updated.sentences == full.sentences
    assert np.allclose(updated.sentence_vectors, full.sentence_vectors)
    query = FakeEncoder().encode_queries(["新文件"])[0]
    assert updated.search(query, 3) == full.search(query, 3)
