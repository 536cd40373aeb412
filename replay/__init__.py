"""Development and test tools for the GitHub replay format: a server that answers as the GitHub
REST API from a folder of recorded answers (`server`), the recorder that writes such a folder
(`recorder`), and the one table of routes both follow (`routes`).

Runtime code (`newsletter/`, `sources/`) never imports this package at module level; the demo
and `record_github` commands import it when they run.
"""
