"""The Prefect flow over dvc.yaml's graph, dataset versions, hooks and artifacts."""
