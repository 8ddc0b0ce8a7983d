"""Plans for people: `text` for terminals and logs, `markdown` for pull request comments,
`json` for machines. Renderers turn a Plan into text; only they and cli.py write output."""
