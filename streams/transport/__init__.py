"""Transport: the embedded broker, topic administration, and the Kafka client settings faust lacks."""
