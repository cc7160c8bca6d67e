"""The web face of aisle: a REST API (FastAPI) with the Gradio UI mounted on it, on one port.

`aisle.ui.app.create_app()` builds it; `aisle serve` / `aisle demo` run it.
"""
