"""The live board for the service floor (docs/board.md).

- `floor`: what each owned partition holds open, kept in step with every ticket change (pure);
- `view`: today's compliance from the SLA windows and the merge of per-partition parts into
  the board's figures (pure);
- `worker_pages`: the worker's `GET /v1/board`;
- `gateway_pages`: the gateway's `/board` page and `GET /v1/board`, merged over every worker.
"""
