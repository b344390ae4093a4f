"""Names ``vulture`` reports in src/ that are used where it cannot see (scripts/test).

Each entry says why it is not dead code. Add an entry only with its reason; remove dead
code instead of listing it here.
"""

# ``__exit__(self, exc_type, exc, tb)``: the context-manager protocol (Python data model
# §3.3.9) fixes the parameters; a manager that never suppresses an exception ignores them.
exc_type  # noqa: B018
tb  # noqa: B018
