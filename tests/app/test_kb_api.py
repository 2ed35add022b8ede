"""Knowledge bases managed live over HTTP, on a real uvicorn server with the real
embedding model and FAISS. The generator is the extractive one (real, no LLM): it copies
the best sentences of the passages, so an answer shows which knowledge base it came from.
"""

from __future__ import annotations

import io
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kb_server import AUTH, TOKEN, make_settings, wait_rebuild
from live import Server, metric
from pydantic import SecretStr

from app.llm.extractive import ExtractiveGenerator
from app.rebuilds import Rebuilds
from app.settings import Settings
from app.wiring import store_from
from ingest.errors import BuildInProgressError

GBK_TEXT = "星河计划的负责人是周明，预算为三百万元。"


@pytest.fixture
def admin(notes_settings: Settings, notes_index_dir: Path, tmp_path: Path) -> Iterator[Server]:
    settings = make_settings(
        notes_settings, tmp_path, notes_index_dir, admin_token=SecretStr(TOKEN)
    )
    with Server(settings, ExtractiveGenerator()) as srv:
        yield srv


def pdf_bytes(text: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.cell(text=text)
    return bytes(pdf.output())


def docx_bytes(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_changing_endpoints_are_off_without_an_admin_token(
    notes_settings: Settings, notes_index_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings(notes_settings, tmp_path, notes_index_dir)
    with Server(settings, ExtractiveGenerator()) as srv:
        listed = httpx.get(f"{srv.url}/api/kbs").json()
        assert listed["admin"] is False and [k["name"] for k in listed["kbs"]] == ["default"]
        for method, path in [
            ("POST", "/api/kbs"),
            ("DELETE", "/api/kbs/default"),
            ("POST", "/api/kbs/default/rebuild"),
            ("POST", "/api/kbs/default/documents"),
            ("DELETE", "/api/kbs/default/documents/abc"),
        ]:
            reply = httpx.request(method, f"{srv.url}{path}", json={"name": "x"}, headers=AUTH)
            assert reply.status_code == 403, (path, reply.text)
            assert "NOTESQA_ADMIN_TOKEN" in reply.json()["error"]["message"]


def test_a_wrong_or_missing_token_is_401(admin: Server) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        reply = httpx.post(f"{admin.url}/api/kbs", json={"name": "x"}, headers=headers)
        assert reply.status_code == 401 and reply.json()["error"]["code"] == "unauthorized"
        assert TOKEN not in reply.text
    assert "x" not in [k["name"] for k in httpx.get(f"{admin.url}/api/kbs").json()["kbs"]]


def test_create_upload_rebuild_ask_delete(admin: Server) -> None:
    url = admin.url
    created = httpx.post(f"{url}/api/kbs", json={"name": "proj"}, headers=AUTH)
    assert created.status_code == 201 and created.json()["indexed"] is False
    again = httpx.post(f"{url}/api/kbs", json={"name": "proj"}, headers=AUTH)
    assert again.status_code == 409
    files = [
        ("files", ("plan.txt", GBK_TEXT.encode("gbk"), "text/plain")),
        (
            "files",
            ("guide.pdf", pdf_bytes("The launch checklist has seven steps."), "application/pdf"),
        ),
        (
            "files",
            ("memo.docx", docx_bytes("季度例会定在每月第一个周一。"), "application/octet-stream"),
        ),
    ]
    reply = httpx.post(
        f"{url}/api/kbs/proj/documents?rebuild=true", files=files, headers=AUTH, timeout=60
    )
    assert reply.status_code == 201, reply.text
    assert sorted(reply.json()["saved"]) == ["guide.pdf", "memo.docx", "plan.txt"]
    status = wait_rebuild(url, "proj")
    assert status["state"] == "done", status
    assert [s["name"] for s in status["stages"]] == ["read", "embed", "write"]
    assert all(s["done"] == s["total"] and s["eta_s"] == 0 for s in status["stages"])
    assert sorted(status["report"]["added"]) == ["guide.pdf", "memo.docx", "plan.txt"]
    # The last rebuild's report outlives the server (read back by a fresh process's jobs).
    restarted = Rebuilds(admin.app.state.library).status("proj")
    assert restarted.state == "done" and restarted.report == status["report"]

    docs = httpx.get(f"{url}/api/kbs/proj/documents").json()["documents"]
    assert {d["source"]: d["status"] for d in docs} == dict.fromkeys(
        ["guide.pdf", "memo.docx", "plan.txt"], "indexed"
    )
    question = "星河计划的负责人是谁？"
    answer = httpx.post(f"{url}/api/ask", json={"question": question, "kb": "proj"}, timeout=60)
    assert answer.status_code == 200 and "周明" in answer.json()["answer"], answer.text
    assert answer.json()["sources"][0]["source"] == "plan.txt"
    default = httpx.post(f"{url}/api/ask", json={"question": question}, timeout=60).json()
    assert "周明" not in default["answer"]
    assert all(s["source"] != "plan.txt" for s in default["sources"])
    # The PDF's and the Word document's own text, found in their knowledge base only.
    for query, source, text in [
        ("How many steps does the launch checklist have?", "guide.pdf", "seven steps"),
        ("季度例会定在什么时候？", "memo.docx", "每月第一个周一"),
    ]:
        found = httpx.post(f"{url}/api/search", json={"query": query, "kb": "proj"}).json()
        assert found["hits"][0]["source"] == source and text in found["hits"][0]["text"], found
        elsewhere = httpx.post(f"{url}/api/search", json={"query": query}).json()["hits"]
        assert all(h["source"] != source and text not in h["text"] for h in elsewhere)

    # Each knowledge base is a model of the OpenAI-compatible API.
    models = [m["id"] for m in httpx.get(f"{url}/v1/models").json()["data"]]
    assert models == ["notesqa", "notesqa:proj"]
    chat = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "notesqa:proj", "messages": [{"role": "user", "content": question}]},
        timeout=60,
    ).json()
    assert "周明" in chat["choices"][0]["message"]["content"] and chat["model"] == "notesqa:proj"
    unknown = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "notesqa:nope", "messages": [{"role": "user", "content": question}]},
    )
    assert unknown.status_code == 404 and "notesqa:proj" in unknown.json()["error"]["message"]

    memo = next(d for d in docs if d["source"] == "memo.docx")
    gone = httpx.delete(f"{url}/api/kbs/proj/documents/{memo['id']}?rebuild=true", headers=AUTH)
    assert gone.status_code == 200 and gone.json()["deleted"] == "memo.docx"
    status = wait_rebuild(url, "proj")
    assert status["report"]["removed"] == ["memo.docx"]
    left = [d["source"] for d in httpx.get(f"{url}/api/kbs/proj/documents").json()["documents"]]
    assert left == ["guide.pdf", "plan.txt"]
    hits = httpx.post(f"{url}/api/search", json={"query": "季度例会", "kb": "proj"}).json()["hits"]
    assert all(h["source"] != "memo.docx" for h in hits)

    deleted = httpx.delete(f"{url}/api/kbs/proj", headers=AUTH)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {
        "deleted": "proj",
        "documents_removed": False,
        "documents_left_out_of_default": True,  # its folder is inside the default's
        "documents_kept_not_made_by_notesqa": False,  # no purge was asked
    }
    # Kept, its documents do not become the default one's to index.
    listed = httpx.get(f"{url}/api/kbs/default/documents").json()["documents"]
    assert listed and all(not d["source"].endswith("plan.txt") for d in listed), listed
    after = httpx.post(f"{url}/api/search", json={"query": "星河", "kb": "proj"})
    assert after.status_code == 404 and after.json()["error"]["code"] == "not_found"


