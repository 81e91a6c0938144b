"""Looking at results: path analytics, plots and notebook widgets.

``analytics`` (pure functions over the results DataFrame: dwell, crossings, entries),
``plot`` (matplotlib figures of paths, heat maps, timelines) and ``widgets`` (the
ipywidgets job launcher, result pager and path explorer).
"""
