"""How `MIN_OVERLAP` of the claim check was measured (assistant/answer/citations.py).

Without a set of real model answers, a gold question stands in for a faithful claim: it
uses the words a buyer uses for the topic, as an answer sentence restating it would. For
each answerable question of the gold sets, search runs as in the app; the share of the
question's content words found in its gold passage (a supported claim) is set beside the
same share in the retrieved passages that are not gold (a claim cited to the wrong source;
these are hard negatives: retrieved for the same words). Split by whether the passage is in
the question's language. Prints the distribution and, for each candidate threshold, the share
of gold pairs kept and of wrong pairs rejected.

    python -m benchmarks.claims corpus eval/gold-corpus.jsonl
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from assistant.answer.citations import hit_text, overlap
from assistant.config import get_settings
from assistant.evaluation.retrieval import load_gold, normalise
from assistant.text.language import detect_language


def main(docs: str, *gold_paths: str) -> None:
    from assistant.services import Services

    with tempfile.TemporaryDirectory() as tmp:
        settings = get_settings().model_copy(update={"data_dir": Path(tmp), "corpus_dir": Path(docs),
                                                     "embeddings": "local"})
        services = Services.build(settings)
        services.corpus.sync([Path(docs)])
        pairs: dict[tuple[str, bool], list[float]] = {}
        for path in gold_paths:
            for q in load_gold(Path(path)):
                if not q.answerable or not q.expect:
                    continue
                lang = detect_language(q.question)
                for hit in services.retriever.search(q.question, k=5).hits[:5]:
                    gold = any(e["source"] in hit.source and normalise(e["text"]) in normalise(hit.text)
                               for e in q.expect)
                    share, n = overlap(q.question, hit_text(hit))
                    if n:
                        pairs.setdefault(("gold" if gold else "other", hit.language == lang), []).append(share)
    for same in (True, False):
        gold, other = pairs.get(("gold", same), []), pairs.get(("other", same), [])
        if not gold or not other:
            continue
        print(f"\npassage in {'the same' if same else 'another'} language: {len(gold)} gold pairs, "
              f"{len(other)} other; median overlap {statistics.median(gold):.2f} vs {statistics.median(other):.2f}")
        print("threshold  gold kept  other rejected")
        for t in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6):
            kept = sum(s >= t for s in gold) / len(gold)
            rejected = sum(s < t for s in other) / len(other)
            print(f"{t:9.2f}  {kept:9.2f}  {rejected:14.2f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
