"""CMRC 2018 open-corpus benchmark: every context of a split is a document, every question
is asked against the whole corpus, scored with the same code as `qa eval`.

    .venv/bin/python bench/cmrc_eval.py [--split dev|trial] [--limit N] [--json]
        [--reader trained|heuristic] [--english | --paraphrased] [--unanswerable] [--traditional [corpus]]
        [--postgresql]

--english asks the project's English translations of the questions (trial only:
bench/data/cmrc2018/trial/questions-en.jsonl) over the same Chinese corpus; --paraphrased
the project's paraphrases (trial/questions-paraphrase.jsonl: worded as a user who has not
read the text would ask, instead of copying it). --unanswerable adds the project's questions
that the trial corpus does not answer (trial/questions-unanswerable.jsonl: on the topic of a
passage, asking for a fact it lacks; in English with --english), so that the report's
abstention precision, recall and F1 are measured as on the seed gold set.

--traditional converts the corpus, the Chinese questions and their answers to traditional
Chinese as written in Taiwan (OpenCC s2twp: characters and words, 软件 -> 軟體), the form of
traditional-Chinese Wikipedia; the reader's training data used character conversion (s2t)
only. Every trial answer stays a substring of its converted context. `--traditional corpus`
converts the corpus and the answers but keeps the questions as published: a user who writes
simplified Chinese asking about traditional documents.

--postgresql copies the cached corpus index (vectors and all, nothing embedded again) into a
PostgreSQL started from the pgserver wheel in bench/.cache/postgresql/ and answers from that
store (index/postgres.py): its HNSW search and SQL BM25 against the FAISS directory's.

A retrieved passage is relevant when it comes from the question's own context. Tune on
trial; dev is the test set. The index is built once and cached in bench/.cache/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import DATA, load_contexts, load_questions, open_corpus_index, query_encoder, taiwan_traditional, traditional_document  # noqa: E402
from make_reference_passages import background_context_ids  # noqa: E402

from index.encoders import DEFAULT_MODEL_ID  # noqa: E402
from qa.answerer import Answerer  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402
from qa.factory import open_reader  # noqa: E402
from qa.eval_render import print_report  # noqa: E402
from qa.evaluate import evaluate  # noqa: E402
from qa.gold import GoldQuestion  # noqa: E402
from qa.render import progress_reporter, stdout_console  # noqa: E402
from qa.reading.training_data import load_paraphrases, load_translations, load_unanswerable  # noqa: E402
from qa.settings import Settings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "trial"), default="dev")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--model", default=DEFAULT_MODEL_ID)
    parser.add_argument("--engine", default="auto", help="engine that embeds the corpus")
    parser.add_argument("--retriever", default="hybrid", choices=("hybrid", "dense", "bm25"))
    parser.add_argument("--reader", default="trained", choices=("trained", "heuristic"))
    parser.add_argument("--english", action="store_true", help="ask the English translations (trial)")
    parser.add_argument("--paraphrased", action="store_true", help="ask the project's paraphrases (trial)")
    parser.add_argument("--unanswerable", action="store_true", help="also ask the project's unanswerable questions (trial)")
    parser.add_argument("--traditional", nargs="?", const="all", choices=("all", "corpus"),
                        help="convert corpus and Chinese questions (or with 'corpus' the corpus only) to traditional Chinese (OpenCC s2twp)")
    parser.add_argument("--fuse-always", action="store_true", help="keep BM25 in the fusion for English questions too")
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    parser.add_argument("--postgresql", action="store_true", help="answer from a PostgreSQL copy of the index")
    args = parser.parse_args()
    settings = Settings.from_env()

    documents = load_contexts(args.split)
    name = args.split
    if args.split == "trial":
        # Half of the trial contexts are the abstention background (qa/reference_passages.jsonl);
        # asking about them would compare them with themselves. Use the other half.
        background = background_context_ids()
        documents = [d for d in documents if d.id not in background]
        name = "trial-calibration"
    if args.traditional:
        documents = [traditional_document(d) for d in documents]
        name += "-traditional"
    started = time.perf_counter()
    index = open_corpus_index(name, documents, args.model, settings.cache_dir, args.engine)
    load_seconds = time.perf_counter() - started
    if args.postgresql:
        index = postgresql_copy(index, name)
    reader = open_reader(replace(settings, reader=args.reader), index)
    answerer = Answerer(index, Retriever(index, query_encoder(args.model, settings.cache_dir), args.retriever, not args.fuse_always), reader)
    context_ids = {d.id for d in documents}
    kind = "cmrc-en" if args.english else "cmrc-paraphrase" if args.paraphrased else "cmrc"
    gold = gold_set(args.split, context_ids, kind, args.traditional, args.unanswerable, args.limit)
    started = time.perf_counter()
    with progress_reporter() as progress:
        report = evaluate(answerer, gold, {d.id: d for d in documents}, top_k=args.k, progress=progress)
    ask_seconds = time.perf_counter() - started
    manifest = index.manifest
    report.extra = {
        "split": args.split, "model": args.model, "contexts": len(documents),
        "passages": manifest.passage_count, "sentences": manifest.sentence_count,
        "index_build_seconds": manifest.build_seconds,
        "passages_per_second": round(manifest.passage_count / manifest.build_seconds, 2),
        "texts_per_second": round((manifest.passage_count + manifest.sentence_count) / manifest.build_seconds, 2),
        "index_load_seconds": round(load_seconds, 2), "ask_seconds": round(ask_seconds, 2),
        "index_engine": manifest.engine, "retriever": args.retriever, "reader": args.reader, "fuse_always": args.fuse_always,
        "questions": {"cmrc": "original", "cmrc-en": "english (translated by the project)", "cmrc-paraphrase": "paraphrased by the project"}[kind],
        "text": {None: "as published", "all": "traditional Chinese (OpenCC s2twp)", "corpus": "corpus in traditional Chinese (OpenCC s2twp), questions as published"}[args.traditional],
        "store": "postgresql" if args.postgresql else "faiss directory",
        "vector_index": manifest.vector_index,
    }
    data = report.to_json()
    data.pop("results")
    data["failures"] = data["failures"][:200]
    RESULTS.mkdir(exist_ok=True)
    name = f"cmrc-{args.split}" + {"cmrc": "", "cmrc-en": "-english", "cmrc-paraphrase": "-paraphrased"}[kind] + (f"-limit{args.limit}" if args.limit else "") + (
        f"-{args.retriever}" if args.retriever != "hybrid" else "") + (f"-{args.reader}" if args.reader != "trained" else "") + (
        "-fused" if args.fuse_always else "") + {None: "", "all": "-traditional", "corpus": "-traditional-corpus"}[args.traditional] + ("-with-unanswerable" if args.unanswerable else "") + ("-postgresql" if args.postgresql else "")
    (RESULTS / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
        return
    console = stdout_console()
    report.results = report.failures[:30]  # the table uses the totals computed above
    print_report(report, console)
    extra = report.extra
    print(f"\n{extra['contexts']} contexts, {extra['passages']} passages, {extra['sentences']} sentences; "
          f"index build {extra['index_build_seconds']:.0f} s ({extra['passages_per_second']} passages/s, "
          f"{extra['texts_per_second']} texts/s on {extra['index_engine']}); "
          f"{len(gold)} questions in {ask_seconds:.0f} s")


def gold_set(split: str, context_ids: set[str], kind: str, traditional: str | None,
             unanswerable: bool, limit: int | None = None) -> list[GoldQuestion]:
    """The questions asked over the split's contexts `context_ids`: as published (kind "cmrc"),
    the project's English translations ("cmrc-en") or paraphrases ("cmrc-paraphrase"), plus its
    unanswerable ones. `traditional` "all" converts Chinese questions and answers with s2twp,
    "corpus" the answers only (the questions stay as published)."""
    unchanged = lambda text: text  # noqa: E731
    convert = taiwan_traditional if traditional else unchanged
    convert_question = convert if traditional == "all" else unchanged
    folder = DATA if split == "dev" else DATA / "trial"
    loaders = {"cmrc-en": load_translations, "cmrc-paraphrase": load_paraphrases}
    rewritten = loaders[kind](folder) if kind in loaders else {}
    english = kind == "cmrc-en"
    questions = load_questions(split)
    gold = [
        GoldQuestion(q.id, rewritten[q.id] if english else convert_question(rewritten.get(q.id, q.question)),
                     tuple(convert(a) for a in q.answers), (), True, kind, q.context_id)
        for q in questions
        if q.context_id in context_ids and (not rewritten or q.id in rewritten)
    ][:limit]
    if unanswerable:
        context_of = {q.id: q.context_id for q in questions}
        gold += [
            GoldQuestion(f"{u.id}-unanswerable", u.question_en if english else convert_question(u.question), (), (), False, "unanswerable", context_of[u.id])
            for u in load_unanswerable(folder).values()
            if context_of[u.id] in context_ids
        ][:limit]
    return gold


def postgresql_copy(index, name: str):
    """The corpus index copied into a PostgreSQL kept under bench/.cache/postgresql/ (copied
    again when the FAISS index was rebuilt since)."""
    import pgserver

    from index.postgres import PostgresStore

    import psycopg

    server = pgserver.get_server(Path(__file__).resolve().parent / ".cache" / "postgresql", cleanup_mode=None)
    database = "cmrc_" + name.replace("-", "_")
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
            connection.execute(f"CREATE DATABASE {database}")
    store = PostgresStore(server.get_uri().replace("/postgres?", f"/{database}?", 1))
    if not store.exists() or store.read_manifest().passage_count != index.manifest.passage_count:
        started = time.perf_counter()
        with store.writing() as writer:
            manifest = writer.copy_index(index)
        print(f"copied {manifest.passage_count} passages into PostgreSQL in {time.perf_counter() - started:.0f} s "
              f"(HNSW ef_search {manifest.vector_index['ef_search']}, tuned recall {manifest.vector_index['tuned_recall']})",
              file=sys.stderr)
    return store.open()


if __name__ == "__main__":
    main()