def test_unknown_and_bad_names(admin: Server) -> None:
    url = admin.url
    assert httpx.get(f"{url}/api/kbs/nope/documents").status_code == 404
    assert httpx.post(f"{url}/api/search", json={"query": "x", "kb": "nope"}).status_code == 404
    bad = httpx.post(f"{url}/api/search", json={"query": "x", "kb": "../../etc"})
    assert bad.status_code == 400 and "name" in bad.json()["error"]["message"]
    made = httpx.post(f"{url}/api/kbs", json={"name": "a.b"}, headers=AUTH)
    assert made.status_code == 400
    assert httpx.delete(f"{url}/api/kbs/default", headers=AUTH).status_code == 400


UPLOAD_ATTACKS = [
    ("../evil.txt", b"text", 400),
    ("../../outside.txt", b"text", 400),
    ("/etc/evil.txt", b"text", 400),
    ("sub/evil.txt", b"text", 400),
    ("sub\\evil.txt", b"text", 400),
    (".hidden.txt", b"text", 400),
    ("nul\x00.txt", b"text", 400),
    ("evil.sh", b"#!/bin/sh", 415),
    ("noext", b"text", 415),
    ("fake.pdf", b"this is not a pdf at all", 415),
    ("zip.docx", None, 415),  # a zip archive that is not a Word document
    ("zip.xlsx", None, 415),
    ("zip.pptx", None, 415),
    ("fake.png", b"GIF89a a GIF named .png", 415),
    ("fake.jpg", b"plain text", 415),
    ("binary.txt", b"\x7fELF\x02\x01\x01\x00\x00\x00", 415),
    ("empty.txt", b"   ", 400),
]


