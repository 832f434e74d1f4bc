"""CMRC 2018 as an open corpus: every context is a document; shared by the bench scripts.

Data: bench/data/cmrc2018 (CC BY-SA 4.0, see its README and LICENCE).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from index.documents import Document
from index.encoders import Encoder, load_encoder
from qa.reference import reference_texts, reference_vectors
from index.build import build_index
from index.store import PassageIndex, index_exists, load_index, read_manifest, save_index

DATA = Path(__file__).resolve().parent / "data" / "cmrc2018"
CACHE = Path(__file__).resolve().parent / ".cache"
SPLITS = {"dev": DATA, "trial": DATA / "trial"}


@dataclass(frozen=True)
class Question:
    id: str
    context_id: str
    question: str
    answers: tuple[str, ...]


def load_contexts(split: str) -> list[Document]:
    documents = []
    for line in (SPLITS[split] / "contexts.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        text = row["context"]
        documents.append(
            Document(row["context_id"], text, hashlib.sha256(text.encode()).hexdigest(),
                     Path(f"cmrc2018/{row['context_id']}"), "utf-8")
        )
    return documents


def taiwan_traditional(text: str) -> str:
    """Text in traditional Chinese as written in Taiwan (OpenCC s2twp: characters and words,
    软件 -> 軟體), the form of traditional-Chinese Wikipedia."""
    return _s2twp().convert(text)


@lru_cache(maxsize=1)
def _s2twp():
    from opencc import OpenCC

    return OpenCC("s2twp")


def traditional_document(document: Document) -> Document:
    text = taiwan_traditional(document.text)
    return replace(document, text=text, sha256=hashlib.sha256(text.encode()).hexdigest())


def load_questions(split: str, limit: int | None = None) -> list[Question]:
    rows = [json.loads(line) for line in (SPLITS[split] / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    questions = [Question(r["id"], r["context_id"], r["question"], tuple(r["answers"])) for r in rows]
    return questions[:limit] if limit else questions


def open_corpus_index(
    name: str, documents: list[Document], model_id: str, cache_dir: Path, engine: str = "auto"
) -> PassageIndex:
    """An index of `documents` with the background corpus, built once and cached in
    bench/.cache/<name>-<model> (rebuilt when the documents or the background change)."""
    index_dir = CACHE / f"{name}-{model_id.replace('/', '--')}"
    encoder = None
    if index_exists(index_dir):
        _upgrade_old_format(index_dir)
        manifest = read_manifest(index_dir)
        if [d.sha256 for d in manifest.documents] == [d.sha256 for d in documents] and (
            manifest.reference_count == len(reference_texts())
        ):
            return load_index(index_dir)
    encoder = load_encoder(model_id, engine, cache_dir, for_queries=False, progress=_print_progress)
    background = reference_vectors(encoder, cache_dir, _print_progress)
    index = build_index(documents, encoder, progress=_print_progress, reference_vectors=background)
    print(f"\nbuilt {name} index: {index.manifest.passage_count} passages, "
          f"{index.manifest.sentence_count} sentences in {index.manifest.build_seconds:.0f} s", file=sys.stderr)
    save_index(index, index_dir)
    return index


def _upgrade_old_format(index_dir: Path) -> None:
    """Formats 1 and 2 lacked the current BM25 index: rebuild it in a cached benchmark index
    instead of re-embedding (the vectors did not change)."""
    import faiss
    import numpy as np

    from index.lexical import TOKENIZER_ID, LexicalIndex
    from index.store import FORMAT_VERSION, CURRENT_FILE, Manifest, DocumentRecord, PassageIndex
    from index.passages import Passage, Sentence

    snapshot = index_dir / json.loads((index_dir / CURRENT_FILE).read_text())["snapshot"]
    raw = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    if raw.get("format_version") not in (1, 2):
        return
    texts = {r["id"]: r["text"] for r in map(json.loads, (snapshot / "documents.jsonl").read_text(encoding="utf-8").splitlines())}
    documents = {r["id"]: Document(r["id"], texts[r["id"]], r["sha256"], Path(r["path"]), r["encoding"]) for r in raw["documents"]}
    passages = [Passage(r["id"], r["doc"], r["start"], r["end"], texts[r["doc"]][r["start"]:r["end"]], tuple(r["sentence_ids"]))
                for r in map(json.loads, (snapshot / "passages.jsonl").read_text(encoding="utf-8").splitlines())]
    sentences = [Sentence(r["id"], r["doc"], r["start"], r["end"], texts[r["doc"]][r["start"]:r["end"]])
                 for r in map(json.loads, (snapshot / "sentences.jsonl").read_text(encoding="utf-8").splitlines())]
    raw.update(format_version=FORMAT_VERSION, lexical_index=f"bm25s {TOKENIZER_ID}")
    raw["documents"] = tuple(DocumentRecord(**d) for d in raw["documents"])
    index = PassageIndex(
        Manifest(**raw), documents, sentences, passages, faiss.read_index(str(snapshot / "passages.faiss")),
        np.load(snapshot / "sentence_vectors.npy"), np.load(snapshot / "reference_vectors.npy"),
        LexicalIndex.build([p.retrieval_text for p in passages]),
    )
    save_index(index, index_dir)
    print(f"upgraded {index_dir.name} to index format {FORMAT_VERSION}", file=sys.stderr)


def query_encoder(model_id: str, cache_dir: Path, engine: str = "auto") -> Encoder:
    return load_encoder(model_id, engine, cache_dir, for_queries=True)


def _print_progress(stage: str, fraction: float) -> None:
    print(f"\r{stage}: {fraction:6.1%}", end="", flush=True, file=sys.stderr)
