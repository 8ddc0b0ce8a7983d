"""What people read; every string a config or WhatsApp supplies is escaped here.

- `escaping`: such a string in Markdown and HTML (`reconciler.util.untrusted` keeps it on its
  line of text).
- `text`: plans for terminals and logs; `markdown`: plans for pull request comments.
- `progress`: apply's progress and what its re-reads verified; `report`: invite lines.
- `diff`: config diffs; `people`: how a person is named (or masked).
- `watch`: how watch words a planned action in its drift reports.

Its modules are imported one by one (nothing is loaded with the package).
"""

__all__ = ["diff", "escaping", "markdown", "people", "progress", "report", "text", "watch"]
