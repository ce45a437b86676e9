"""`umbrella serve`'s options: each explained in --help, and `--port N` as short for `--bind 127.0.0.1:N`.
Parsed only: serving would replace the test process with gunicorn."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from umbrella.web.management.commands.serve import Command, bind_of

pytestmark = pytest.mark.database_independent


def parse(*args: str) -> dict:
    return vars(Command().create_parser("umbrella", "serve").parse_args(list(args)))


def test_every_serve_option_has_help_text():
    parser = Command().create_parser("umbrella", "serve")
    mine = [action for action in parser._actions if set(action.option_strings) & {"--bind", "--port", "--workers"}]
    assert len(mine) == 3 and all(action.help for action in mine)
    assert "default 127.0.0.1:8000" in parser.format_help()


def test_port_is_short_for_bind_on_the_loopback_address():
    assert bind_of(parse("--port", "8123")) == "127.0.0.1:8123"
    assert bind_of(parse("--bind", "0.0.0.0:9000")) == "0.0.0.0:9000"
    assert bind_of(parse()) == "127.0.0.1:8000"
    assert bind_of({"bind": "127.0.0.1:8001"}) == "127.0.0.1:8001"  # as `umbrella demo` calls it


@pytest.mark.parametrize("args", [("--port", "http"), ("--port", "0"), ("--port", "70000"), ("--port", "1", "--bind", "h:2")])
def test_a_port_that_is_not_one_or_given_with_bind_is_refused(args):
    with pytest.raises(CommandError):
        parse(*args)
