"""Offline retrieval evaluation, the BEIR way: data sets (corpus, queries, graded qrels), runs of the product's
own SearchPipeline, metrics from ranx, and reports with plots. Nothing heavy is imported here."""
