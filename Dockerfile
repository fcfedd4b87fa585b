FROM python:3.11-slim
WORKDIR /app
# A CJK font for the charts of `ticketflow report` (their text is written as paths: none is needed to read them).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY data/train ./data/train
# The classification model is trained at build time from the shipped training data (~30 s).
RUN pip install --no-cache-dir '.[train]' && ticketflow train --data-dir data \
    && useradd --system --uid 10001 ticketflow
USER ticketflow
EXPOSE 8080 2525 6066
ENTRYPOINT ["ticketflow"]
