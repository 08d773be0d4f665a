"""The hostile corpus (issue 7): a generator of malformed and hostile survey exports built from
data/samples/ (corpus.py) and the runner that feeds them through the import pipeline in a guarded
worker process and measures what happens (runner.py, `make fuzz`). Nothing generated is kept."""
