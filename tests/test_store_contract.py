"""The store contract (index.stores): the FAISS directory and PostgreSQL answer alike.

Every test runs against both backends on the same documents, through the factory as `qa index`
and `qa ask` use it, on a real PostgreSQL (the pgserver wheel), with the fake encoder.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import SEED_ARTICLE
from index.errors import IndexStoreError
from qa.factory import index_documents, open_index, read_index_manifest
from qa.settings import Settings

pytest.importorskip("pgserver")

NOTES = """# Release notes

The 2.0 release moves the index into PostgreSQL. Teams share one database.

## Upgrading

Run the migration once. Old snapshots stay readable until you delete them.
"""
FACTORY = "第二工厂位于北京亦庄，年产能十五万辆。工厂于2024年开工建设。\n\n新工厂将生产高端车型。"


@pytest.fixture(params=["directory", "postgresql"])
def settings(request, tmp_path, fake_encoder) -> Settings:
    store = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    return replace(Settings.from_env(), index_dir=tmp_path / "index", store=store)


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(SEED_ARTICLE, folder / SEED_ARTICLE.name)
    (folder / "notes.md").write_text(NOTES, encoding="utf-8")
    (folder / "factory.txt").write_text(FACTORY, encoding="utf-8")
    return folder


def _all_passages(index):
    return list(index.all_passages())


def test_spans_quote_their_documents_exactly(settings, corpus):
    report = index_documents(settings, [corpus])
    index = open_index(settings)
    passages = _all_passages(index)
    assert len(passages) == report.passages == index.manifest.passage_count
    assert {p.doc_id for p in passages} == {"docs/notes.md", "docs/factory.txt", f"docs/{SEED_ARTICLE.name}"}
    for passage in passages:
        document = index.document(passage.doc_id)
        assert document.text[passage.start : passage.end] == passage.text
        for sentence_id in passage.sentence_ids:
            sentence = index.sentence(sentence_id)
            assert document.text[sentence.start : sentence.end] == sentence.text
            assert passage.start <= sentence.start < sentence.end <= passage.end
    assert "# Release notes" in index.document("docs/notes.md").source_text  # the source map survives


def _signature(index, question: str, vector: np.ndarray):
    """What a backend answers for one question, with ids replaced by spans (ids are the
    backend's own)."""
    def span(pid):
        p = index.passage(pid)
        return (p.doc_id, p.start, p.end)

    dense = [(span(i), round(s, 4)) for i, s in index.search(vector, 8)]
    lexical = [(span(i), round(s, 3)) for i, s in index.lexical_search(question, 8)]
    ids = [i for i, _ in index.search(vector, 3)]
    cosines = np.round(index.passage_cosines(ids, vector), 4).tolist()
    sentences = [s for i in ids for s in index.passage(i).sentence_ids]
    sentence_cosines = np.round(index.sentence_cosines(sentences, vector), 3).tolist()
    return dense, lexical, cosines, sentence_cosines


def test_both_backends_search_alike(tmp_path, corpus, fake_encoder, postgres_url):
    """Dense (with exact cosines), BM25 and cosines agree between the backends."""
    base = Settings.from_env()
    directory = replace(base, index_dir=tmp_path / "faiss")
    postgres = replace(base, index_dir=tmp_path / "unused", store=postgres_url)
    for s in (directory, postgres):
        index_documents(s, [corpus])
    faiss_index, pg_index = open_index(directory), open_index(postgres)
    for question in ("第二工厂的年产能是多少？", "How do teams share the index?", "雷军 造车", "migration snapshots"):
        vector = fake_encoder.encode_queries([question])[0]
        assert _signature(faiss_index, question, vector) == _signature(pg_index, question, vector), question
    assert np.allclose(faiss_index.reference_vectors, pg_index.reference_vectors)


def test_answers_cite_the_same_spans(settings, corpus):
    from qa.factory import open_answerer

    index_documents(settings, [corpus])
    answerer = open_answerer(settings)
    answer = answerer.ask("第二工厂在哪里？")
    assert not answer.abstained
    document = answerer.index.document(answer.citations[0].doc)
    for citation in answer.citations:
        assert answerer.index.document(citation.doc).text[citation.start : citation.end] == citation.text
    assert document.id == "docs/factory.txt"


def test_incremental_update_embeds_only_what_changed(settings, corpus, fake_encoder):
    index_documents(settings, [corpus])
    fake_encoder.calls.clear()
    (corpus / "factory.txt").write_text(FACTORY + "\n\n第三工厂尚在规划中。", encoding="utf-8")
    report = index_documents(settings, [corpus])
    assert (report.changes.changed, report.changes.unchanged, report.changes.added) == (1, 2, 0)
    index = open_index(settings)
    factory_passages = [p for p in _all_passages(index) if p.doc_id == "docs/factory.txt"]
    assert report.changes.embedded_texts == len(factory_passages) + sum(len(p.sentence_ids) for p in factory_passages) - _shared_sentences(factory_passages)
    assert any("第三工厂" in p.text for p in factory_passages)
    assert sum(fake_encoder.calls) == report.changes.embedded_texts


def _shared_sentences(passages) -> int:
    ids = [s for p in passages for s in p.sentence_ids]
    return len(ids) - len(set(ids))


def test_removing_a_source_drops_its_passages(settings, corpus):
    index_documents(settings, [corpus])
    index_documents(settings, [], remove=[corpus])
    index_documents(settings, [corpus / "notes.md"])
    index = open_index(settings)
    assert {p.doc_id for p in _all_passages(index)} == {"notes.md"}
    assert [r.id for r in read_index_manifest(settings).documents] == ["notes.md"]
    assert index.lexical_search("第二工厂", 5) == []


def test_another_models_index_is_refused(settings, corpus):
    index_documents(settings, [corpus])
    with pytest.raises(IndexStoreError, match="built with fake/hashed-bigrams"):
        open_index(replace(settings, model="intfloat/multilingual-e5-small"))
