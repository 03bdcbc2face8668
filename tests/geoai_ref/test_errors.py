"""The kit's errors carry their exit codes; a command line turns them into a status, and a bug into 70."""

import pytest

from geoai_ref.errors import (
    EXIT_INTERNAL,
    KitError,
    MissingInput,
    ProblemsFound,
    ToolFailed,
    Unavailable,
    UsageError,
    run_command,
)


@pytest.mark.parametrize("error,code", [(ProblemsFound, 1), (UsageError, 2), (MissingInput, 2), (Unavailable, 3),
                                        (ToolFailed, 4)])
def test_each_kit_error_ends_with_its_exit_code_and_its_message(error, code, capsys):
    def work() -> int:
        raise error("what is wrong; what to do")

    assert run_command("geoai-test", work) == code
    assert capsys.readouterr().err.strip() == "geoai-test: what is wrong; what to do"


def test_errors_stay_the_builtin_types_callers_catch():
    assert issubclass(UsageError, ValueError) and issubclass(MissingInput, FileNotFoundError)
    assert all(issubclass(e, KitError) for e in (ProblemsFound, UsageError, MissingInput, Unavailable, ToolFailed))


@pytest.mark.parametrize("bug", [KeyError("x"), ValueError("bad"), FileNotFoundError("/nowhere")])
def test_anything_else_is_a_bug_not_bad_usage(bug, capsys):
    def work() -> int:
        raise bug

    assert run_command("geoai-test", work) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error" in err and "bug of the kit" in err


def test_success_and_interrupts_pass_through():
    assert run_command("geoai-test", lambda: 0) == 0

    def interrupted() -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_command("geoai-test", interrupted)