def test_upload_attacks_write_nothing(admin: Server, tmp_path: Path) -> None:
    url = admin.url
    httpx.post(f"{url}/api/kbs", json={"name": "safe"}, headers=AUTH)
    before = sorted(p for p in tmp_path.rglob("*") if "indexes" not in p.parts)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "not word")
    for name, content, status in UPLOAD_ATTACKS:
        data = archive.getvalue() if content is None else content
        # By hand: a client library would escape the name (httpx sends NUL as %00).
        body = (
            b'--B\r\nContent-Disposition: form-data; name="files"; filename="'
            + name.encode()
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
            + data
            + b"\r\n--B--\r\n"
        )
        headers = AUTH | {"Content-Type": "multipart/form-data; boundary=B"}
        reply = httpx.post(f"{url}/api/kbs/safe/documents", content=body, headers=headers)
        assert reply.status_code == status, (name, reply.text)
        assert reply.json()["error"]["message"]
    # One bad file refuses the whole request: the good one is not written either.
    mixed = [("files", ("good.txt", b"fine text")), ("files", ("bad.pdf", b"nope"))]
    reply = httpx.post(f"{url}/api/kbs/safe/documents", files=mixed, headers=AUTH)
    assert reply.status_code == 415
    many = [("files", (f"n{i}.txt", b"fine text")) for i in range(21)]
    reply = httpx.post(f"{url}/api/kbs/safe/documents", files=many, headers=AUTH)
    assert reply.status_code == 413 and reply.json()["error"]["code"] == "too_large"
    after = sorted(p for p in tmp_path.rglob("*") if "indexes" not in p.parts)
    assert after == before  # nothing written anywhere, not even a temporary file
    assert not list((tmp_path / "docs" / "safe").iterdir())


