"""The relevance gate on corpora it was not calibrated on (real e5, real FAISS).

The gate's zero point is each index's own background (app.relevance): an English
question over English documents must get through although English cosines run lower
than the Chinese notes' ones, and an off-topic question must still be refused there.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.relevance import BACKGROUND, OFFSET, Nearest, measure_background, relevance
from app.settings import Settings
from app.wiring import retriever_from
from ingest.embed import Embedder, normalize

from ..conftest import IndexOf

GATEWAY = """# Gateway operations guide

## Network
The gateway listens on port 8443 for TLS traffic and on port 8080 for health checks.
Firewall rules must allow inbound connections on both ports from the load balancer.

## Logging
Access logs are written to /var/log/gateway/access.log and rotated every night at 02:00.
Keep at least fourteen days of logs for the audit team.

## Restarts
Restart the gateway with `systemctl restart gateway`; a restart drops open connections,
so announce it in the operations channel first.
"""


@pytest.fixture(scope="module")
def english_settings(tmp_path_factory: pytest.TempPathFactory, index_of: IndexOf) -> Settings:
    folder = tmp_path_factory.mktemp("gateway-docs")
    (folder / "gateway.md").write_text(GATEWAY, encoding="utf-8")
    return index_of([folder], "gateway-index")


def test_english_questions_over_english_documents_pass_and_off_topic_ones_do_not(
    english_settings: Settings, embedder: Embedder
) -> None:
    retriever = retriever_from(english_settings, embedder=embedder)
    asked = retriever.search("Which port does the gateway listen on?")
    assert asked.found and "8443" in asked.hits[0].chunk.text
    assert retriever.search("Where are the access logs written?").found
    # Off-topic for this corpus, and not one of the background questions.
    assert not retriever.search("Who won the 2018 football World Cup?").found
    assert not retriever.search("中国的首都是哪座城市？").found


def test_notes_gate_still_refuses_off_topic_and_answers_on_topic(
    notes_settings: Settings, embedder: Embedder
) -> None:
    retriever = retriever_from(notes_settings, embedder=embedder)
    assert retriever.search("LoRA 微调是怎么做的？").found
    assert not retriever.search("如何在家里自制酸奶？").found
    assert not retriever.search("How do I change a flat tyre on a car?").found


def test_background_is_measured_per_language_and_rises_with_a_matching_corpus(
    embedder: Embedder,
) -> None:
    unrelated = normalize(embedder.embed_documents(["量子计算中的超导比特需要极低温度。"]))
    recipe = "红烧肉的做法：五花肉焯水后炒糖色，再小火炖一小时。"
    cooking = normalize(embedder.embed_documents([recipe]))

    def nearest(vectors: np.ndarray) -> Nearest:  # one chunk: its cosine to the question
        return lambda q, k: [(0, float((vectors @ q)[0]))]

    plain = measure_background(embedder, nearest(unrelated))
    assert set(plain.by_lang) == set(BACKGROUND)
    assert 0.5 < plain.of("zh") < 1.0 and plain.of("fr") == plain.of("en")
    # One on-topic background question moves the median little: the zero point is robust.
    assert abs(measure_background(embedder, nearest(cooking)).of("zh") - plain.of("zh")) < 0.03


def test_relevance_is_monotone_and_half_at_the_boundary() -> None:
    assert relevance(0.80 + OFFSET, 0.0, 0.80) == pytest.approx(0.5)
    assert relevance(0.85, 0.0, 0.80) > relevance(0.84, 0.0, 0.80)
    assert relevance(0.84, 0.9, 0.80) > relevance(0.84, 0.2, 0.80)
    assert relevance(0.84, 0.0, 0.78) > relevance(0.84, 0.0, 0.80)
