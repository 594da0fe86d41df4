"""Web pages for every role: server-rendered Jinja2 with htmx and ECharts (see install.py)."""

from .install import install_web
from .rendering import Page, render
from .routing import PageRoute, after_post, repository

__all__ = ["Page", "PageRoute", "after_post", "install_web", "render", "repository"]
