"""The vendor API documents in ../shared/seeds/ (seeds 000–003), parsed into operations and examples.

The seeds are kept beside the repository and never copied into it; tests read them at run time.
Two layouts occur:

- Cortex (000, 001): each operation shows a raw HTTP request (`GET /api/v1/... HTTP/1.1`, headers),
  then, when it has one, the example request body, then the example response: JSON, a bare word
  (`text`: a string body) or `No content`.
- Datadog (002, 003): Markdown sections `# Title{% #slug %}` / `## Title{% #slug %}` with a table of
  endpoints (`POST https://api.datadoghq.com/api/v2/...`), a `### Request` example, a `### Response`
  whose first tab is the success status (with an example unless the status has no body), and curl
  code examples whose `-d @- << EOF ... EOF` bodies are example requests too.

`parse_seed` returns the operations in document order; `tests/api/test_seed_examples.py` pins how
many it must find per seed, so a parser regression cannot silently drop cases.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

SEEDS = Path(os.environ.get("SEEDS_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "seeds"))
SEED_NUMBERS = ("000", "001", "002", "003")


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NO_CONTENT = _Marker("NO_CONTENT")  # the success response has no body
TEXT = _Marker("TEXT")  # the success response is a plain string (a descriptor's YAML)


@dataclass
class Operation:
    seed: str
    name: str  # a slug naming the operation within its seed
    method: str
    path: str  # with `{placeholders}`
    response: object  # parsed JSON, NO_CONTENT or TEXT
    status: int | None = None  # the documented success status (Datadog seeds); None: any 2xx
    requests: list[tuple[str, object]] = field(default_factory=list)  # (label, body), distinct bodies
    path_examples: dict[str, str] = field(default_factory=dict)  # `export name="value"` of the code examples
    query_strings: dict[str, str] = field(default_factory=dict)  # documented query parameter -> description
    content_type: str = ""  # of the example request (Cortex seeds show its headers)
    text: str = ""  # the operation's section of the seed, for checks that read the prose


def seed_file(number: str) -> Path:
    found = sorted(SEEDS.glob(f"{number}_*.txt"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one seed {number}_*.txt in {SEEDS}, found {len(found)}")
    return found[0]


def parse_seed(number: str) -> list[Operation]:
    text = seed_file(number).read_text(encoding="utf-8")
    if re.search(r"^(GET|POST|PUT|PATCH|DELETE) /\S+ HTTP/1\.1$", text, re.M):
        return parse_cortex(number, text)
    return parse_datadog(number, text)


# --- Cortex ----------------------------------------------------------------------------------------

_REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (/\S+) HTTP/1\.1[ \t]*$", re.M)
_HEADER = re.compile(r"[A-Za-z][A-Za-z0-9-]*: [^\n]*")
_DECODER = json.JSONDecoder()


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _json_at(text: str, pos: int) -> tuple[object, int] | None:
    """The JSON object or array starting at `pos` (after blanks), or None when there is none."""
    pos = _skip_space(text, pos)
    if pos >= len(text) or text[pos] not in "{[":
        return None
    return _DECODER.raw_decode(text, pos)


def _slug(method: str, path: str) -> str:
    rest = re.sub(r"^/api/v\d+/", "", path)
    words = re.sub(r"[^A-Za-z0-9]+", "-", rest).strip("-")
    return f"{method.lower()}-{words}"


def parse_cortex(number: str, text: str) -> list[Operation]:
    operations = []
    matches = list(_REQUEST_LINE.finditer(text))
    for index, match in enumerate(matches):
        method, path = match.group(1), match.group(2)
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        pos = match.end()
        headers: dict[str, str] = {}
        while True:
            start = _skip_space(text, pos)
            header = _HEADER.match(text, start)
            if header is None or header.group(0).startswith(("{", "[")):
                break
            name, _, value = header.group(0).partition(": ")
            headers[name.lower()] = value.strip()
            pos = header.end()
        values = []
        while len(values) < 2:
            found = _json_at(text, pos)
            if found is None or found[1] > end:
                break
            values.append(found[0])
            pos = found[1]
        has_body = "content-length" in headers or (
            headers.get("content-type", "").startswith("application/json") and len(values) == 2
        )
        request = values.pop(0) if has_body and values else None
        if values:
            response = values[0]
        else:
            word = text[_skip_space(text, pos) : end].strip().splitlines()
            first = word[0].strip() if word else ""
            response = NO_CONTENT if first.lower() in ("", "no content") else TEXT
        operation = Operation(
            seed=number,
            name=_slug(method, path),
            method=method,
            path=path,
            response=response,
            content_type=headers.get("content-type", ""),
            text=text[:end],
        )
        if request is not None:
            operation.requests.append(("request", request))
        operations.append(operation)
    return operations


# --- Datadog ---------------------------------------------------------------------------------------

_SECTION = re.compile(r"^#{1,2} [^\n{]+\{% #([a-z0-9-]+) %\}[ \t]*$", re.M)
_ENDPOINT = re.compile(r"\| (GET|POST|PUT|PATCH|DELETE) https://[^/\s|]+(/api/[^\s|]+)")
_TAB_STATUS = re.compile(r'\{% tab title="(\d{3})" %\}')
_EXAMPLE_JSON = re.compile(r'\{% tab title="Example" %\}\s*```json\n(.*?)\n```', re.S)
_HEREDOC = re.compile(r"-d @- << EOF\n(.*?)\nEOF", re.S)
_EXPORT = re.compile(r'export (\w+)="([^"]*)"')
_QUERY_ROW = re.compile(r"^\| ([a-z_\[\]]+)\s+\| [a-z]+\s+\| (.*?)\s*\|$", re.M)


def _between(text: str, start: str, stop: str) -> str:
    begin = text.find(start)
    if begin < 0:
        return ""
    finish = text.find(stop, begin + len(start))
    return text[begin : finish if finish >= 0 else len(text)]


def parse_datadog(number: str, text: str) -> list[Operation]:
    operations = []
    sections = list(_SECTION.finditer(text))
    for index, match in enumerate(sections):
        end = sections[index + 1].start() if index + 1 < len(sections) else len(text)
        body = text[match.end() : end]
        endpoint = _ENDPOINT.search(body)
        if endpoint is None:
            continue  # a heading without an operation (the page title)
        method, path = endpoint.group(1), endpoint.group(2)

        response_part = _between(body, "### Response", "### Code Example")
        tabs = list(_TAB_STATUS.finditer(response_part))
        if not tabs:
            raise ValueError(f"seed {number} {match.group(1)}: no response status")
        status = int(tabs[0].group(1))
        first_tab = response_part[tabs[0].end() : tabs[1].start() if len(tabs) > 1 else len(response_part)]
        example = _EXAMPLE_JSON.search(first_tab)
        response = json.loads(example.group(1)) if example else NO_CONTENT

        requests: list[tuple[str, object]] = []
        request_part = _between(body, "### Request", "### Response")
        example = _EXAMPLE_JSON.search(request_part)
        if example:
            requests.append(("request", json.loads(example.group(1))))
        code = body[body.find("### Code Example") :] if "### Code Example" in body else ""
        for number_in_code, heredoc in enumerate(_HEREDOC.finditer(code)):
            document = json.loads(heredoc.group(1))
            if all(document != seen for _, seen in requests):
                requests.append(("curl" if number_in_code == 0 else f"curl{number_in_code + 1}", document))

        query_part = _between(body, "#### Query Strings", "###")
        operations.append(
            Operation(
                seed=number,
                name=match.group(1),
                method=method,
                path=path,
                response=response,
                status=status,
                requests=requests,
                path_examples=dict(_EXPORT.findall(code)),
                query_strings=dict(_QUERY_ROW.findall(query_part)),
                text=body,
            )
        )
    return operations
