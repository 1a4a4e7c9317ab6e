"""What the API and the dashboard share over HTTP: who is asking, sessions and their cookies,
JSON, file and CSV responses. Neither ``iroa.api`` nor ``iroa.web`` owns it; both build on it."""
