"""Built artefacts (the trained classification model); made by `make model` / `ticketflow train`, not kept in git."""
