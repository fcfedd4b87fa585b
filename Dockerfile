FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
RUN pip install --no-cache-dir . && useradd --system --uid 10001 ticketflow
USER ticketflow
EXPOSE 8080 2525 6066
ENTRYPOINT ["ticketflow"]
