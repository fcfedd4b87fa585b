import io

from streams.report.cli import _Progress


def test_no_bar_off_a_terminal() -> None:
    progress = _Progress(enabled=False)
    progress.plan(1000)
    progress.advance(10)
    progress.close()
    assert progress.bar is None


def test_a_bar_on_a_terminal(monkeypatch) -> None:  # noqa: ANN001
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    progress = _Progress(enabled=True)
    progress.plan(1000)
    progress.advance(500)
    assert progress.bar is not None and progress.bar.n == 500
    progress.close()
    assert "reading" in stream.getvalue()
