from apps.core.markdown import render_markdown


def test_markdown_is_rendered():
    html = render_markdown("Add `x-cortex-owners` to the **descriptor**.\n\n- one\n- two")
    assert "<code>x-cortex-owners</code>" in html
    assert "<strong>descriptor</strong>" in html
    assert "<li>one</li>" in html


def test_dangerous_html_is_removed():
    html = render_markdown(
        '<script>alert(1)</script><img src=x onerror=alert(1)> [x](javascript:alert(1)) <b style="x">b</b>'
    )
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert "style=" not in html


def test_links_are_kept_with_safe_rel():
    html = render_markdown("[Runbook](https://wiki.example.com/x)")
    assert 'href="https://wiki.example.com/x"' in html
    assert "noopener" in html


def test_empty():
    assert render_markdown("") == ""
