"""Rendering engines (no Django): the Renderer protocol in base.py, the compositor, assembly."""
