"""Scans, photos and spreadsheets uploaded over HTTP, rebuilt (with a real OCR stage),
asked about and previewed: a real uvicorn server, the real embedding model, FAISS and
rapidocr. The generator is the extractive one (real, no LLM)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from documents_made import cjk_font, text_picture
from kb_server import AUTH, TOKEN, make_settings, wait_rebuild
from live import Server
from pydantic import SecretStr

from app.llm.extractive import ExtractiveGenerator
from app.settings import Settings

NOTICE = ["本周五下午三点在三楼会议室召开安全培训。", "请各部门负责人准时参加。"]


@pytest.fixture
def admin(
    notes_settings: Settings,
    notes_index_dir: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    cjk_font(tmp_path_factory)  # the picture is drawn in it
    settings = make_settings(
        notes_settings, tmp_path, notes_index_dir, admin_token=SecretStr(TOKEN)
    )
    with Server(settings, ExtractiveGenerator()) as srv:
        yield srv


def xlsx_bytes() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "值班"
    sheet.append(["日期", "值班人", "电话"])
    sheet.append(["周一", "林晓", "6021"])
    sheet.append(["周二", "陈默", "6022"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.slow
def test_a_photo_and_a_workbook_are_answered_cited_and_previewed(admin: Server) -> None:
    url = admin.url
    assert httpx.post(f"{url}/api/kbs", json={"name": "office"}, headers=AUTH).status_code == 201
    files = [
        ("files", ("notice.png", text_picture(NOTICE), "image/png")),
        ("files", ("duty.xlsx", xlsx_bytes(), "application/octet-stream")),
    ]
    reply = httpx.post(f"{url}/api/kbs/office/documents?rebuild=true", files=files, headers=AUTH)
    assert reply.status_code == 201, reply.text
    status = wait_rebuild(url, "office")
    assert status["state"] == "done", status
    assert [s["name"] for s in status["stages"]] == ["read", "embed", "write"]

    answer = httpx.post(
        f"{url}/api/ask", json={"question": "安全培训在哪里召开？", "kb": "office"}, timeout=60
    ).json()
    assert not answer["refused"] and "三楼会议室" in answer["answer"]
    [source] = [s for s in answer["sources"] if s["source"] == "notice.png"]
    assert source["origin"] == "ocr" and source["document_id"]

    # The preview: the document's text, where the cited part sits at the cited offsets.
    doc = httpx.get(f"{url}/api/kbs/office/documents/{source['document_id']}/text").json()
    assert doc["source"] == "notice.png"
    assert doc["text"][source["start"] : source["end"]] == source["text"]
    assert [c["origin"] for c in doc["chunks"]] == ["ocr"]

    hits = httpx.post(
        f"{url}/api/search", json={"query": "周二谁值班？", "kb": "office", "top_k": 2}
    ).json()["hits"]
    assert hits[0]["origin"] == "table" and "| 周二 | 陈默 | 6022 |" in hits[0]["text"]
    assert hits[0]["heading"] == "值班: 日期 | 值班人 | 电话"


def test_the_preview_of_an_unknown_document_is_404(admin: Server) -> None:
    reply = httpx.get(f"{admin.url}/api/kbs/default/documents/0123456789abcdef/text")
    assert reply.status_code == 404 and "no indexed document" in reply.json()["error"]["message"]
    listed = httpx.get(f"{admin.url}/api/kbs/default/documents").json()["documents"][0]
    doc = httpx.get(f"{admin.url}/api/kbs/default/documents/{listed['id']}/text").json()
    assert doc["source"] == listed["source"] and len(doc["chunks"]) == listed["chunks"]
    assert all(doc["text"][c["start"] : c["end"]] for c in doc["chunks"])
