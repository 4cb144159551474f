"""Evaluation: metrics and intervals, the zero-shot matrix against its pivots, thought diagnostics,
reports (JSON, Markdown, figures), the seed study and the CI quality gate."""
