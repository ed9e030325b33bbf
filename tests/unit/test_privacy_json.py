"""The privacy service's JSON for big documents: the GIL-sharing reader and the writer in pieces give what the
standard library's one-call functions give."""

from __future__ import annotations

import json

from bot.services import privacy


def _document(count: int) -> dict[str, object]:
    return {"memories": [{"content": f'é {index} \u2028 "q"', "source_user_id": index} for index in range(count)]}


def test_big_documents_read_and_write_as_the_standard_library_does() -> None:
    document = _document(20_000)
    text = json.dumps(document, ensure_ascii=False)
    assert len(text) > privacy.register.SHARED_JSON_CHARS  # read by the sharing parser
    assert privacy.load_document(text) == document
    assert privacy.dump_document(document) == text
    assert privacy.export_json(document) == json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def test_release_export_empties_every_section() -> None:
    data = {"user_id": 1, "memories": [{"id": 1}], "follows": [{"id": 2}]}
    sections = [data["memories"], data["follows"]]
    privacy.release_export(data)
    assert data == {} and sections == [[], []]
