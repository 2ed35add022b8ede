"""Knowledge bases managed live: list, create, delete; documents upload and delete;
background rebuilds with progress. The changing endpoints need the admin token."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from app.api.body_limit import MAX_FILES
from app.api.deps import Admin, Jobs, Lib
from app.api.schemas import DocumentTextOut, KBCreate, KBOut, KBsResponse
from app.document_view import document_view
from app.kb_files import Upload, delete_document, list_documents, save_uploads
from app.library import DEFAULT
from ingest.errors import BuildInProgressError, InputError, TooLargeError

router = APIRouter(prefix="/api/kbs", tags=["knowledge bases"])


def _kb(library: Lib, name: str) -> KBOut:
    return KBOut.model_validate(library.info(name), from_attributes=True)


@router.get("")
def list_kbs(request: Request, library: Lib) -> KBsResponse:
    token = request.app.state.settings.admin_token
    return KBsResponse(
        kbs=[_kb(library, n) for n in library.names()],
        admin=bool(token is not None and token.get_secret_value()),
        default=DEFAULT,
    )


@router.post("", status_code=201, dependencies=[Admin])
def create_kb(body: KBCreate, library: Lib) -> KBOut:
    library.create(body.name)
    return _kb(library, body.name)


@router.delete("/{name}", dependencies=[Admin])
def delete_kb(name: str, library: Lib, jobs: Jobs, purge: bool = False) -> dict[str, Any]:
    """Remove a knowledge base's index; ``purge=true`` also its documents folder."""
    library.require(name)
    if jobs.running(name):
        raise BuildInProgressError(f"a rebuild of {name!r} is running; delete it afterwards")
    done = library.delete(name, purge_documents=purge)
    return {
        "deleted": name,
        "documents_removed": done.documents_removed,
        # Kept inside the default's folder: its builds leave them out (app.library).
        "documents_left_out_of_default": done.left_out_of_default,
        # purge=true on a folder that was there before the knowledge base: kept.
        "documents_kept_not_made_by_notesqa": done.purge_refused,
    }


@router.get("/{name}")
def get_kb(name: str, library: Lib) -> KBOut:
    return _kb(library, name)


@router.get("/{name}/documents")
def documents(name: str, library: Lib) -> dict[str, Any]:
    """Indexed documents and the folder's files: ``indexed``, ``pending`` (uploaded,
    not rebuilt yet), ``changed`` or ``missing`` (deleted, still in the index)."""
    store = library.store(name)
    manifest = store.read_manifest() if store.current_path() is not None else None
    folder = library.docs_dir(name)
    _, exclude = library.sources(name) if folder is not None else ([], [])
    entries = list_documents(folder, manifest, exclude=exclude)
    return {"kb": name, "folder": str(folder) if folder else None, "documents": entries}


@router.get("/{name}/documents/{doc_id}/text")
def document_text(name: str, doc_id: str, library: Lib) -> DocumentTextOut:
    """A document's cleaned text as indexed, with the offsets of its chunks and pages:
    a citation's ``start``/``end`` point into this text."""
    index = library.get(name).load().retriever.index
    return DocumentTextOut.model_validate(document_view(index, doc_id), from_attributes=True)


@router.post("/{name}/documents", status_code=201, dependencies=[Admin])
async def upload(
    name: str, request: Request, library: Lib, jobs: Jobs, rebuild: bool = False
) -> dict[str, Any]:
    """Multipart upload of one or more files (any field name); ``rebuild=true`` starts an
    incremental rebuild once they are stored."""
    library.require(name)
    folder = library.docs_dir(name)
    if folder is None:
        raise InputError(f"knowledge base {name!r} has no documents folder to upload into")
    if rebuild:
        jobs.check_free(name)  # a 409 before anything is saved, not after
    max_bytes = int(library.settings.max_file_mb * 1_000_000)
    # The body as a whole is bounded before it is read (app.api.body_limit).
    # Starlette's own bound only stops a form of thousands of parts (its answer is a bare
    # 400); up to that, the number of files is checked here and answered as too large.
    form = await request.form(max_files=50 * MAX_FILES, max_fields=10)
    try:
        files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        if not files:
            raise InputError("no file in the upload: send multipart/form-data with files")
        if len(files) > MAX_FILES:
            raise TooLargeError(f"{len(files)} files in one upload; at most {MAX_FILES}")
        uploads = [Upload(f.filename or "", f.file) for f in files]
        # Copying and fsyncing up to 20 files is disk work: off the event loop.
        saved = await anyio.to_thread.run_sync(
            lambda: save_uploads(folder, uploads, max_bytes=max_bytes)
        )
    finally:
        await form.close()
    status = jobs.start_after_change(name).as_dict() if rebuild else None
    return {"kb": name, "saved": saved, "rebuild": status}


@router.delete("/{name}/documents/{doc_id}", dependencies=[Admin])
def delete(
    name: str, doc_id: str, library: Lib, jobs: Jobs, rebuild: bool = False
) -> dict[str, Any]:
    library.require(name)
    if rebuild:
        jobs.check_free(name)  # a 409 before the file is deleted, not after
    _, exclude = library.sources(name)
    source = delete_document(library.docs_dir(name), doc_id, exclude=exclude)
    status = jobs.start_after_change(name).as_dict() if rebuild else None
    return {"kb": name, "deleted": source, "rebuild": status}


@router.post("/{name}/rebuild", status_code=202, dependencies=[Admin])
def start_rebuild(name: str, jobs: Jobs, full: bool = False) -> dict[str, Any]:
    return jobs.start(name, full=full).as_dict()


@router.get("/{name}/rebuild")
def rebuild_status(name: str, jobs: Jobs) -> dict[str, Any]:
    """The running or last rebuild: state, each stage's progress, its report or error."""
    return jobs.status(name).as_dict()
