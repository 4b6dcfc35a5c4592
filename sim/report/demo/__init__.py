"""``bleedsim demo``: one replication told as a story, for teaching.

``replication.py`` picks the replication and runs the reference engine, with its trace hooks,
over the stretches where attackers send; ``story.py`` turns what it heard into lines;
``figure.py`` draws the replication's timeline; ``command.py`` paces the lines on the terminal
and writes ``demo.md`` and ``demo.svg``.
"""
