"""Pure domain logic: plain data in, plain data out. Nothing here imports faust or Kafka."""
