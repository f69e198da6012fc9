"""The README's quick start, replayed line by line against the app, so it cannot rot.

Each line of its shell block is one the test knows how to replay: a key made with
`dispute-service keys create`, a curl call (its answer kept in a variable when the line
says so), or a comment. A line of any other kind fails the test: the README may not grow
a step this test skips.
"""

import re
import shlex
from typing import Any

from httpx import AsyncClient

from app.settings import PROJECT_ROOT
from tests.conftest import KeyMaker

HEADING = "## Quick start for integrators"
_KEY = re.compile(r"^(\w+)=\$\(\.venv/bin/dispute-service keys create (.+)\)$")
_CAPTURE = re.compile(r"^(\w+)=\$\((curl .+) \| json (\w+)\)$")
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")
JSON_HELPER = (
    "json() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' \"$1\"; }"
)


def quick_start() -> list[str]:
    """The quick start's shell lines, continuations joined."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split(HEADING, 1)[1]
    block = section.split("```sh\n", 1)[1].split("\n```", 1)[0]
    return [line.strip() for line in block.replace("\\\n", " ").splitlines()]


def _expand(text: str, variables: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in variables, f"${name} is used before it is set"
        return variables[name]

    return _VARIABLE.sub(value, text)


def _curl(command: str, variables: dict[str, str]) -> tuple[str, str, dict[str, str], str | None]:
    """curl's method, URL, headers and body, for the options the quick start uses."""
    words = shlex.split(_expand(command, variables))
    assert words[0] == "curl", command
    method, url, headers, body = None, None, {}, None
    rest = iter(words[1:])
    for word in rest:
        if word == "-s":
            continue
        if word == "-X":
            method = next(rest)
        elif word == "-H":
            name, _, value = next(rest).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            body = next(rest)
        elif not word.startswith("-") and url is None:
            url = word
        else:
            raise AssertionError(f"the quick start's curl uses {word!r}, which is not replayed")
    assert url is not None, command
    return method or ("POST" if body is not None else "GET"), url, headers, body


async def _send(client: AsyncClient, command: str, variables: dict[str, str]) -> dict[str, Any]:
    method, url, headers, body = _curl(command, variables)
    assert url.startswith(variables["API"]), url
    response = await client.request(
        method, url.removeprefix(variables["API"]), headers=headers, content=body
    )
    assert response.is_success, f"{command}\n-> {response.status_code} {response.text}"
    answer: dict[str, Any] = response.json()
    return answer


async def test_the_quick_start_works_pasted_in_order(
    client: AsyncClient, make_key: KeyMaker
) -> None:
    variables: dict[str, str] = {}
    answers: list[dict[str, Any]] = []
    for line in quick_start():
        if not line or line.startswith("#") or line == JSON_HELPER:
            continue
        if line.startswith("API="):
            variables["API"] = line.removeprefix("API=")
        elif key := _KEY.match(line):
            options = dict(zip(*[iter(shlex.split(key.group(2)))] * 2, strict=True))
            assert set(options) <= {"--role", "--name", "--vendor-id"}, line
            headers = await make_key(
                options["--role"], options.get("--vendor-id"), name=options["--name"]
            )
            variables[key.group(1)] = headers["Authorization"].removeprefix("Bearer ")
        elif capture := _CAPTURE.match(line):
            answers.append(await _send(client, capture.group(2), variables))
            variables[capture.group(1)] = str(answers[-1][capture.group(3)])
        elif line.startswith("curl "):
            answers.append(await _send(client, line, variables))
        else:
            raise AssertionError(f"a quick start line the test cannot replay: {line}")

    # What the quick start says happens: a verdict of the customer's fault, a dispute
    # resolved as paid, and the events of both in the feed.
    verdict, dispute, events = answers[3], answers[5], answers[6]
    assert verdict["decision"]["outcome"] == "failed_customer_fault"
    assert (dispute["status"], dispute["decision"]["outcome"]) == ("resolved", "resolved_paid")
    cases = {event["case_id"] for event in events["items"] if event.get("case_id")}
    assert {variables["CASE"], variables["DISPUTE"]} <= cases
