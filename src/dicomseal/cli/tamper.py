"""CLI: tamper commands (placeholder until implemented)."""

from __future__ import annotations

import click

commands: list[click.Command] = []
