"""Write each inline <script> of the book once.

Sphinx 7.4 keeps a script added after the builder starts twice when it has a
body but no file (``filename=None`` is kept as is, then re-added from the
registry as ``''`` before writing and the two do not compare equal).
sphinx-thebe adds its configuration that way, so every page declared
``const THEBE_JS_URL`` twice and the browser logged a SyntaxError. Giving the
builder's copy the name the registry's copy will get lets Sphinx's own
de-duplication keep one.
"""

from __future__ import annotations


def _name_inline_scripts_like_the_registry(app, env, docnames):
    js_files = getattr(app.builder, "_js_files", None)
    if js_files is None:
        return
    js_files[:] = [
        type(js)("", priority=js.priority, **js.attributes) if js.filename is None else js
        for js in js_files
    ]


def setup(app):
    # After sphinx-thebe's own handler (default priority 500) has added its script.
    app.connect("env-before-read-docs", _name_inline_scripts_like_the_registry, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