def test_upload_size_limit(notes_settings: Settings, notes_index_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(
        notes_settings, tmp_path, notes_index_dir, admin_token=SecretStr(TOKEN), max_file_mb=0.001
    )
    with Server(settings, ExtractiveGenerator()) as srv:
        big = [("files", ("big.txt", "长" * 2000))]
        reply = httpx.post(f"{srv.url}/api/kbs/default/documents", files=big, headers=AUTH)
        assert reply.status_code == 413 and "limit" in reply.json()["error"]["message"]
        assert not (tmp_path / "docs" / "big.txt").exists()


def test_rebuild_while_asking_switches_without_a_failed_request(admin: Server) -> None:
    url = admin.url
    before = httpx.get(f"{url}/api/index").json()["version"]
    (Path(admin.app.state.settings.docs_dir) / "new.txt").write_text(
        "青松集团的总部位于杭州西湖区。", encoding="utf-8"
    )
    failures: list[str] = []
    done = threading.Event()

    def ask_in_a_loop() -> None:
        with httpx.Client(timeout=60) as client:
            for i in range(200):  # bounded; stops when the rebuild is over
                body = {"question": "外挂知识库的具体流程是什么？"}
                reply = client.post(f"{url}/api/ask", json=body)
                if reply.status_code != 200:
                    failures.append(f"{i}: {reply.status_code} {reply.text[:200]}")
                if done.is_set():
                    return

    asker = threading.Thread(target=ask_in_a_loop)
    asker.start()
    started = httpx.post(f"{url}/api/kbs/default/rebuild?full=true", headers=AUTH)
    assert started.status_code == 202 and started.json()["state"] == "running"
    second = httpx.post(f"{url}/api/kbs/default/rebuild", headers=AUTH)
    assert second.status_code == 409 and "running" in second.json()["error"]["message"]
    # A CLI build of the same index meanwhile is refused by the lock, with a message.
    deadline = time.monotonic() + 30
    while not httpx.get(f"{url}/api/kbs/default/rebuild").json()["stages"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    lock = store_from(admin.app.state.settings).lock()
    with pytest.raises(BuildInProgressError, match="another build"), lock:
        pass
    status = wait_rebuild(url, "default", timeout=300)
    done.set()
    asker.join(120)
    assert status["state"] == "done", status
    assert failures == []
    after = httpx.get(f"{url}/api/index").json()
    assert after["version"] != before and after["version"] == status["report"]["version"]
    hits = httpx.post(f"{url}/api/search", json={"query": "青松集团的总部在哪里？"}).json()["hits"]
    assert hits[0]["source"] == "new.txt"


def test_a_cli_build_holding_the_lock_makes_a_rebuild_409(admin: Server) -> None:
    url = admin.url
    store = store_from(admin.app.state.settings)
    docs = Path(admin.app.state.settings.docs_dir)
    listed = httpx.get(f"{url}/api/kbs/default/documents").json()["documents"]
    with store.lock():
        reply = httpx.post(f"{url}/api/kbs/default/rebuild", headers=AUTH)
        # A change that asks for a rebuild is refused before it is made: a 409 means
        # the upload was not saved and the document not deleted.
        upload = httpx.post(
            f"{url}/api/kbs/default/documents?rebuild=true",
            files={"files": ("during.txt", "构建期间上传的文件。".encode(), "text/plain")},
            headers=AUTH,
        )
        delete = httpx.delete(
            f"{url}/api/kbs/default/documents/{listed[0]['id']}?rebuild=true", headers=AUTH
        )
    assert reply.status_code == 409 and "notesqa build" in reply.json()["error"]["message"]
    assert upload.status_code == 409 and not (docs / "during.txt").exists()
    assert delete.status_code == 409 and (docs / listed[0]["source"]).is_file()
    assert httpx.get(f"{url}/api/kbs/default/rebuild").json()["state"] == "idle"


def test_a_failed_rebuild_keeps_serving_and_reports(admin: Server) -> None:
    url = admin.url
    httpx.post(f"{url}/api/kbs", json={"name": "broken"}, headers=AUTH)
    folder = Path(admin.app.state.settings.docs_dir) / "broken"
    (folder / "ok.txt").write_text("第一版的内容：蓝鲸项目。", encoding="utf-8")
    httpx.post(f"{url}/api/kbs/broken/rebuild", headers=AUTH)
    first = wait_rebuild(url, "broken")
    assert first["state"] == "done"
    (folder / "ok.txt").unlink()
    (folder / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    httpx.post(f"{url}/api/kbs/broken/rebuild", headers=AUTH)
    status = wait_rebuild(url, "broken")
    assert status["state"] == "failed" and "nothing to index" in status["error"]["message"]
    hits = httpx.post(f"{url}/api/search", json={"query": "蓝鲸项目", "kb": "broken"}).json()
    assert hits["hits"][0]["source"] == "ok.txt"  # the last good version still serves
    # Each rebuild's duration is in /metrics, by knowledge base and outcome.
    scraped = httpx.get(f"{url}/metrics").text
    for state in ("done", "failed"):
        assert metric(scraped, "notesqa_build_seconds_count", kb="broken", state=state) == 1
        assert metric(scraped, "notesqa_build_seconds_sum", kb="broken", state=state) > 0
